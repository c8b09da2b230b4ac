{#- Front-door measures (SCORECARD.md) for the figure months, from extract M: one row per
    measure and month with numerator (the count, for count measures) and denominator (NULL for
    count measures), counted from int_scorecard__members (the records behind each figure; the
    row-level flags come from fct_contacts / fct_referrals): this model only counts. Months
    without members give 0. contacts_decided_1wd_pct is 'not_available' (numerator and
    denominator NULL) when extract M lacks cont_contact_decision_date. -#}
{#- (measure_id, has a denominator[, gate column of `months`, availability when it is false]) -#}
{%- set measures = [
    ('contacts', false),
    ('contacts_to_referral_pct', true),
    ('contacts_decided_1wd_pct', true, 'has_decision_date', 'not_available'),
    ('police_contacts', false),
    ('police_contacts_pct', true),
    ('police_contacts_advice', false),
    ('police_contacts_advice_pct', true),
    ('private_fostering', false),
    ('rereferrals_12m_pct', true),
] %}

with

decision_date_feature as (

    {{ extract_feature_available('ssd_contacts.cont_contact_decision_date') }}

),

months as (

    select
        months.month,
        -- no feature row for extract M counts as absent: never report a zero we cannot know
        coalesce(decision_date_feature.is_available, false) as has_decision_date
    from {{ ref('int_scorecard__figure_months') }} as months
    cross join decision_date_feature

),

member_counts as (

    {{ member_counts(measures) }}

)

{{ measure_counts(measures) }}
