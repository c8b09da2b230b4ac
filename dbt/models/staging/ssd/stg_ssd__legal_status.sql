{#- ssd_legal_status: valid rows of every loaded snapshot, SSD column names kept. -#}
with

source as (

    select * from {{ source('ssd', 'ssd_legal_status') }}

),

renamed as (

    select
        -- ids
        source.lega_legal_status_id,
        source.lega_person_id,
        -- codes
        source.lega_legal_status,
        -- dates
        source.lega_legal_status_start_date,
        source.lega_legal_status_end_date,
        -- snapshot
        source._extract_month as extract_month,
        source._row_number as source_row_number
    from source
    where source._is_valid

)

select * from renamed
