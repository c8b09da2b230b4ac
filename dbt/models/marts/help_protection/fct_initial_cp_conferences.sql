{#- Initial child protection conferences of extract M, one row per conference, with the
    row-level flags of icpc_15wd_pct and icpc_to_cp_plan_pct (SCORECARD.md). -#}
with

conferences as (

    select
        conferences.icpc_icpc_id,
        conferences.icpc_person_id,
        conferences.icpc_s47_enquiry_id,
        conferences.icpc_referral_id,
        conferences.icpc_icpc_date,
        conferences.icpc_icpc_target_date,
        conferences.icpc_icpc_transfer_in,
        conferences.icpc_icpc_outcome_cp_flag,
        conferences.extract_month
    from {{ ref('stg_ssd__initial_cp_conference') }} as conferences
    where conferences.extract_month = {{ extract_month() }}

),

enquiries as (

    select
        enquiries.s47e_s47_enquiry_id,
        enquiries.s47e_s47_start_date
    from {{ ref('stg_ssd__s47_enquiry') }} as enquiries
    where enquiries.extract_month = {{ extract_month() }}

),

timed as (

    select
        conferences.*,
        coalesce(conferences.icpc_icpc_transfer_in, false) as is_transfer_in,
        enquiries.s47e_s47_enquiry_id is not null as s47_resolves,
        enquiries.s47e_s47_start_date as s47_start_date,
        {{ working_days_between('wd_s47', 'wd_icpc') }} as working_days_s47_to_icpc
    from conferences
    left join enquiries
        on conferences.icpc_s47_enquiry_id = enquiries.s47e_s47_enquiry_id
    {{ join_working_day('enquiries.s47e_s47_start_date', 'wd_s47') }}
    {{ join_working_day('conferences.icpc_icpc_date', 'wd_icpc') }}

),

flagged as (

    select
        timed.*,
        -- denominator of icpc_15wd_pct: held, not transfer-in, S47 resolves and started on or
        -- before the conference
        coalesce(
            not timed.is_transfer_in
            and timed.s47_resolves
            and timed.s47_start_date <= timed.icpc_icpc_date,
            false
        ) as counts_for_15wd,
        -- denominator of icpc_to_cp_plan_pct: held, not transfer-in
        timed.icpc_icpc_date is not null and not timed.is_transfer_in as counts_for_cp_plan_outcome
    from timed

)

select
    flagged.icpc_icpc_id as icpc_id,
    {{ pseudonymise('flagged.icpc_person_id') }} as child_key,
    flagged.icpc_s47_enquiry_id as s47_enquiry_id,
    flagged.icpc_referral_id as referral_id,
    flagged.icpc_icpc_date as icpc_date,
    cast({{ dbt.date_trunc('month', 'flagged.icpc_icpc_date') }} as date) as icpc_month,
    flagged.icpc_icpc_target_date as target_date,
    flagged.is_transfer_in,
    flagged.s47_resolves,
    flagged.s47_start_date,
    flagged.working_days_s47_to_icpc,
    flagged.counts_for_15wd,
    coalesce(flagged.counts_for_15wd and flagged.working_days_s47_to_icpc <= 15, false) as held_within_15wd,
    flagged.counts_for_cp_plan_outcome,
    coalesce(flagged.icpc_icpc_outcome_cp_flag, false) as resulted_in_cp_plan,
    flagged.extract_month
from flagged
