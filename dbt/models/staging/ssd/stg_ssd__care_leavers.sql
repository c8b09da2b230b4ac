{#- ssd_care_leavers: valid rows of every loaded snapshot, SSD column names kept. -#}
with

source as (

    select * from {{ source('ssd', 'ssd_care_leavers') }}

),

renamed as (

    select
        -- ids
        source.clea_table_id,
        source.clea_person_id,
        -- codes
        source.clea_care_leaver_eligibility,
        source.clea_care_leaver_in_touch,
        source.clea_care_leaver_accommodation,
        source.clea_care_leaver_activity,
        -- flags
        source.clea_care_leaver_accom_suitable,
        -- dates
        source.clea_care_leaver_latest_contact,
        -- snapshot
        source._extract_month as extract_month,
        source._row_number as source_row_number
    from source
    where source._is_valid

)

select * from renamed
