{#- One row per missing (type M) or away (type A) episode of extract M, with whether the child
    was looked after on the day the episode started (SCORECARD.md, "Missing from home and
    care"). -#}
with

episodes as (

    select
        missing.miss_table_id,
        missing.miss_missing_episode_type,
        missing.miss_missing_episode_start_date,
        missing.miss_missing_episode_end_date,
        missing.miss_missing_rhi_offered,
        missing.miss_missing_rhi_accepted,
        missing.extract_month,
        {{ pseudonymise('missing.miss_person_id') }} as child_key
    from {{ ref('stg_ssd__missing') }} as missing
    where missing.extract_month = {{ extract_month() }}

),

looked_after as (

    select
        intervals.child_key,
        intervals.looked_after_from,
        intervals.looked_after_to
    from {{ ref('int_children_in_care__looked_after_intervals') }} as intervals

),

joined as (

    select
        episodes.*,
        -- a child's looked-after intervals do not overlap: at most one matches
        looked_after.child_key is not null as looked_after_at_start
    from episodes
    left join looked_after
        on
            episodes.child_key = looked_after.child_key
            and episodes.miss_missing_episode_start_date >= looked_after.looked_after_from
            and (
                episodes.miss_missing_episode_start_date < looked_after.looked_after_to
                or looked_after.looked_after_to is null
            )

)

select
    joined.miss_table_id as missing_episode_id,
    joined.child_key,
    joined.extract_month,
    joined.miss_missing_episode_type as episode_type,
    episode_types.description as episode_type_description,
    joined.miss_missing_episode_start_date as start_date,
    joined.miss_missing_episode_end_date as end_date,
    cast({{ dbt.date_trunc('month', 'joined.miss_missing_episode_start_date') }} as date) as start_month,
    cast({{ dbt.date_trunc('month', 'joined.miss_missing_episode_end_date') }} as date) as end_month,
    joined.miss_missing_episode_type = 'M' as is_missing,
    joined.miss_missing_episode_type = 'A' as is_away,
    joined.looked_after_at_start,
    joined.miss_missing_rhi_offered as rhi_offered,
    rhi_offered_codes.description as rhi_offered_description,
    joined.miss_missing_rhi_accepted as rhi_accepted,
    rhi_accepted_codes.description as rhi_accepted_description,
    coalesce(joined.miss_missing_rhi_offered = 'Y', false) as is_rhi_offered,
    coalesce(joined.miss_missing_rhi_accepted = 'Y', false) as is_rhi_accepted,
    {{ days_between(
        'joined.miss_missing_episode_start_date',
        'joined.miss_missing_episode_end_date'
    ) }} as duration_days,
    (
        joined.miss_missing_episode_start_date <= cast({{ dbt.last_day(extract_month(), 'month') }} as date)
        and (
            joined.miss_missing_episode_end_date is null
            or joined.miss_missing_episode_end_date > cast({{ dbt.last_day(extract_month(), 'month') }} as date)
        )
    ) as is_open_at_extract_month_end
from joined
{{ join_code('missing_type', 'joined.miss_missing_episode_type', 'episode_types') }}
{{ join_code('rhi', 'joined.miss_missing_rhi_offered', 'rhi_offered_codes') }}
{{ join_code('rhi', 'joined.miss_missing_rhi_accepted', 'rhi_accepted_codes') }}
