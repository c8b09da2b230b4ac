{{ config(materialized='view') }}

{#- The records behind every "Children in care and care leavers" figure (SCORECARD.md) of the
    figure months: one row per measure, month, part and record. From extract M:
      cla_3plus_placements_pct  one row per child looked after on E (record: the care episode
                                open on E, the latest-starting if several), with the number of
                                counted placements overlapping the 12 months to E in `detail`;
      cla_reviews_on_time_pct   one row per review held in the month and not cancelled;
      returned_home, ceased_sgo_pct  one row per period of care ending in the month;
      purchased_residential     one row per child with a K2/R1 PR4/PR5 placement open on E
                                (record: that placement, the earliest-starting if several).
    The care-leaver (snapshot) measures list each month's own extract's care leavers aged 17-21
    on E and not DIED, so a month whose extract was never loaded has none. int_scorecard__members
    stores the rows; int_scorecard__children_in_care counts them. -#}
{%- set stability_parts = [
    {'measure': 'cla_3plus_placements_pct', 'part': 'denominator', 'where': 'true'},
    {'measure': 'cla_3plus_placements_pct', 'part': 'numerator', 'where': 'stability.counted_placements >= 3'},
] %}
{%- set review_parts = [
    {'measure': 'cla_reviews_on_time_pct', 'part': 'denominator', 'where': 'true'},
    {'measure': 'cla_reviews_on_time_pct', 'part': 'numerator', 'where': 'reviews.is_on_time'},
] %}
{%- set period_parts = [
    {'measure': 'returned_home', 'part': 'numerator', 'where': 'periods.is_returned_home'},
    {'measure': 'ceased_sgo_pct', 'part': 'denominator', 'where': 'true'},
    {'measure': 'ceased_sgo_pct', 'part': 'numerator', 'where': 'periods.is_sgo'},
] %}
{%- set residential_parts = [
    {'measure': 'purchased_residential', 'part': 'numerator', 'where': 'residential.child_rank = 1'},
] %}
{%- set leaver_parts = [
    {'measure': 'care_leavers_eet_pct', 'part': 'denominator', 'where': 'true'},
    {'measure': 'care_leavers_eet_pct', 'part': 'numerator', 'where': 'leavers.is_eet'},
    {'measure': 'care_leavers_suitable_accom_pct', 'part': 'denominator', 'where': 'true'},
    {'measure': 'care_leavers_suitable_accom_pct', 'part': 'numerator', 'where': 'leavers.is_suitable_accommodation'},
    {'measure': 'care_leavers_in_touch_pct', 'part': 'denominator', 'where': 'true'},
    {'measure': 'care_leavers_in_touch_pct', 'part': 'numerator', 'where': 'leavers.is_in_touch'},
] %}

with

months as (

    select
        months.month,
        months.month_end,
        -- SCORECARD.md: the day after 12 months before E (29 Feb -> 28 Feb clamp)
        cast({{ dbt.dateadd('day', 1, months_before('months.month_end', 12)) }} as date) as stability_window_start
    from {{ ref('int_scorecard__figure_months') }} as months

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
    where looked_after.child_key is not null

),

-- counted placements overlapping the 12 months to E, per child looked after on E
placements_in_year as (

    select
        looked_after_on_month_end.month,
        looked_after_on_month_end.month_end,
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
    group by looked_after_on_month_end.month, looked_after_on_month_end.month_end, looked_after_on_month_end.child_key

),

-- the care episode open on E that makes each child looked after (the latest-starting)
episodes_on_month_end as (

    select
        months.month,
        episodes.child_key,
        episodes.cla_episode_id,
        episodes.start_date,
        episodes.ceased_date,
        row_number() over (
            partition by months.month, episodes.child_key
            order by episodes.start_date desc, episodes.cla_episode_id desc
        ) as recency
    from months
    inner join {{ ref('fct_cla_episodes') }} as episodes
        on
            months.month_end >= episodes.start_date
            and (months.month_end < episodes.ceased_date or episodes.ceased_date is null)

),

stability as (

    select
        placements_in_year.month,
        placements_in_year.month_end,
        placements_in_year.child_key,
        placements_in_year.counted_placements,
        episodes_on_month_end.cla_episode_id,
        episodes_on_month_end.start_date,
        episodes_on_month_end.ceased_date
    from placements_in_year
    left join episodes_on_month_end
        on
            placements_in_year.month = episodes_on_month_end.month
            and placements_in_year.child_key = episodes_on_month_end.child_key
            and episodes_on_month_end.recency = 1

),

-- reviews held in a figure month and not cancelled
reviews as (

    select
        cla_reviews.cla_review_id,
        cla_reviews.child_key,
        cla_reviews.review_month,
        cla_reviews.review_date,
        cla_reviews.due_date,
        cla_reviews.is_on_time
    from {{ ref('fct_cla_reviews') }} as cla_reviews
    inner join months on cla_reviews.review_month = months.month
    where not cla_reviews.is_cancelled

),

-- periods of care ending in a figure month
periods as (

    select
        periods.first_cla_episode_id,
        periods.child_key,
        periods.start_date,
        periods.end_date,
        periods.end_month,
        periods.end_reason,
        periods.is_returned_home,
        periods.is_sgo
    from {{ ref('fct_periods_of_care') }} as periods
    inner join months on periods.end_month = months.month

),

-- purchased residential placements open on E, ranked per child
residential as (

    select
        months.month,
        months.month_end,
        placements.placement_id,
        placements.child_key,
        placements.start_date,
        placements.end_date,
        placements.placement_type,
        placements.placement_provider,
        row_number() over (
            partition by months.month, placements.child_key
            order by placements.start_date, placements.placement_id
        ) as child_rank
    from months
    inner join {{ ref('fct_placements') }} as placements
        on
            months.month_end >= placements.start_date
            and (months.month_end < placements.end_date or placements.end_date is null)
    where
        placements.is_purchased_residential
        and placements.child_key is not null

),

-- care leavers of each figure month's own extract in the denominator
leavers as (

    select
        leavers.care_leaver_id,
        leavers.child_key,
        leavers.extract_month,
        leavers.month_end,
        leavers.age_at_month_end,
        leavers.is_eet,
        leavers.is_suitable_accommodation,
        leavers.is_in_touch
    from {{ ref('fct_care_leavers') }} as leavers
    inner join months on leavers.extract_month = months.month
    where leavers.in_scorecard_denominator

)

{{ scorecard_member_rows(
    'stability',
    {'type': 'cla_episode', 'key': 'stability.cla_episode_id', 'month': 'stability.month',
        'date': 'stability.month_end', 'start_date': 'stability.start_date', 'end_date': 'stability.ceased_date',
        'detail': "cast(stability.counted_placements as " ~ dbt.type_string()
            ~ ") || ' counted placement(s) in the 12 months to the month end'"},
    stability_parts) }}
union all
{{ scorecard_member_rows(
    'reviews',
    {'type': 'cla_review', 'key': 'reviews.cla_review_id', 'month': 'reviews.review_month',
        'date': 'reviews.review_date', 'end_date': 'reviews.review_date', 'due_date': 'reviews.due_date'},
    review_parts) }}
union all
{{ scorecard_member_rows(
    'periods',
    {'type': 'period_of_care', 'key': 'periods.first_cla_episode_id', 'month': 'periods.end_month',
        'date': 'periods.end_date', 'start_date': 'periods.start_date', 'end_date': 'periods.end_date',
        'detail': "'ceased ' || periods.end_reason"},
    period_parts) }}
union all
{{ scorecard_member_rows(
    'residential',
    {'type': 'placement', 'key': 'residential.placement_id', 'month': 'residential.month',
        'date': 'residential.month_end', 'start_date': 'residential.start_date', 'end_date': 'residential.end_date',
        'detail': "residential.placement_type || ' ' || residential.placement_provider"},
    residential_parts) }}
union all
{{ scorecard_member_rows(
    'leavers',
    {'type': 'care_leaver', 'key': 'leavers.care_leaver_id', 'month': 'leavers.extract_month',
        'date': 'leavers.month_end',
        'detail': "'aged ' || cast(leavers.age_at_month_end as " ~ dbt.type_string() ~ ") || ' on the month end'"},
    leaver_parts) }}
