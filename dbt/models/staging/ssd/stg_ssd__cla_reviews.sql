{#- ssd_cla_reviews: valid rows of every loaded snapshot, SSD column names kept. -#}
with

source as (

    select * from {{ source('ssd', 'ssd_cla_reviews') }}

),

renamed as (

    select
        -- ids
        source.clar_cla_review_id,
        source.clar_cla_id,
        source.clar_cla_person_id,
        -- flags
        source.clar_cla_review_cancelled,
        -- dates
        source.clar_cla_review_due_date,
        source.clar_cla_review_date,
        -- snapshot
        source._extract_month as extract_month,
        source._row_number as source_row_number
    from source
    where source._is_valid

)

select * from renamed
