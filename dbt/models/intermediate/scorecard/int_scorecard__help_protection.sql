{#- Help-and-protection measures (SCORECARD.md) for the figure months, from extract M: one row
    per measure and month with numerator and denominator, counted from int_scorecard__members
    (the records behind each figure; the row-level flags come from fct_assessments,
    fct_initial_cp_conferences and fct_cp_reviews): this model only counts. Months without
    members give 0. cp_reviews_on_time_pct is 'not_available' (numerator and denominator NULL)
    when extract M lacks the optional table ssd_cp_reviews. -#}
{#- (measure_id, has a denominator[, gate column of `months`, availability when it is false]) -#}
{%- set measures = [
    ('assessments_45wd_pct', true),
    ('assessments_45wd_from_referral_pct', true),
    ('icpc_15wd_pct', true),
    ('icpc_to_cp_plan_pct', true),
    ('cp_reviews_on_time_pct', true, 'has_cp_reviews', 'not_available'),
] %}

with

cp_reviews_feature as (

    {{ extract_feature_available('ssd_cp_reviews') }}

),

months as (

    select
        months.month,
        -- no feature row for extract M counts as absent: never report a zero we cannot know
        coalesce(cp_reviews_feature.is_available, false) as has_cp_reviews
    from {{ ref('int_scorecard__figure_months') }} as months
    cross join cp_reviews_feature

),

member_counts as (

    {{ member_counts(measures) }}

)

{{ measure_counts(measures) }}
