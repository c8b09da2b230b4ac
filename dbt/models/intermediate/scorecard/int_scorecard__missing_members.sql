{{ config(materialized='view') }}

{#- The records behind every "Missing from home and care" figure (SCORECARD.md) of the figure
    months, from extract M's fct_missing_episodes: one row per measure, month, part and missing
    episode. Episodes count in the month they start; the return home interview measures take
    type M episodes ending in the month with rhi_offered Y. The two counts of children
    (children_missing, cla_children_missing) have one row per child: the child's first
    qualifying episode of the month (by start date, then id), with the number of the child's
    qualifying episodes that month in `detail`. A missing episode is type M; type A counts only
    in away_episodes. int_scorecard__members stores the rows; int_scorecard__missing counts them. -#}
{%- set started_parts = [
    {'measure': 'children_missing', 'part': 'numerator', 'where': 'started.is_missing and started.missing_rank = 1',
        'detail': "cast(started.missing_in_month as " ~ dbt.type_string() ~ ") || ' missing episode(s) starting in the month'"},
    {'measure': 'cla_children_missing', 'part': 'numerator',
        'where': 'started.is_missing and started.looked_after_at_start and started.cla_missing_rank = 1',
        'detail': "cast(started.cla_missing_in_month as " ~ dbt.type_string() ~ ") || ' missing episode(s) starting in the month while looked after'"},
    {'measure': 'missing_episodes', 'part': 'numerator', 'where': 'started.is_missing'},
    {'measure': 'cla_missing_episodes', 'part': 'numerator', 'where': 'started.is_missing and started.looked_after_at_start'},
    {'measure': 'away_episodes', 'part': 'numerator', 'where': 'started.is_away'},
] %}
{%- set ended_parts = [
    {'measure': 'rhi_accepted_pct', 'part': 'denominator', 'where': 'true'},
    {'measure': 'rhi_accepted_pct', 'part': 'numerator', 'where': 'ended.is_rhi_accepted'},
    {'measure': 'cla_rhi_accepted_pct', 'part': 'denominator', 'where': 'ended.looked_after_at_start'},
    {'measure': 'cla_rhi_accepted_pct', 'part': 'numerator', 'where': 'ended.looked_after_at_start and ended.is_rhi_accepted'},
] %}

with

months as (

    select months.month
    from {{ ref('int_scorecard__figure_months') }} as months

),

episodes as (

    select
        episodes.missing_episode_id,
        episodes.child_key,
        episodes.start_date,
        episodes.end_date,
        episodes.start_month,
        episodes.end_month,
        episodes.is_missing,
        episodes.is_away,
        episodes.looked_after_at_start,
        episodes.is_rhi_offered,
        episodes.is_rhi_accepted
    from {{ ref('fct_missing_episodes') }} as episodes

),

-- episodes starting in a figure month, each child's missing episodes of the month ranked
started as (

    select
        episodes.*,
        case
            when episodes.is_missing and episodes.child_key is not null
                then row_number() over (
                    partition by episodes.child_key, episodes.start_month, episodes.is_missing
                    order by episodes.start_date, episodes.missing_episode_id
                )
        end as missing_rank,
        count(*) over (
            partition by episodes.child_key, episodes.start_month, episodes.is_missing
        ) as missing_in_month,
        case
            when episodes.is_missing and episodes.looked_after_at_start and episodes.child_key is not null
                then row_number() over (
                    partition by
                        episodes.child_key, episodes.start_month, episodes.is_missing, episodes.looked_after_at_start
                    order by episodes.start_date, episodes.missing_episode_id
                )
        end as cla_missing_rank,
        count(*) over (
            partition by
                episodes.child_key, episodes.start_month, episodes.is_missing, episodes.looked_after_at_start
        ) as cla_missing_in_month
    from episodes
    inner join months on episodes.start_month = months.month

),

-- missing episodes ending in a figure month with a return home interview offered
ended as (

    select episodes.*
    from episodes
    inner join months on episodes.end_month = months.month
    where episodes.is_missing and episodes.is_rhi_offered

)

{{ scorecard_member_rows(
    'started',
    {'type': 'missing_episode', 'key': 'started.missing_episode_id', 'month': 'started.start_month',
        'date': 'started.start_date', 'start_date': 'started.start_date', 'end_date': 'started.end_date'},
    started_parts) }}
union all
{{ scorecard_member_rows(
    'ended',
    {'type': 'missing_episode', 'key': 'ended.missing_episode_id', 'month': 'ended.end_month',
        'date': 'ended.end_date', 'start_date': 'ended.start_date', 'end_date': 'ended.end_date'},
    ended_parts) }}
