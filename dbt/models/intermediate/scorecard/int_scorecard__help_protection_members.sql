{{ config(materialized='view') }}

{#- The records behind every help-and-protection figure (SCORECARD.md) of the figure months,
    from extract M: one row per measure, month, part and assessment, initial child protection
    conference or child protection review, with the dates and working days the definition uses.
    Row-level flags come from fct_assessments, fct_initial_cp_conferences and fct_cp_reviews.
    cp_reviews_on_time_pct has no member when extract M lacks the optional table ssd_cp_reviews
    (the figure is not available). int_scorecard__members stores the rows;
    int_scorecard__help_protection counts them. -#}
{%- set assessment_parts = [
    {'measure': 'assessments_45wd_pct', 'part': 'denominator', 'where': 'assessments.counts_for_45wd'},
    {'measure': 'assessments_45wd_pct', 'part': 'numerator', 'where': 'assessments.completed_within_45wd'},
    {'measure': 'assessments_45wd_from_referral_pct', 'part': 'denominator',
        'where': 'assessments.counts_for_45wd_from_referral', 'start_date': 'assessments.referral_date',
        'working_days': 'assessments.working_days_referral_to_auth',
        'detail': "'referral ' || assessments.referral_id"},
    {'measure': 'assessments_45wd_from_referral_pct', 'part': 'numerator',
        'where': 'assessments.completed_within_45wd_from_referral', 'start_date': 'assessments.referral_date',
        'working_days': 'assessments.working_days_referral_to_auth',
        'detail': "'referral ' || assessments.referral_id"},
] %}
{%- set conference_parts = [
    {'measure': 'icpc_15wd_pct', 'part': 'denominator', 'where': 'conferences.counts_for_15wd'},
    {'measure': 'icpc_15wd_pct', 'part': 'numerator', 'where': 'conferences.held_within_15wd'},
    {'measure': 'icpc_to_cp_plan_pct', 'part': 'denominator', 'where': 'conferences.counts_for_cp_plan_outcome',
        'start_date': 'null', 'working_days': 'null', 'detail': 'null'},
    {'measure': 'icpc_to_cp_plan_pct', 'part': 'numerator',
        'where': 'conferences.counts_for_cp_plan_outcome and conferences.resulted_in_cp_plan',
        'start_date': 'null', 'working_days': 'null', 'detail': 'null'},
] %}
{%- set review_parts = [
    {'measure': 'cp_reviews_on_time_pct', 'part': 'denominator', 'where': 'reviews.has_cp_reviews'},
    {'measure': 'cp_reviews_on_time_pct', 'part': 'numerator', 'where': 'reviews.has_cp_reviews and reviews.is_on_time'},
] %}

with

months as (

    select months.month
    from {{ ref('int_scorecard__figure_months') }} as months

),

assessments as (

    select
        assessments.assessment_id,
        assessments.child_key,
        assessments.referral_id,
        assessments.start_date,
        assessments.authorisation_date,
        assessments.authorisation_month,
        assessments.referral_date,
        assessments.working_days_start_to_auth,
        assessments.working_days_referral_to_auth,
        assessments.counts_for_45wd,
        assessments.completed_within_45wd,
        assessments.counts_for_45wd_from_referral,
        assessments.completed_within_45wd_from_referral
    from {{ ref('fct_assessments') }} as assessments
    inner join months on assessments.authorisation_month = months.month

),

conferences as (

    select
        conferences.icpc_id,
        conferences.child_key,
        conferences.s47_enquiry_id,
        conferences.icpc_date,
        conferences.icpc_month,
        conferences.s47_start_date,
        conferences.working_days_s47_to_icpc,
        conferences.counts_for_15wd,
        conferences.held_within_15wd,
        conferences.counts_for_cp_plan_outcome,
        conferences.resulted_in_cp_plan
    from {{ ref('fct_initial_cp_conferences') }} as conferences
    inner join months on conferences.icpc_month = months.month

),

cp_reviews_feature as (

    {{ extract_feature_available('ssd_cp_reviews') }}

),

reviews as (

    select
        reviews.cp_review_id,
        reviews.child_key,
        reviews.review_date,
        reviews.review_month,
        reviews.due_date,
        reviews.is_on_time,
        -- no feature row for extract M counts as absent: never list members of a figure we cannot know
        coalesce(cp_reviews_feature.is_available, false) as has_cp_reviews
    from {{ ref('fct_cp_reviews') }} as reviews
    inner join months on reviews.review_month = months.month
    cross join cp_reviews_feature

)

{{ scorecard_member_rows(
    'assessments',
    {'type': 'assessment', 'key': 'assessments.assessment_id', 'month': 'assessments.authorisation_month',
        'date': 'assessments.authorisation_date', 'start_date': 'assessments.start_date',
        'end_date': 'assessments.authorisation_date', 'working_days': 'assessments.working_days_start_to_auth'},
    assessment_parts) }}
union all
{{ scorecard_member_rows(
    'conferences',
    {'type': 'initial_cp_conference', 'key': 'conferences.icpc_id', 'month': 'conferences.icpc_month',
        'date': 'conferences.icpc_date', 'start_date': 'conferences.s47_start_date',
        'end_date': 'conferences.icpc_date', 'working_days': 'conferences.working_days_s47_to_icpc',
        'detail': "'S47 enquiry ' || conferences.s47_enquiry_id"},
    conference_parts) }}
union all
{{ scorecard_member_rows(
    'reviews',
    {'type': 'cp_review', 'key': 'reviews.cp_review_id', 'month': 'reviews.review_month',
        'date': 'reviews.review_date', 'end_date': 'reviews.review_date', 'due_date': 'reviews.due_date'},
    review_parts) }}
