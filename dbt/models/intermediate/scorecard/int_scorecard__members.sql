{#- Every record behind every scorecard figure of the figure months (int_scorecard__figure_months),
    from extract M: one row per measure, month, part (numerator or denominator) and record, the
    union of the four area member models. The area scorecard models count these rows, so a figure
    and its list of records cannot disagree; fct_scorecard_members publishes the rows of the
    published months. -#}
{%- set areas = [
    'int_scorecard__front_door_members',
    'int_scorecard__missing_members',
    'int_scorecard__help_protection_members',
    'int_scorecard__children_in_care_members',
] %}

with

members as (

    {% for area in areas %}
        select
            area_members.measure_id,
            area_members.month,
            area_members.part,
            area_members.child_key,
            area_members.record_type,
            area_members.record_key,
            area_members.record_date,
            area_members.start_date,
            area_members.end_date,
            area_members.due_date,
            area_members.working_days,
            area_members.detail
        from {{ ref(area) }} as area_members
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select
    members.measure_id,
    members.month,
    members.part,
    members.child_key,
    members.record_type,
    members.record_key,
    members.record_date,
    members.start_date,
    members.end_date,
    members.due_date,
    members.working_days,
    members.detail
from members
