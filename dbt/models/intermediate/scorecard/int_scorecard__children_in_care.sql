{#- Children in care and care leavers measures (SCORECARD.md) for the figure months: one row per
    measure and month, numerator (the count for count measures) and denominator (NULL for count
    measures), counted from int_scorecard__members (the records behind each figure): this model
    only counts. Every measure but the care-leaver ones comes from extract M; the care-leaver
    measures (snapshot measures) for month X come from extract X and are 'no_data' (numerator
    and denominator NULL) when extract X has not been loaded. No members give 0. -#}
{#- (measure_id, has a denominator[, gate column of `months`, availability when it is false]) -#}
{%- set measures = [
    ('cla_3plus_placements_pct', true),
    ('cla_reviews_on_time_pct', true),
    ('returned_home', false),
    ('ceased_sgo_pct', true),
    ('purchased_residential', false),
    ('care_leavers_eet_pct', true, 'is_extract_loaded', 'no_data'),
    ('care_leavers_suitable_accom_pct', true, 'is_extract_loaded', 'no_data'),
    ('care_leavers_in_touch_pct', true, 'is_extract_loaded', 'no_data'),
] %}

with

loaded_extracts as (

    select distinct extracts.extract_month
    from {{ source('ssd', 'extracts') }} as extracts

),

months as (

    select
        months.month,
        -- snapshot measures: nothing to count when the month's own extract was never loaded
        loaded_extracts.extract_month is not null as is_extract_loaded
    from {{ ref('int_scorecard__figure_months') }} as months
    left join loaded_extracts
        on months.month = loaded_extracts.extract_month

),

member_counts as (

    {{ member_counts(measures) }}

)

{{ measure_counts(measures) }}
