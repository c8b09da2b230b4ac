{#- ssd_s47_enquiry: valid rows of every loaded snapshot, SSD column names kept. -#}
with

source as (

    select * from {{ source('ssd', 'ssd_s47_enquiry') }}

),

renamed as (

    select
        -- ids
        source.s47e_s47_enquiry_id,
        source.s47e_referral_id,
        source.s47e_person_id,
        -- dates
        source.s47e_s47_start_date,
        source.s47e_s47_end_date,
        -- snapshot
        source._extract_month as extract_month,
        source._row_number as source_row_number
    from source
    where source._is_valid

)

select * from renamed
