{#- Children in care and care leavers measures (SCORECARD.md) for the twelve scorecard months:
    one row per measure and month, numerator (the count for count measures) and denominator
    (NULL for count measures). Every measure but the care-leaver ones comes from extract M; the
    care-leaver measures (snapshot measures) for month X come from extract X and are 'no_data'
    (numerator and denominator NULL) when extract X has not been loaded. No events give 0. -#}
{#- (measure_id, numerator column, denominator column or none, availability expression) -#}
{%- set measures = [
    ('cla_3plus_placements_pct', 'stability_numerator', 'stability_denominator', "'available'"),
    ('cla_reviews_on_time_pct', 'reviews_on_time', 'reviews_held', "'available'"),
    ('returned_home', 'periods_ended_returned_home', none, "'available'"),
    ('ceased_sgo_pct', 'periods_ended_sgo', 'periods_ended', "'available'"),
    ('purchased_residential', 'purchased_residential', none, "'available'"),
    ('care_leavers_eet_pct', 'care_leavers_eet', 'care_leavers', 'monthly.care_leavers_availability'),
    ('care_leavers_suitable_accom_pct', 'care_leavers_suitable_accom', 'care_leavers',
        'monthly.care_leavers_availability'),
    ('care_leavers_in_touch_pct', 'care_leavers_in_touch', 'care_leavers', 'monthly.care_leavers_availability'),
] %}

with

months as (

    select
        months.month,
        months.month_end,
        -- SCORECARD.md: the day after 12 months before E (29 Feb -> 28 Feb clamp)
        cast({{ dbt.dateadd('day', 1, months_before('months.month_end', 12)) }} as date) as stability_window_start
    from {{ ref('int_scorecard__months') }} as months

),

looked_after_on_month_end as (

    select
        months.month,
        months.month_end,
        months.stability_window_start,
        looked_after.child_key
    from months
    inner join {{ ref('int_children_in_care__looked_after_intervals') }} as looked_after
        on
            months.month_end >= looked_after.looked_after_from
            and (months.month_end < looked_after.looked_after_to or looked_after.looked_after_to is null)

),

-- counted placements overlapping the 12 months to E, per child looked after on E
placements_in_year as (

    select
        looked_after_on_month_end.month,
        looked_after_on_month_end.child_key,
        count(distinct placements.placement_id) as counted_placements
    from looked_after_on_month_end
    left join {{ ref('fct_placements') }} as placements
        on
            looked_after_on_month_end.child_key = placements.child_key
            and looked_after_on_month_end.month_end >= placements.start_date
            and (
                looked_after_on_month_end.stability_window_start <= placements.end_date
                or placements.end_date is null
            )
            and placements.counts_for_stability
    group by looked_after_on_month_end.month, looked_after_on_month_end.child_key

),

stability as (

    select
        months.month,
        -- placements_in_year has one row per month and child looked after on E
        count(placements_in_year.child_key) as stability_denominator,
        count(case when placements_in_year.counted_placements >= 3 then 1 end) as stability_numerator
    from months
    left join placements_in_year on months.month = placements_in_year.month
    group by months.month

),

-- reviews held in the month and not cancelled
reviews as (

    select
        months.month,
        count(cla_reviews.cla_review_id) as reviews_held,
        count(case when cla_reviews.is_on_time then 1 end) as reviews_on_time
    from months
    left join {{ ref('fct_cla_reviews') }} as cla_reviews
        on
            months.month <= cla_reviews.review_date
            and months.month_end >= cla_reviews.review_date
            and not cla_reviews.is_cancelled
    group by months.month

),

-- periods of care ending in the month
periods_ended as (

    select
        months.month,
        count(periods.first_cla_episode_id) as periods_ended,
        count(case when periods.is_returned_home then 1 end) as periods_ended_returned_home,
        count(case when periods.is_sgo then 1 end) as periods_ended_sgo
    from months
    left join {{ ref('fct_periods_of_care') }} as periods
        on
            months.month <= periods.end_date
            and months.month_end >= periods.end_date
    group by months.month

),

-- children in a purchased residential placement open on E
purchased_residential as (

    select
        months.month,
        count(distinct placements.child_key) as purchased_residential
    from months
    left join {{ ref('fct_placements') }} as placements
        on
            months.month_end >= placements.start_date
            and (months.month_end < placements.end_date or placements.end_date is null)
            and placements.is_purchased_residential
    group by months.month

),

loaded_extracts as (

    select distinct extracts.extract_month
    from {{ source('ssd', 'extracts') }} as extracts

),

-- care leavers from each month's own extract
care_leavers as (

    select
        months.month,
        loaded_extracts.extract_month is not null as is_extract_loaded,
        count(leavers.care_leaver_id) as care_leavers,
        count(case when leavers.is_eet then 1 end) as care_leavers_eet,
        count(case when leavers.is_suitable_accommodation then 1 end) as care_leavers_suitable_accom,
        count(case when leavers.is_in_touch then 1 end) as care_leavers_in_touch
    from months
    left join loaded_extracts
        on months.month = loaded_extracts.extract_month
    left join {{ ref('fct_care_leavers') }} as leavers
        on
            months.month = leavers.extract_month
            and leavers.in_scorecard_denominator
    group by months.month, loaded_extracts.extract_month

),

monthly as (

    select
        months.month,
        stability.stability_numerator,
        stability.stability_denominator,
        reviews.reviews_on_time,
        reviews.reviews_held,
        periods_ended.periods_ended_returned_home,
        periods_ended.periods_ended_sgo,
        periods_ended.periods_ended,
        purchased_residential.purchased_residential,
        -- snapshot measures: nothing to count when the month's own extract was never loaded
        case when care_leavers.is_extract_loaded then care_leavers.care_leavers_eet end as care_leavers_eet,
        case
            when care_leavers.is_extract_loaded then care_leavers.care_leavers_suitable_accom
        end as care_leavers_suitable_accom,
        case when care_leavers.is_extract_loaded then care_leavers.care_leavers_in_touch end as care_leavers_in_touch,
        case when care_leavers.is_extract_loaded then care_leavers.care_leavers end as care_leavers,
        case when care_leavers.is_extract_loaded then 'available' else 'no_data' end as care_leavers_availability
    from months
    inner join stability on months.month = stability.month
    inner join reviews on months.month = reviews.month
    inner join periods_ended on months.month = periods_ended.month
    inner join purchased_residential on months.month = purchased_residential.month
    inner join care_leavers on months.month = care_leavers.month

)

{{ measure_rows(measures) }}
