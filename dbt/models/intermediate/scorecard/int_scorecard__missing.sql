{#- Missing from home and care measures (SCORECARD.md) for the twelve scorecard months, from
    extract M's missing episodes: one row per measure and month, numerator (the count for count
    measures) and denominator (NULL for count measures). A missing episode is type M only;
    type A is counted only in away_episodes. No events in a month give 0. -#}
{%- set measures = [
    ('children_missing', 'children_missing', none),
    ('cla_children_missing', 'cla_children_missing', none),
    ('missing_episodes', 'missing_episodes', none),
    ('cla_missing_episodes', 'cla_missing_episodes', none),
    ('away_episodes', 'away_episodes', none),
    ('rhi_accepted_pct', 'rhi_accepted', 'rhi_offered'),
    ('cla_rhi_accepted_pct', 'cla_rhi_accepted', 'cla_rhi_offered'),
] %}

with

months as (

    select
        months.month,
        months.month_end
    from {{ ref('int_scorecard__months') }} as months

),

episodes as (

    select
        episodes.child_key,
        episodes.start_date,
        episodes.end_date,
        episodes.is_missing,
        episodes.is_away,
        episodes.looked_after_at_start,
        episodes.is_rhi_offered,
        episodes.is_rhi_accepted
    from {{ ref('fct_missing_episodes') }} as episodes

),

-- episodes starting in the month
started as (

    select
        months.month,
        count(distinct case when episodes.is_missing then episodes.child_key end) as children_missing,
        count(
            distinct case when episodes.is_missing and episodes.looked_after_at_start then episodes.child_key end
        ) as cla_children_missing,
        count(case when episodes.is_missing then 1 end) as missing_episodes,
        count(case when episodes.is_missing and episodes.looked_after_at_start then 1 end)
            as cla_missing_episodes,
        count(case when episodes.is_away then 1 end) as away_episodes
    from months
    left join episodes
        on
            months.month <= episodes.start_date
            and months.month_end >= episodes.start_date
    group by months.month

),

-- missing episodes ending in the month with a return home interview offered
ended as (

    select
        months.month,
        count(episodes.child_key) as rhi_offered,
        count(case when episodes.is_rhi_accepted then 1 end) as rhi_accepted,
        count(case when episodes.looked_after_at_start then 1 end) as cla_rhi_offered,
        count(case when episodes.looked_after_at_start and episodes.is_rhi_accepted then 1 end)
            as cla_rhi_accepted
    from months
    left join episodes
        on
            months.month <= episodes.end_date
            and months.month_end >= episodes.end_date
            and episodes.is_missing
            and episodes.is_rhi_offered
    group by months.month

),

monthly as (

    select
        started.month,
        started.children_missing,
        started.cla_children_missing,
        started.missing_episodes,
        started.cla_missing_episodes,
        started.away_episodes,
        ended.rhi_offered,
        ended.rhi_accepted,
        ended.cla_rhi_offered,
        ended.cla_rhi_accepted
    from started
    inner join ended on started.month = ended.month

)

{{ measure_rows(measures) }}
