{#- ssd_person: valid rows of every loaded snapshot, SSD column names kept. -#}
with

source as (

    select * from {{ source('ssd', 'ssd_person') }}

),

renamed as (

    select
        -- ids
        source.pers_person_id,
        -- codes
        source.pers_sex,
        source.pers_ethnicity,
        -- dates
        source.pers_dob,
        source.pers_expected_dob,
        source.pers_death_date,
        -- snapshot
        source._extract_month as extract_month,
        source._row_number as source_row_number
    from source
    where source._is_valid

)

select * from renamed
