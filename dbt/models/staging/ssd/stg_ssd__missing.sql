{#- ssd_missing: valid rows of every loaded snapshot, SSD column names kept. -#}
with

source as (

    select * from {{ source('ssd', 'ssd_missing') }}

),

renamed as (

    select
        -- ids
        source.miss_table_id,
        source.miss_person_id,
        -- codes
        source.miss_missing_episode_type,
        source.miss_missing_rhi_offered,
        source.miss_missing_rhi_accepted,
        -- dates
        source.miss_missing_episode_start_date,
        source.miss_missing_episode_end_date,
        -- snapshot
        source._extract_month as extract_month,
        source._row_number as source_row_number
    from source
    where source._is_valid

)

select * from renamed
