{{ config(materialized='table') }}

{#- When each child is looked after (SCORECARD.md, "Looked after on day d"), from extract M, as
    maximal half-open intervals [looked_after_from, looked_after_to):

        looked after on d  <=>  a care episode has start <= d and (ceased NULL or ceased > d)
                                and no V3/V4 legal status has start <= d and (end NULL or end > d)

    A sweep over the children's boundary dates (window functions, no per-day expansion): every
    episode start/cease and every V3/V4 start/end changes the count of covering episodes or
    short breaks; a stretch between two consecutive boundary dates is looked after when at least
    one episode and no short break covers it. Consumers test "looked after on d" with a range
    join: looked_after_from <= d and (looked_after_to is null or looked_after_to > d).

    Choices (documented in the yml): a day with no legal status recorded counts as looked after
    (only V3/V4 excludes); when several statuses cover a day, any V3/V4 excludes it; episodes and
    statuses with no start date, or that end on or before their start, cover no day. -#}

with

episodes as (

    select
        episodes.clae_person_id as person_id,
        episodes.clae_cla_episode_start_date as interval_start,
        episodes.clae_cla_episode_ceased_date as interval_end
    from {{ ref('stg_ssd__cla_episodes') }} as episodes
    where
        episodes.extract_month = {{ extract_month() }}
        and episodes.clae_cla_episode_start_date is not null
        and (
            episodes.clae_cla_episode_ceased_date is null
            or episodes.clae_cla_episode_ceased_date > episodes.clae_cla_episode_start_date
        )

),

short_breaks as (

    select
        legal_statuses.lega_person_id as person_id,
        legal_statuses.lega_legal_status_start_date as interval_start,
        legal_statuses.lega_legal_status_end_date as interval_end
    from {{ ref('stg_ssd__legal_status') }} as legal_statuses
    where
        legal_statuses.extract_month = {{ extract_month() }}
        and legal_statuses.lega_legal_status in ('V3', 'V4')
        and legal_statuses.lega_legal_status_start_date is not null
        and (
            legal_statuses.lega_legal_status_end_date is null
            or legal_statuses.lega_legal_status_end_date > legal_statuses.lega_legal_status_start_date
        )

),

boundaries as (

    select
        episodes.person_id,
        episodes.interval_start as boundary_date,
        1 as episode_change,
        0 as short_break_change
    from episodes

    union all

    select
        episodes.person_id,
        episodes.interval_end as boundary_date,
        -1 as episode_change,
        0 as short_break_change
    from episodes
    where episodes.interval_end is not null

    union all

    select
        short_breaks.person_id,
        short_breaks.interval_start as boundary_date,
        0 as episode_change,
        1 as short_break_change
    from short_breaks

    union all

    select
        short_breaks.person_id,
        short_breaks.interval_end as boundary_date,
        0 as episode_change,
        -1 as short_break_change
    from short_breaks
    where short_breaks.interval_end is not null

),

boundary_days as (

    select
        boundaries.person_id,
        boundaries.boundary_date,
        sum(boundaries.episode_change) as episode_change,
        sum(boundaries.short_break_change) as short_break_change
    from boundaries
    group by boundaries.person_id, boundaries.boundary_date

),

-- the state holding from each boundary date up to (not including) the next one
stretches as (

    select
        boundary_days.person_id,
        boundary_days.boundary_date as stretch_start,
        lead(boundary_days.boundary_date) over (
            partition by boundary_days.person_id order by boundary_days.boundary_date
        ) as stretch_end,
        sum(boundary_days.episode_change) over (
            partition by boundary_days.person_id order by boundary_days.boundary_date
            rows between unbounded preceding and current row
        ) as covering_episodes,
        sum(boundary_days.short_break_change) over (
            partition by boundary_days.person_id order by boundary_days.boundary_date
            rows between unbounded preceding and current row
        ) as covering_short_breaks
    from boundary_days

),

looked_after_stretches as (

    select
        stretches.person_id,
        stretches.stretch_start,
        stretches.stretch_end,
        -- a stretch continues the previous looked-after stretch when they touch
        case
            when
                lag(stretches.stretch_end) over (
                    partition by stretches.person_id order by stretches.stretch_start
                ) = stretches.stretch_start
                then 0
            else 1
        end as starts_interval
    from stretches
    where stretches.covering_episodes > 0 and stretches.covering_short_breaks = 0

),

numbered as (

    select
        looked_after_stretches.person_id,
        looked_after_stretches.stretch_start,
        looked_after_stretches.stretch_end,
        sum(looked_after_stretches.starts_interval) over (
            partition by looked_after_stretches.person_id order by looked_after_stretches.stretch_start
            rows between unbounded preceding and current row
        ) as interval_number
    from looked_after_stretches

),

intervals as (

    select
        numbered.person_id,
        min(numbered.stretch_start) as looked_after_from,
        -- only the last stretch of a child can be open (NULL end)
        case
            when count(numbered.stretch_end) < count(*) then null
            else max(numbered.stretch_end)
        end as looked_after_to
    from numbered
    group by numbered.person_id, numbered.interval_number

)

select
    {{ pseudonymise('intervals.person_id') }} as child_key,
    intervals.looked_after_from,
    intervals.looked_after_to,
    {{ extract_month() }} as extract_month
from intervals
