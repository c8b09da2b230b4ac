{#- Help-and-protection measures (SCORECARD.md) for the twelve scorecard months, from extract M:
    one row per measure and month with numerator and denominator. Row-level flags come from
    fct_assessments, fct_initial_cp_conferences and fct_cp_reviews; this model only counts.
    Months without events give 0. cp_reviews_on_time_pct is 'not_available' (numerator and
    denominator NULL) when extract M lacks the optional table ssd_cp_reviews. -#}
{#- (measure_id, numerator column, denominator column, needs ssd_cp_reviews) -#}
{%- set measures = [
    ('assessments_45wd_pct', 'n_assessments_within_45wd', 'n_assessments', false),
    ('assessments_45wd_from_referral_pct', 'n_assessments_within_45wd_from_referral',
        'n_assessments_from_referral', false),
    ('icpc_15wd_pct', 'n_icpc_within_15wd', 'n_icpc_timeliness', false),
    ('icpc_to_cp_plan_pct', 'n_icpc_to_cp_plan', 'n_icpc_outcome', false),
    ('cp_reviews_on_time_pct', 'n_cp_reviews_on_time', 'n_cp_reviews', true),
] %}

with

months as (

    select months.month
    from {{ ref('int_scorecard__months') }} as months

),

assessments_by_month as (

    select
        assessments.authorisation_month as month,
        sum(case when assessments.counts_for_45wd then 1 else 0 end) as n_assessments,
        sum(case when assessments.completed_within_45wd then 1 else 0 end) as n_assessments_within_45wd,
        sum(case when assessments.counts_for_45wd_from_referral then 1 else 0 end) as n_assessments_from_referral,
        sum(case when assessments.completed_within_45wd_from_referral then 1 else 0 end)
            as n_assessments_within_45wd_from_referral
    from {{ ref('fct_assessments') }} as assessments
    group by assessments.authorisation_month

),

conferences_by_month as (

    select
        conferences.icpc_month as month,
        sum(case when conferences.counts_for_15wd then 1 else 0 end) as n_icpc_timeliness,
        sum(case when conferences.held_within_15wd then 1 else 0 end) as n_icpc_within_15wd,
        sum(case when conferences.counts_for_cp_plan_outcome then 1 else 0 end) as n_icpc_outcome,
        sum(case when conferences.counts_for_cp_plan_outcome and conferences.resulted_in_cp_plan then 1 else 0 end)
            as n_icpc_to_cp_plan
    from {{ ref('fct_initial_cp_conferences') }} as conferences
    group by conferences.icpc_month

),

cp_reviews_by_month as (

    select
        reviews.review_month as month,
        count(*) as n_cp_reviews,
        sum(case when reviews.is_on_time then 1 else 0 end) as n_cp_reviews_on_time
    from {{ ref('fct_cp_reviews') }} as reviews
    group by reviews.review_month

),

cp_reviews_feature as (

    select bool_or(features.available) as is_available
    from {{ ref('stg_ssd__extract_features') }} as features
    where
        features.extract_month = {{ extract_month() }}
        and features.feature = 'ssd_cp_reviews'

),

monthly as (

    select
        months.month,
        coalesce(assessments_by_month.n_assessments, 0) as n_assessments,
        coalesce(assessments_by_month.n_assessments_within_45wd, 0) as n_assessments_within_45wd,
        coalesce(assessments_by_month.n_assessments_from_referral, 0) as n_assessments_from_referral,
        coalesce(assessments_by_month.n_assessments_within_45wd_from_referral, 0)
            as n_assessments_within_45wd_from_referral,
        coalesce(conferences_by_month.n_icpc_timeliness, 0) as n_icpc_timeliness,
        coalesce(conferences_by_month.n_icpc_within_15wd, 0) as n_icpc_within_15wd,
        coalesce(conferences_by_month.n_icpc_outcome, 0) as n_icpc_outcome,
        coalesce(conferences_by_month.n_icpc_to_cp_plan, 0) as n_icpc_to_cp_plan,
        coalesce(cp_reviews_by_month.n_cp_reviews, 0) as n_cp_reviews,
        coalesce(cp_reviews_by_month.n_cp_reviews_on_time, 0) as n_cp_reviews_on_time,
        -- no feature row for extract M counts as absent: never report a zero we cannot know
        coalesce(cp_reviews_feature.is_available, false) as has_cp_reviews
    from months
    cross join cp_reviews_feature
    left join assessments_by_month on months.month = assessments_by_month.month
    left join conferences_by_month on months.month = conferences_by_month.month
    left join cp_reviews_by_month on months.month = cp_reviews_by_month.month

)

{{ measure_rows(measures, gate='has_cp_reviews') }}
