{#- The records listed behind the figures are exactly as many as the figures count: for every
    measure and month of `figures` (fct_scorecard or int_scorecard__figures), the number of the
    model's rows (fct_scorecard_members or int_scorecard__members) of that measure, month and
    part is the numerator (for a count measure, the count) and the denominator (0 rows when the
    figure is NULL: not available, no data, or a count measure's denominator); and no row of the
    model belongs to a measure and month that `figures` does not have. Returns one row per
    disagreement. Usage (a model-level test on the member model):
        data_tests:
          - members_match_figures:
              arguments:
                figures: ref('fct_scorecard') -#}
{% test members_match_figures(model, figures) %}

with

member_counts as (

    select
        members.measure_id,
        members.month,
        members.part,
        count(*) as members
    from {{ model }} as members
    group by members.measure_id, members.month, members.part

),

figures as (

    select
        figures.measure_id,
        figures.month,
        figures.numerator,
        figures.denominator
    from {{ figures }} as figures

)

select
    figures.measure_id,
    figures.month,
    figures.numerator,
    figures.denominator,
    numerators.members as numerator_members,
    denominators.members as denominator_members
from figures
left join member_counts as numerators
    on
        figures.measure_id = numerators.measure_id
        and figures.month = numerators.month
        and numerators.part = 'numerator'
left join member_counts as denominators
    on
        figures.measure_id = denominators.measure_id
        and figures.month = denominators.month
        and denominators.part = 'denominator'
where
    coalesce(figures.numerator, 0) <> coalesce(numerators.members, 0)
    or coalesce(figures.denominator, 0) <> coalesce(denominators.members, 0)

union all

select
    member_counts.measure_id,
    member_counts.month,
    null as numerator,
    null as denominator,
    member_counts.members as numerator_members,
    null as denominator_members
from member_counts
where not exists (
    select 1
    from figures
    where
        figures.measure_id = member_counts.measure_id
        and figures.month = member_counts.month
)

{% endtest %}
