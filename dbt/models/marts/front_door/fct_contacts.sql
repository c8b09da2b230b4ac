{#- Contacts of extract M (var extract_month), one row per contact, with the row-level flags of
    the front-door measures (SCORECARD.md): police source, outcome flags and the working days
    from the contact to the front door's decision. -#}
with

contacts as (

    select
        contacts.cont_contact_id,
        contacts.cont_person_id,
        contacts.cont_contact_date,
        contacts.cont_contact_decision_date,
        contacts.cont_contact_source_code,
        contacts.cont_new_referral_flag,
        contacts.cont_advice_flag,
        contacts.cont_private_fostering_flag,
        contacts.cont_cp_enquiry_flag,
        contacts.cont_nfa_flag,
        contacts.extract_month
    from {{ ref('stg_ssd__contacts') }} as contacts
    where contacts.extract_month = {{ extract_month() }}

),

timed as (

    select
        contacts.*,
        {{ working_days_between('wd_contact', 'wd_decision') }} as working_days_to_decision
    from contacts
    {{ join_working_day('contacts.cont_contact_date', 'wd_contact') }}
    {{ join_working_day('contacts.cont_contact_decision_date', 'wd_decision') }}

)

select
    timed.cont_contact_id as contact_id,
    {{ pseudonymise('timed.cont_person_id') }} as child_key,
    timed.cont_contact_date as contact_date,
    cast({{ dbt.date_trunc('month', 'timed.cont_contact_date') }} as date) as contact_month,
    timed.cont_contact_source_code as contact_source_code,
    contact_sources.description as contact_source_description,
    timed.cont_contact_source_code = '6' as is_police,
    coalesce(timed.cont_new_referral_flag, false) as led_to_referral,
    coalesce(timed.cont_advice_flag, false) as is_advice,
    coalesce(timed.cont_private_fostering_flag, false) as is_private_fostering,
    coalesce(timed.cont_cp_enquiry_flag, false) as led_to_cp_enquiry,
    coalesce(timed.cont_nfa_flag, false) as is_nfa,
    timed.cont_contact_decision_date as decision_date,
    timed.working_days_to_decision,
    -- SCORECARD.md contacts_decided_1wd_pct: decision date recorded and WD(contact, decision) <= 1
    coalesce(timed.cont_contact_decision_date is not null and timed.working_days_to_decision <= 1, false)
        as decided_within_1wd,
    timed.extract_month
from timed
{{ join_code('contact_source', 'timed.cont_contact_source_code', 'contact_sources') }}
