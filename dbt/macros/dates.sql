{#- Date arithmetic that engines spell differently. DuckDB and PostgreSQL share the default;
    Spark has its own functions (and `date - date` there is an interval, not a number of days). -#}

{#- The number of days from start to end (end - start), a bigint on every engine (DuckDB's type of
    `date - date`; Postgres's is an integer, Spark's datediff an int); NULL when either is NULL. -#}
{% macro days_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between', 'csc_warehouse')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__days_between(start_date, end_date) -%}
    cast({{ end_date }} - {{ start_date }} as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro spark__days_between(start_date, end_date) -%}
    cast(datediff({{ end_date }}, {{ start_date }}) as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- ISO day of the week of a date: Monday = 1 .. Sunday = 7. -#}
{% macro iso_day_of_week(date_expression) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'csc_warehouse')(date_expression)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(date_expression) -%}
    extract(isodow from {{ date_expression }})
{%- endmacro %}

{% macro spark__iso_day_of_week(date_expression) -%}
    extract(dayofweek_iso from {{ date_expression }})
{%- endmacro %}
