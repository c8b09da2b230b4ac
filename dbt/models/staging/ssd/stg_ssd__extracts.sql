{#- raw.extracts: one row per loaded extract month with its manifest facts. -#}
with

source as (

    select * from {{ source('ssd', 'extracts') }}

),

renamed as (

    select
        source.extract_month,
        source.la_code,
        source.period_end,
        source.extract_date,
        source.ssd_version,
        source.source_system,
        source.has_manifest,
        source.loaded_at
    from source

)

select * from renamed
