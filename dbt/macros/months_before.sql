{#- The date twelve (n) months before a date, same day-of-month clamped to the end of the
    month (29 Feb -> 28 Feb), as SCORECARD.md's "12 months before". DuckDB and Postgres both
    clamp when subtracting a month interval; dbt.dateadd keeps it cross-database. -#}
{% macro months_before(date_expression, months=12) -%}
    cast({{ dbt.dateadd('month', -1 * months, date_expression) }} as date)
{%- endmacro %}
