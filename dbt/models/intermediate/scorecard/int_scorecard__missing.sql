{#- Missing from home and care measures (SCORECARD.md) for the figure months, from extract M's
    missing episodes: one row per measure and month, numerator (the count for count measures)
    and denominator (NULL for count measures), counted from int_scorecard__members (the records
    behind each figure: the episodes, or one row per child for the counts of children): this
    model only counts. A missing episode is type M only; type A is counted only in
    away_episodes. No members in a month give 0. -#}
{#- (measure_id, has a denominator) -#}
{%- set measures = [
    ('children_missing', false),
    ('cla_children_missing', false),
    ('missing_episodes', false),
    ('cla_missing_episodes', false),
    ('away_episodes', false),
    ('rhi_accepted_pct', true),
    ('cla_rhi_accepted_pct', true),
] %}

with

months as (

    select months.month
    from {{ ref('int_scorecard__figure_months') }} as months

),

member_counts as (

    {{ member_counts(measures) }}

)

{{ measure_counts(measures) }}
