{#- ssd_cla_placement: valid rows of every loaded snapshot, SSD column names kept. -#}
with

source as (

    select * from {{ source('ssd', 'ssd_cla_placement') }}

),

renamed as (

    select
        -- ids
        source.clap_cla_placement_id,
        source.clap_cla_id,
        source.clap_person_id,
        -- codes
        source.clap_cla_placement_type,
        source.clap_cla_placement_provider,
        source.clap_cla_placement_change_reason,
        -- dates
        source.clap_cla_placement_start_date,
        source.clap_cla_placement_end_date,
        -- other attributes
        source.clap_cla_placement_urn,
        source.clap_cla_placement_distance,
        -- snapshot
        source._extract_month as extract_month,
        source._row_number as source_row_number
    from source
    where source._is_valid

)

select * from renamed
