{#- ssd_cp_plans: valid rows of every loaded snapshot, SSD column names kept. -#}
with

source as (

    select * from {{ source('ssd', 'ssd_cp_plans') }}

),

renamed as (

    select
        -- ids
        source.cppl_cp_plan_id,
        source.cppl_referral_id,
        source.cppl_icpc_id,
        source.cppl_person_id,
        -- codes
        source.cppl_cp_plan_initial_category,
        -- dates
        source.cppl_cp_plan_start_date,
        source.cppl_cp_plan_end_date,
        -- snapshot
        source._extract_month as extract_month,
        source._row_number as source_row_number
    from source
    where source._is_valid

)

select * from renamed
