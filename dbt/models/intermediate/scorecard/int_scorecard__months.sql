{#- The twelve months a scorecard built from extract M shows: M-11 .. M, where M is
    var('extract_month'). -#}
with

offsets as (

    {{ dbt.generate_series(12) }}

)

select
    cast({{ dbt.dateadd('month', '(offsets.generated_number - 12)', extract_month()) }} as date) as month,
    cast({{ dbt.last_day(dbt.dateadd('month', '(offsets.generated_number - 12)', extract_month()), 'month') }} as date)
        as month_end
from offsets
