{#- Types and casts that engines spell differently. The double-precision float type (Spark: double). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'csc_warehouse')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}

{#- dbt.safe_cast on Spark: dbt-spark's is a plain cast, which in Spark 4's ANSI mode fails the
    whole query on one value that does not convert (DuckDB's try_cast gives NULL). try_cast gives
    NULL there too. -#}
{% macro spark__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
