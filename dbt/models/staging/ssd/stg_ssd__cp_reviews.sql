{#- ssd_cp_reviews: valid rows of every loaded snapshot, SSD column names kept. -#}
with

source as (

    select * from {{ source('ssd', 'ssd_cp_reviews') }}

),

renamed as (

    select
        -- ids
        source.cppr_cp_review_id,
        source.cppr_person_id,
        source.cppr_cp_plan_id,
        -- dates
        source.cppr_cp_review_due,
        source.cppr_cp_review_date,
        -- snapshot
        source._extract_month as extract_month,
        source._row_number as source_row_number
    from source
    where source._is_valid

)

select * from renamed
