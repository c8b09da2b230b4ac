{#- A flag value as a boolean. The extract contract accepts Y/N, Yes/No, TRUE/FALSE and 1/0 in
    any case (surrounding spaces ignored); anything else, and empty, is NULL. Works on text and
    on booleans already typed by the ingest (they are cast to text first). -#}
{% macro to_flag(expression) -%}
    case
        when upper(trim(cast({{ expression }} as {{ dbt.type_string() }}))) in ('Y', 'YES', 'TRUE', '1') then true
        when upper(trim(cast({{ expression }} as {{ dbt.type_string() }}))) in ('N', 'NO', 'FALSE', '0') then false
    end
{%- endmacro %}
