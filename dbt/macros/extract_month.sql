{#- The extract month being built (var extract_month, 'YYYY-MM-DD', first of the month) as a
    DATE literal expression. -#}
{% macro extract_month() -%}
    cast('{{ var("extract_month") }}' as date)
{%- endmacro %}
