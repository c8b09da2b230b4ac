{#- The records behind every published figure of the scorecard built from extract M: one row per
    measure, month M-11 .. M, part (numerator or denominator) and record, the published months of
    int_scorecard__members, which the area scorecard models count to make the figures (so the
    list and the figure cannot disagree; a test checks every count against fct_scorecard). Count
    measures have numerator rows only (the count is the numerator). -#}
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
    members.detail,
    {{ extract_month() }} as extract_month
from {{ ref('int_scorecard__members') }} as members
inner join {{ ref('int_scorecard__months') }} as months
    on members.month = months.month
