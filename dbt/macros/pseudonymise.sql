{#- Pseudonymised key of a person: lower-case hex SHA-256 of '<key>|<person id>', the key coming
    from $CSC_PSEUDONYM_KEY (the demo uses the published default). The same id always gives the
    same key, so facts join on child_key; without the key the id cannot be recovered by hashing
    guesses. NULL id gives NULL. Adapter-dispatched: add <adapter>__pseudonymise for a new engine. -#}
{% macro pseudonym_key_literal() -%}
    '{{ env_var("CSC_PSEUDONYM_KEY", "csc-warehouse-demo-key") | replace("'", "''") }}'
{%- endmacro %}

{% macro pseudonymise(column) -%}
    {{ return(adapter.dispatch('pseudonymise', 'csc_warehouse')(column)) }}
{%- endmacro %}

{% macro default__pseudonymise(column) -%}
    sha256({{ pseudonym_key_literal() }} || '|' || {{ column }})
{%- endmacro %}

{% macro postgres__pseudonymise(column) -%}
    encode(sha256(convert_to({{ pseudonym_key_literal() }} || '|' || {{ column }}, 'UTF8')), 'hex')
{%- endmacro %}
