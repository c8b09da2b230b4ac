{#- The months every scorecard figure is computed for from extract M: the twelve published
    months M-11 .. M (int_scorecard__months) and the twelve before them, M-23 .. M-12, which
    give the published months their previous month and their same month last year
    (fct_scorecard_status). All from extract M, like the published months. -#}
with

offsets as (

    {{ dbt.generate_series(24) }}

)

select
    cast({{ dbt.dateadd('month', '(offsets.generated_number - 24)', extract_month()) }} as date) as month,
    cast({{ dbt.last_day(dbt.dateadd('month', '(offsets.generated_number - 24)', extract_month()), 'month') }} as date)
        as month_end,
    offsets.generated_number > 12 as is_published_month
from offsets
