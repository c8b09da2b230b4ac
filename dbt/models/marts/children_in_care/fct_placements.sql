{#- One row per placement of extract M. A placement is open on day d when start <= d and
    (end NULL or end > d) (SCORECARD.md, purchased_residential). -#}
with

placements as (

    select
        placements.clap_cla_placement_id,
        placements.clap_cla_id,
        placements.clap_cla_placement_type,
        placements.clap_cla_placement_provider,
        placements.clap_cla_placement_change_reason,
        placements.clap_cla_placement_start_date,
        placements.clap_cla_placement_end_date,
        placements.clap_cla_placement_urn,
        placements.clap_cla_placement_distance,
        placements.extract_month,
        {{ pseudonymise('placements.clap_person_id') }} as child_key
    from {{ ref('stg_ssd__cla_placement') }} as placements
    where placements.extract_month = {{ extract_month() }}

)

select
    placements.clap_cla_placement_id as placement_id,
    placements.child_key,
    placements.extract_month,
    placements.clap_cla_id as cla_id,
    placements.clap_cla_placement_type as placement_type,
    placement_types.description as placement_type_description,
    placements.clap_cla_placement_provider as placement_provider,
    placement_providers.description as placement_provider_description,
    placements.clap_cla_placement_urn as placement_urn,
    placements.clap_cla_placement_distance as placement_distance_miles,
    placements.clap_cla_placement_change_reason as change_reason,
    change_reasons.description as change_reason_description,
    placements.clap_cla_placement_start_date as start_date,
    placements.clap_cla_placement_end_date as end_date,
    cast({{ dbt.date_trunc('month', 'placements.clap_cla_placement_start_date') }} as date) as start_month,
    cast({{ dbt.date_trunc('month', 'placements.clap_cla_placement_end_date') }} as date) as end_month,
    {{ days_between(
        'placements.clap_cla_placement_start_date',
        'placements.clap_cla_placement_end_date'
    ) }} as duration_days,
    placements.clap_cla_placement_type in ('T0', 'T1', 'T2', 'T3', 'T4') as is_temporary,
    -- placed for adoption with their current foster carer
    placements.clap_cla_placement_type in ('A3', 'A5') as is_adoption_with_current_carer,
    -- SCORECARD.md cla_3plus_placements_pct: counted placements exclude T0-T4, A3 and A5
    placements.clap_cla_placement_type not in ('T0', 'T1', 'T2', 'T3', 'T4', 'A3', 'A5') as counts_for_stability,
    (
        placements.clap_cla_placement_type in ('K2', 'R1')
        and coalesce(placements.clap_cla_placement_provider in ('PR4', 'PR5'), false)
    ) as is_purchased_residential,
    (
        placements.clap_cla_placement_start_date <= cast({{ dbt.last_day(extract_month(), 'month') }} as date)
        and (
            placements.clap_cla_placement_end_date is null
            or placements.clap_cla_placement_end_date > cast({{ dbt.last_day(extract_month(), 'month') }} as date)
        )
    ) as is_open_at_extract_month_end
from placements
{{ join_code('placement_type', 'placements.clap_cla_placement_type', 'placement_types') }}
{{ join_code('placement_provider', 'placements.clap_cla_placement_provider', 'placement_providers') }}
{{ join_code('placement_change_reason', 'placements.clap_cla_placement_change_reason', 'change_reasons') }}
