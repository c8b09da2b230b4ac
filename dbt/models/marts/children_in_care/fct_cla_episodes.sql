{#- One row per care episode of extract M (SSDA903 semantics: a new episode starts whenever the
    legal status and/or the placement changes). -#}
with

episodes as (

    select
        episodes.clae_cla_episode_id,
        episodes.clae_cla_id,
        episodes.clae_cla_placement_id,
        episodes.clae_cla_episode_start_date,
        episodes.clae_cla_episode_start_reason,
        episodes.clae_cla_primary_need_code,
        episodes.clae_cla_episode_ceased_date,
        episodes.clae_cla_episode_ceased_reason,
        episodes.clae_entered_care_date,
        episodes.extract_month,
        {{ pseudonymise('episodes.clae_person_id') }} as child_key
    from {{ ref('stg_ssd__cla_episodes') }} as episodes
    where episodes.extract_month = {{ extract_month() }}

)

select
    episodes.clae_cla_episode_id as cla_episode_id,
    episodes.child_key,
    episodes.extract_month,
    episodes.clae_cla_id as cla_id,
    episodes.clae_cla_placement_id as placement_id,
    episodes.clae_cla_episode_start_date as start_date,
    episodes.clae_cla_episode_start_reason as start_reason,
    start_reasons.description as start_reason_description,
    episodes.clae_cla_primary_need_code as primary_need_code,
    primary_needs.description as primary_need_description,
    episodes.clae_cla_episode_ceased_date as ceased_date,
    episodes.clae_cla_episode_ceased_reason as ceased_reason,
    ceased_reasons.description as ceased_reason_description,
    episodes.clae_entered_care_date as entered_care_date,
    cast({{ dbt.date_trunc('month', 'episodes.clae_cla_episode_start_date') }} as date) as start_month,
    cast({{ dbt.date_trunc('month', 'episodes.clae_cla_episode_ceased_date') }} as date) as ceased_month,
    -- SCORECARD.md: a period of care ends with an episode ceased for a reason other than X1
    coalesce(
        episodes.clae_cla_episode_ceased_date is not null
        and episodes.clae_cla_episode_ceased_reason <> 'X1',
        false
    ) as is_period_end,
    (
        episodes.clae_cla_episode_start_date <= cast({{ dbt.last_day(extract_month(), 'month') }} as date)
        and (
            episodes.clae_cla_episode_ceased_date is null
            or episodes.clae_cla_episode_ceased_date > cast({{ dbt.last_day(extract_month(), 'month') }} as date)
        )
    ) as is_open_at_extract_month_end
from episodes
{{ join_code('cla_start_reason', 'episodes.clae_cla_episode_start_reason', 'start_reasons') }}
{{ join_code('cla_primary_need', 'episodes.clae_cla_primary_need_code', 'primary_needs') }}
{{ join_code('cla_ceased_reason', 'episodes.clae_cla_episode_ceased_reason', 'ceased_reasons') }}
