{#- Front-door measures (SCORECARD.md) for the twelve scorecard months, from extract M: one row
    per measure and month with numerator (the count, for count measures) and denominator (NULL
    for count measures). Row-level flags come from fct_contacts / fct_referrals; this model only
    counts. Months without events give 0. contacts_decided_1wd_pct is 'not_available' (numerator
    and denominator NULL) when extract M lacks cont_contact_decision_date. -#}
{#- (measure_id, numerator column, denominator column or none, needs the decision date) -#}
{%- set measures = [
    ('contacts', 'n_contacts', none, false),
    ('contacts_to_referral_pct', 'n_contacts_to_referral', 'n_contacts', false),
    ('contacts_decided_1wd_pct', 'n_contacts_decided_1wd', 'n_contacts', true),
    ('police_contacts', 'n_police_contacts', none, false),
    ('police_contacts_pct', 'n_police_contacts', 'n_contacts', false),
    ('police_contacts_advice', 'n_police_contacts_advice', none, false),
    ('police_contacts_advice_pct', 'n_police_contacts_advice', 'n_police_contacts', false),
    ('private_fostering', 'n_private_fostering', none, false),
    ('rereferrals_12m_pct', 'n_rereferrals_12m', 'n_referrals', false),
] %}

with

months as (

    select months.month
    from {{ ref('int_scorecard__months') }} as months

),

contacts_by_month as (

    select
        contacts.contact_month as month,
        count(*) as n_contacts,
        sum(case when contacts.led_to_referral then 1 else 0 end) as n_contacts_to_referral,
        sum(case when contacts.decided_within_1wd then 1 else 0 end) as n_contacts_decided_1wd,
        sum(case when contacts.is_police then 1 else 0 end) as n_police_contacts,
        sum(case when contacts.is_police and contacts.is_advice then 1 else 0 end) as n_police_contacts_advice,
        sum(case when contacts.is_private_fostering then 1 else 0 end) as n_private_fostering
    from {{ ref('fct_contacts') }} as contacts
    group by contacts.contact_month

),

referrals_by_month as (

    select
        referrals.referral_month as month,
        count(*) as n_referrals,
        sum(case when referrals.is_rereferral_12m then 1 else 0 end) as n_rereferrals_12m
    from {{ ref('fct_referrals') }} as referrals
    group by referrals.referral_month

),

decision_date_feature as (

    select bool_or(features.available) as is_available
    from {{ ref('stg_ssd__extract_features') }} as features
    where
        features.extract_month = {{ extract_month() }}
        and features.feature = 'ssd_contacts.cont_contact_decision_date'

),

monthly as (

    select
        months.month,
        coalesce(contacts_by_month.n_contacts, 0) as n_contacts,
        coalesce(contacts_by_month.n_contacts_to_referral, 0) as n_contacts_to_referral,
        coalesce(contacts_by_month.n_contacts_decided_1wd, 0) as n_contacts_decided_1wd,
        coalesce(contacts_by_month.n_police_contacts, 0) as n_police_contacts,
        coalesce(contacts_by_month.n_police_contacts_advice, 0) as n_police_contacts_advice,
        coalesce(contacts_by_month.n_private_fostering, 0) as n_private_fostering,
        coalesce(referrals_by_month.n_referrals, 0) as n_referrals,
        coalesce(referrals_by_month.n_rereferrals_12m, 0) as n_rereferrals_12m,
        -- no feature row for extract M counts as absent: never report a zero we cannot know
        coalesce(decision_date_feature.is_available, false) as has_decision_date
    from months
    cross join decision_date_feature
    left join contacts_by_month on months.month = contacts_by_month.month
    left join referrals_by_month on months.month = referrals_by_month.month

)

{{ measure_rows(measures, gate='has_decision_date') }}
