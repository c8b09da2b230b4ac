{#- ssd_cin_episodes: valid rows of every loaded snapshot, SSD column names kept. -#}
with

source as (

    select * from {{ source('ssd', 'ssd_cin_episodes') }}

),

renamed as (

    select
        -- ids
        source.cine_referral_id,
        source.cine_person_id,
        -- codes
        source.cine_referral_source_code,
        source.cine_cin_primary_need_code,
        source.cine_close_reason,
        -- flags
        source.cine_referral_nfa,
        -- dates
        source.cine_referral_date,
        source.cine_close_date,
        -- snapshot
        source._extract_month as extract_month,
        source._row_number as source_row_number
    from source
    where source._is_valid

)

select * from renamed
