{#- The monthly scorecard built from extract M (var extract_month): one row per measure of
    dim_measure and month M-11 .. M (int_scorecard__months), the published months of
    int_scorecard__figures, where every figure is computed (the value formula lives there):
      count measures   value = numerator
      percent measures value = round(100 * numerator / denominator, 1)
    availability: 'not_available' (an optional table or column absent from the extract),
    'no_data' (zero denominator, or a snapshot measure whose month's extract is not loaded),
    else 'available'; value is NULL unless available. -#}
select
    figures.measure_id,
    figures.month,
    figures.value,
    figures.numerator,
    figures.denominator,
    figures.availability,
    figures.extract_month,
    figures.measure_name,
    figures.section,
    figures.polarity,
    figures.unit,
    figures.is_snapshot,
    figures.sort_order
from {{ ref('int_scorecard__figures') }} as figures
inner join {{ ref('int_scorecard__months') }} as months
    on figures.month = months.month
