{#- raw.extract_features: which optional tables / columns each loaded extract had. -#}
with

source as (

    select * from {{ source('ssd', 'extract_features') }}

),

renamed as (

    select
        source.extract_month,
        source.feature,
        source.available
    from source

)

select * from renamed
