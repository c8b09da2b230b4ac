{#- Each council's published figure beside its benchmark group's (the councils of the region's
    run) for the same measure and month, from the pooled public figures (source region). Only
    percentages are ranked: a count grows with the council's size. -#}
with figures as (
    select
        council_figures.la_code,
        council_figures.measure_id,
        council_figures.month,
        council_figures.value,
        council_figures.availability
    from {{ source('region', 'council_figures') }} as council_figures
),

group_figures as (
    select
        figures.measure_id,
        figures.month,
        count(*) as councils_in_group,
        count(figures.value) as councils_with_value,
        min(figures.value) as group_min,
        percentile_cont(0.25) within group (order by figures.value) as group_lower_quartile,
        percentile_cont(0.5) within group (order by figures.value) as group_median,
        percentile_cont(0.75) within group (order by figures.value) as group_upper_quartile,
        max(figures.value) as group_max
    from figures
    group by figures.measure_id, figures.month
),

ranked as (
    select
        figures.la_code,
        figures.measure_id,
        figures.month,
        figures.value,
        figures.availability,
        measures.polarity,
        measures.unit,
        case
            when figures.value is not null and measures.unit = 'percent'
                then rank() over (
                    partition by figures.measure_id, figures.month, figures.value is null
                    order by case when measures.polarity = 'High' then -figures.value else figures.value end
                )
        end as rank_in_group
    from figures
    inner join {{ ref('dim_measure') }} as measures
        on figures.measure_id = measures.measure_id
)

select
    ranked.la_code,
    councils.la_name,
    councils.region_name,
    ranked.measure_id,
    ranked.month,
    ranked.value,
    ranked.availability,
    ranked.unit,
    ranked.polarity,
    ranked.rank_in_group,
    group_figures.councils_in_group,
    group_figures.councils_with_value,
    round(group_figures.group_min, 1) as group_min,
    round(group_figures.group_lower_quartile, 1) as group_lower_quartile,
    round(group_figures.group_median, 1) as group_median,
    round(group_figures.group_upper_quartile, 1) as group_upper_quartile,
    round(group_figures.group_max, 1) as group_max
from ranked
inner join group_figures
    on
        ranked.measure_id = group_figures.measure_id
        and ranked.month = group_figures.month
inner join {{ source('region', 'councils') }} as councils
    on ranked.la_code = councils.la_code
