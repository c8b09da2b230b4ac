{#- Every scorecard figure built from extract M (var extract_month): one row per measure of
    dim_measure and figure month M-23 .. M (int_scorecard__figure_months). The four area models
    give numerators and denominators; the published value, and the percentage formula, live only
    here:
      count measures   value = numerator
      percent measures value = round(100 * numerator / denominator, 1)
    availability: 'not_available' (an optional table or column absent from the extract),
    'no_data' (zero denominator, or a snapshot measure whose month's extract is not loaded),
    else 'available'; value is NULL unless available. fct_scorecard publishes the months
    M-11 .. M; fct_scorecard_status compares them with the month before and the same month a
    year before. -#}
with

areas as (

    select
        front_door.measure_id,
        front_door.month,
        front_door.numerator,
        front_door.denominator,
        front_door.availability
    from {{ ref('int_scorecard__front_door') }} as front_door
    union all
    select
        missing.measure_id,
        missing.month,
        missing.numerator,
        missing.denominator,
        missing.availability
    from {{ ref('int_scorecard__missing') }} as missing
    union all
    select
        help_protection.measure_id,
        help_protection.month,
        help_protection.numerator,
        help_protection.denominator,
        help_protection.availability
    from {{ ref('int_scorecard__help_protection') }} as help_protection
    union all
    select
        children_in_care.measure_id,
        children_in_care.month,
        children_in_care.numerator,
        children_in_care.denominator,
        children_in_care.availability
    from {{ ref('int_scorecard__children_in_care') }} as children_in_care

),

classified as (

    select
        areas.measure_id,
        areas.month,
        areas.numerator,
        areas.denominator,
        case
            when areas.availability = 'not_available' then 'not_available'
            when areas.availability = 'no_data' then 'no_data'
            when measures.unit = 'percent' and coalesce(areas.denominator, 0) = 0 then 'no_data'
            when areas.numerator is null then 'no_data'
            else 'available'
        end as availability,
        measures.measure_name,
        measures.section,
        measures.polarity,
        measures.unit,
        measures.is_snapshot,
        measures.sort_order
    from areas
    inner join {{ ref('dim_measure') }} as measures
        on areas.measure_id = measures.measure_id

)

select
    classified.measure_id,
    classified.month,
    cast(
        case
            when classified.availability <> 'available' then null
            when classified.unit = 'count' then classified.numerator
            else round(100.0 * classified.numerator / classified.denominator, 1)
        end
        as {{ type_double() }}
    ) as value,
    classified.numerator,
    classified.denominator,
    classified.availability,
    {{ extract_month() }} as extract_month,
    classified.measure_name,
    classified.section,
    classified.polarity,
    classified.unit,
    classified.is_snapshot,
    classified.sort_order
from classified
