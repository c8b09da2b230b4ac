{#- The double-precision float type, spelt as each engine wants it (Spark: double). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'csc_warehouse')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}
