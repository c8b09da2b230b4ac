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

{% macro spark__json_text(column, key) -%}
    get_json_object({{ column }}, '$.{{ key }}')
{%- endmacro %}

{#- Several top-level keys of one JSON object, parsing the text once (DuckDB parses the JSON
    text again for every json_extract_string call: ten flags of one column cost ten parses).
    json_texts(column, keys) is the parsed value, to select once (in a CTE) as a column;
    json_texts_item(parsed, keys, key) reads one key's text from that column (NULL when absent),
    exactly as json_text(column, key) would. -#}
{% macro json_texts(column, keys) -%}
    {{ return(adapter.dispatch('json_texts', 'csc_warehouse')(column, keys)) }}
{%- endmacro %}

{% macro default__json_texts(column, keys) -%}
    json_extract_string({{ column }}, [{% for key in keys %}'$.{{ key }}'{% if not loop.last %}, {% endif %}{% endfor %}])
{%- endmacro %}

{% macro postgres__json_texts(column, keys) -%}
    cast({{ column }} as json)
{%- endmacro %}

{#- Spark: the object as a map of text values (a number or true/false keeps its JSON text) -#}
{% macro spark__json_texts(column, keys) -%}
    from_json({{ column }}, 'map<string, string>')
{%- endmacro %}

{% macro json_texts_item(parsed, keys, key) -%}
    {{ return(adapter.dispatch('json_texts_item', 'csc_warehouse')(parsed, keys, key)) }}
{%- endmacro %}

{% macro default__json_texts_item(parsed, keys, key) -%}
    {{ parsed }}[{{ keys.index(key) + 1 }}]
{%- endmacro %}

{% macro postgres__json_texts_item(parsed, keys, key) -%}
    ({{ parsed }} ->> '{{ key }}')
{%- endmacro %}

{% macro spark__json_texts_item(parsed, keys, key) -%}
    try_element_at({{ parsed }}, '{{ key }}')
{%- endmacro %}
