{#- Pseudonymised key of a person: lower-case hex SHA-256 of '<key>|<person id>'. The same id
    always gives the same key, so facts join on child_key; without the key the id cannot be
    recovered by hashing guesses. NULL id gives NULL. Adapter-dispatched: add
    <adapter>__pseudonymise for a new engine.

    The key is read AT RUN TIME from a one-row table that only the connection holds:
    DuckDB: csc_key.pseudonym_key, an in-memory database the dbt-duckdb plugin
    dagster_project.models.key_plugin attaches from $CSC_PSEUDONYM_KEY / $CSC_PSEUDONYM_KEY_FILE
    (dagster_project/pseudonym.py). So the key is in no compiled SQL (target/compiled,
    target/run, manifest.json, the published docs site) and in no warehouse file. There is no
    default key: without one the table is empty and the model fails (error()), never hashing
    with an empty key. PostgreSQL and Spark: the table private.pseudonym_key of the target
    database (catalog). -#}
{% macro pseudonym_key_relation() -%}
    {{ return(adapter.dispatch('pseudonym_key_relation', 'csc_warehouse')()) }}
{%- endmacro %}

{% macro default__pseudonym_key_relation() -%}
    private.pseudonym_key
{%- endmacro %}

{% macro duckdb__pseudonym_key_relation() -%}
    csc_key.pseudonym_key
{%- endmacro %}

{% macro pseudonym_key_sql() -%}
    (select pseudonym_key.key from {{ pseudonym_key_relation() }} as pseudonym_key)
{%- endmacro %}

{% macro pseudonymise(column) -%}
    {{ return(adapter.dispatch('pseudonymise', 'csc_warehouse')(column)) }}
{%- endmacro %}

{% macro default__pseudonymise(column) -%}
    case
        when {{ pseudonym_key_sql() }} is null
            then error('pseudonymise: the pseudonymisation key is not set (CSC_PSEUDONYM_KEY or CSC_PSEUDONYM_KEY_FILE)')
        else sha256({{ pseudonym_key_sql() }} || '|' || {{ column }})
    end
{%- endmacro %}

{% macro postgres__pseudonymise(column) -%}
    encode(sha256(convert_to({{ pseudonym_key_sql() }} || '|' || {{ column }}, 'UTF8')), 'hex')
{%- endmacro %}

{% macro spark__pseudonymise(column) -%}
    case
        when {{ pseudonym_key_sql() }} is null
            then raise_error('pseudonymise: the pseudonymisation key is not set (private.pseudonym_key is empty)')
        else sha2(concat({{ pseudonym_key_sql() }}, '|', {{ column }}), 256)
    end
{%- endmacro %}
