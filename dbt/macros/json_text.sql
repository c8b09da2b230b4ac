{#- The text value of a top-level key of a JSON object held in a text column (NULL when the
    key is absent). JSON strings come back unquoted; true/false/numbers as their text. -#}
{% macro json_text(column, key) -%}
    {{ return(adapter.dispatch('json_text', 'csc_warehouse')(column, key)) }}
{%- endmacro %}

{% macro default__json_text(column, key) -%}
    json_extract_string({{ column }}, '$.{{ key }}')
{%- endmacro %}

{% macro postgres__json_text(column, key) -%}
    (cast({{ column }} as json) ->> '{{ key }}')
{%- endmacro %}
