{#- Working days (SCORECARD.md, "Working days"): WD(a, b) is the number of working days d with
    a < d <= b. dim_date.working_day_number counts working days up to and including each day, so

        WD(a, b) = working_day_number(b) - working_day_number(a)

    Join pattern (each WD is computed once, in the fact that owns it):

        from {{ ref('stg_...') }} as e
        {{ join_working_day('e.start_date', 'wd_start') }}
        {{ join_working_day('e.end_date', 'wd_end') }}
        select {{ working_days_between('wd_start', 'wd_end') }} as working_days_to_x

    The joins are left joins: a NULL date (or one outside dim_date's range) gives a NULL WD.
    The caller decides what a NULL means for its measure. -#}
{% macro join_working_day(date_column, alias) -%}
    left join {{ ref('dim_date') }} as {{ alias }} on {{ date_column }} = {{ alias }}.date_day
{%- endmacro %}

{% macro working_days_between(start_alias, end_alias) -%}
    ({{ end_alias }}.working_day_number - {{ start_alias }}.working_day_number)
{%- endmacro %}
