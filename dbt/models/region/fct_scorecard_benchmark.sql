{#- Each council's published figure beside its benchmark group's (the councils of the region's
    run) for the same measure and month, from the pooled public figures (source region). Only
    percentages are ranked: a count grows with the council's size. The group's statistics and the
    ranks are given only when they describe the whole group: at least two councils with a value and
    none suppressed (a suppressed count is 1 to 5 children, so statistics without it would be wrong,
    and a rank could be better than it says). -#}
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
        count(*) filter (where figures.availability = 'suppressed') as councils_suppressed,
        min(figures.value) as group_min,
        percentile_cont(0.25) within group (order by figures.value) as group_lower_quartile,
        percentile_cont(0.5) within group (order by figures.value) as group_median,
        percentile_cont(0.75) within group (order by figures.value) as group_upper_quartile,
        max(figures.value) as group_max
    from figures
    group by figures.measure_id, figures.month
),

described as (
    select
        group_figures.measure_id,
        group_figures.month,
        group_figures.councils_in_group,
        group_figures.councils_with_value,
        group_figures.councils_suppressed,
        group_figures.group_min,
        group_figures.group_lower_quartile,
        group_figures.group_median,
        group_figures.group_upper_quartile,
        group_figures.group_max,
        group_figures.councils_with_value >= 2 and group_figures.councils_suppressed = 0 as is_described
    from group_figures
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
    case when described.is_described then ranked.rank_in_group end as rank_in_group,
    described.councils_in_group,
    described.councils_with_value,
    described.councils_suppressed,
    case when described.is_described then round(described.group_min, 1) end as group_min,
    case when described.is_described then round(described.group_lower_quartile, 1) end as group_lower_quartile,
    case when described.is_described then round(described.group_median, 1) end as group_median,
    case when described.is_described then round(described.group_upper_quartile, 1) end as group_upper_quartile,
    case when described.is_described then round(described.group_max, 1) end as group_max
from ranked
inner join described
    on
        ranked.measure_id = described.measure_id
        and ranked.month = described.month
inner join {{ source('region', 'councils') }} as councils
    on ranked.la_code = councils.la_code
