{#- ssd_cin_assessments: valid rows of every loaded snapshot, SSD column names kept. -#}
with

source as (

    select * from {{ source('ssd', 'ssd_cin_assessments') }}

),

renamed as (

    select
        -- ids
        source.cina_assessment_id,
        source.cina_person_id,
        source.cina_referral_id,
        -- flags
        source.cina_assessment_child_seen,
        -- dates
        source.cina_assessment_start_date,
        source.cina_assessment_auth_date,
        -- snapshot
        source._extract_month as extract_month,
        source._row_number as source_row_number
    from source
    where source._is_valid

)

select * from renamed
