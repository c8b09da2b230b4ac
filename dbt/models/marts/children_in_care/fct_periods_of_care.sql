{#- One row per period of care of extract M. SCORECARD.md: a period of care ends with an episode
    ceased for a reason other than X1 (X1: a new episode follows the same day), so a period is a
    child's chain of episodes, in start order, up to and including the first episode that ceased
    for another reason. Each such episode ends exactly one period; the child's last chain is open
    when its last episode has not ended a period. -#}
with

episodes as (

    select
        episodes.cla_episode_id,
        episodes.child_key,
        episodes.extract_month,
        episodes.cla_id,
        episodes.start_date,
        episodes.ceased_date,
        episodes.ceased_reason,
        episodes.entered_care_date,
        episodes.is_period_end,
        -- a new period starts with a child's first episode and after each period end
        case
            when
                coalesce(
                    lag(episodes.is_period_end) over (
                        partition by episodes.child_key
                        order by episodes.start_date, episodes.cla_episode_id
                    ),
                    true
                )
                then 1
            else 0
        end as starts_period
    from {{ ref('fct_cla_episodes') }} as episodes

),

numbered as (

    select
        episodes.*,
        sum(episodes.starts_period) over (
            partition by episodes.child_key
            order by episodes.start_date, episodes.cla_episode_id
            rows between unbounded preceding and current row
        ) as period_number
    from episodes

),

positioned as (

    select
        numbered.*,
        row_number() over (
            partition by numbered.child_key, numbered.period_number
            order by numbered.start_date, numbered.cla_episode_id
        ) as position_from_start,
        row_number() over (
            partition by numbered.child_key, numbered.period_number
            order by numbered.start_date desc, numbered.cla_episode_id desc
        ) as position_from_end
    from numbered

),

periods as (

    select
        positioned.child_key,
        positioned.extract_month,
        max(case when positioned.position_from_start = 1 then positioned.cla_episode_id end)
            as first_cla_episode_id,
        max(case when positioned.position_from_end = 1 then positioned.cla_episode_id end)
            as last_cla_episode_id,
        max(case when positioned.position_from_start = 1 then positioned.cla_id end) as cla_id,
        max(case when positioned.position_from_start = 1 then positioned.entered_care_date end)
            as entered_care_date,
        min(positioned.start_date) as start_date,
        max(case when positioned.is_period_end then positioned.ceased_date end) as end_date,
        max(case when positioned.is_period_end then positioned.ceased_reason end) as end_reason,
        count(*) as episode_count
    from positioned
    group by positioned.child_key, positioned.extract_month, positioned.period_number

)

select
    periods.first_cla_episode_id,
    periods.child_key,
    periods.extract_month,
    periods.cla_id,
    periods.last_cla_episode_id,
    periods.entered_care_date,
    periods.start_date,
    periods.end_date,
    periods.end_reason,
    end_reasons.description as end_reason_description,
    cast({{ dbt.date_trunc('month', 'periods.end_date') }} as date) as end_month,
    periods.episode_count,
    periods.end_date is not null as is_ended,
    coalesce(periods.end_reason = 'E4A', false) as is_returned_home,
    coalesce(periods.end_reason in ('E43', 'E44', 'E45', 'E46', 'E47', 'E48'), false) as is_sgo
from periods
{{ join_code('cla_ceased_reason', 'periods.end_reason', 'end_reasons') }}
