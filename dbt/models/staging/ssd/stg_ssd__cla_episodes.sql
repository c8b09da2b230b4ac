{#- ssd_cla_episodes: valid rows of every loaded snapshot, SSD column names kept. -#}
with

source as (

    select * from {{ source('ssd', 'ssd_cla_episodes') }}

),

renamed as (

    select
        -- ids
        source.clae_cla_episode_id,
        source.clae_person_id,
        source.clae_cla_id,
        source.clae_cla_placement_id,
        -- codes
        source.clae_cla_episode_start_reason,
        source.clae_cla_primary_need_code,
        source.clae_cla_episode_ceased_reason,
        -- dates
        source.clae_cla_episode_start_date,
        source.clae_cla_episode_ceased_date,
        source.clae_entered_care_date,
        -- snapshot
        source._extract_month as extract_month,
        source._row_number as source_row_number
    from source
    where source._is_valid

)

select * from renamed
