{#- The status of every published figure of the scorecard built from extract M: one row per
    measure and month M-11 .. M (like fct_scorecard), with

    * its RAG status against the council's target (seed measure_targets: target, amber band,
      where the target came from), by polarity, in the measure's unit (percentage points for
      percentages). With v the published value, t the target and b the amber band (0 when empty):
          High:  green  v >= t      amber  t - b <= v < t      red  v < t - b
          Low:   green  v <= t      amber  t < v <= t + b      red  v > t + b
      NULL when the measure has no target or the figure no value (never a made-up colour);
    * its direction of travel against the month before and the same month a year before
      (int_scorecard__figures computes those months from the same extract): 'same' when the two
      published values are equal, 'better' when it moved the way good looks like (up for High,
      down for Low), else 'worse'; NULL when either value is missing.
    Values are compared as published (percentages to one decimal place), exactly (decimal). -#}
with

figures as (

    select
        figures.measure_id,
        figures.month,
        figures.value,
        figures.polarity,
        figures.unit,
        figures.extract_month,
        cast(figures.value as decimal(18, 6)) as exact_value
    from {{ ref('int_scorecard__figures') }} as figures

),

targets as (

    select
        targets.measure_id,
        targets.target,
        targets.amber_band,
        nullif(targets.comparator, '') as target_comparator,
        nullif(targets.source, '') as target_source,
        cast(targets.target as decimal(18, 6)) as exact_target,
        cast(coalesce(targets.amber_band, 0) as decimal(18, 6)) as exact_band
    from {{ ref('measure_targets') }} as targets

),

compared as (

    select
        figures.measure_id,
        figures.month,
        figures.value,
        figures.polarity,
        figures.unit,
        figures.extract_month,
        figures.exact_value,
        targets.target,
        targets.amber_band,
        targets.target_comparator,
        targets.target_source,
        targets.exact_target,
        targets.exact_band,
        previous_month.value as previous_month_value,
        previous_month.exact_value as exact_previous_month_value,
        same_month_last_year.value as same_month_last_year_value,
        same_month_last_year.exact_value as exact_same_month_last_year_value
    from figures
    inner join {{ ref('int_scorecard__months') }} as months
        on figures.month = months.month
    left join targets
        on figures.measure_id = targets.measure_id
    left join figures as previous_month
        on
            figures.measure_id = previous_month.measure_id
            and previous_month.month = cast({{ dbt.dateadd('month', -1, 'figures.month') }} as date)
    left join figures as same_month_last_year
        on
            figures.measure_id = same_month_last_year.measure_id
            and same_month_last_year.month = cast({{ dbt.dateadd('month', -12, 'figures.month') }} as date)

)

select
    compared.measure_id,
    compared.month,
    compared.value,
    compared.polarity,
    compared.unit,
    compared.target,
    compared.amber_band,
    compared.target_comparator,
    compared.target_source,
    case
        when compared.exact_value is null or compared.exact_target is null then null
        when compared.polarity = 'High' and compared.exact_value >= compared.exact_target then 'green'
        when
            compared.polarity = 'High' and compared.exact_value >= compared.exact_target - compared.exact_band
            then 'amber'
        when compared.polarity = 'High' then 'red'
        when compared.polarity = 'Low' and compared.exact_value <= compared.exact_target then 'green'
        when
            compared.polarity = 'Low' and compared.exact_value <= compared.exact_target + compared.exact_band
            then 'amber'
        when compared.polarity = 'Low' then 'red'
    end as rag_status,
    compared.previous_month_value,
    {{ direction_of_travel('compared.exact_value', 'compared.exact_previous_month_value', 'compared.polarity') }}
        as direction_vs_previous_month,
    compared.same_month_last_year_value,
    {{ direction_of_travel('compared.exact_value', 'compared.exact_same_month_last_year_value', 'compared.polarity') }}
        as direction_vs_same_month_last_year,
    compared.extract_month
from compared
