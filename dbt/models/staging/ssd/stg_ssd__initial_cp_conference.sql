{#- ssd_initial_cp_conference: valid rows of every loaded snapshot, SSD column names kept. -#}
with

source as (

    select * from {{ source('ssd', 'ssd_initial_cp_conference') }}

),

renamed as (

    select
        -- ids
        source.icpc_icpc_id,
        source.icpc_s47_enquiry_id,
        source.icpc_referral_id,
        source.icpc_person_id,
        -- flags
        source.icpc_icpc_transfer_in,
        source.icpc_icpc_outcome_cp_flag,
        -- dates
        source.icpc_icpc_target_date,
        source.icpc_icpc_date,
        -- snapshot
        source._extract_month as extract_month,
        source._row_number as source_row_number
    from source
    where source._is_valid

)

select * from renamed
