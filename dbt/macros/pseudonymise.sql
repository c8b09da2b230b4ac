{#- Pseudonymised key of a person: lower-case hex SHA-256 of '<key>|<person id>'. The same id
    always gives the same key, so facts join on child_key; without the key the id cannot be
    recovered by hashing guesses. NULL id gives NULL. Adapter-dispatched: add
    <adapter>__pseudonymise for a new engine.

    The key is read AT RUN TIME from the one-row table private.pseudonym_key of the working
    warehouse, which the pipeline writes from $CSC_PSEUDONYM_KEY before dbt runs (Python:
    dagster_project.models.pseudonym.ensure_pseudonym_key). So the key is never part of
    the compiled SQL (target/compiled, target/run, manifest.json, the published docs site), and
    the private schema is never copied into the analysts' warehouse. A missing or empty key
    table makes the model fail (DuckDB: error()), never hash with an empty key.

    Fallback, only for `dbt build` / `dbt run` against a warehouse the pipeline has not prepared
    (a bare dbt invocation): the key from $CSC_PSEUDONYM_KEY (default: the published demo key)
    as a literal, with a warning - that compiled SQL then holds the key. -#}
{% macro pseudonym_key_relation() -%}
    private.pseudonym_key
{%- endmacro %}

{% macro pseudonym_key_literal() -%}
    '{{ env_var("CSC_PSEUDONYM_KEY", "csc-warehouse-demo-key") | replace("'", "''") }}'
{%- endmacro %}

{% macro pseudonym_key_sql() -%}
    {%- set key_from_table = '(select pseudonym_key.key from ' ~ pseudonym_key_relation() ~ ' as pseudonym_key)' -%}
    {%- if execute and flags.WHICH in ('build', 'run') -%}
        {%- set relation = adapter.get_relation(
            database=target.database, schema='private', identifier='pseudonym_key') -%}
        {%- if relation is none -%}
            {%- do exceptions.warn('pseudonymise: ' ~ pseudonym_key_relation() ~ ' does not exist; the key is '
                ~ 'written into the compiled SQL of ' ~ model.name ~ '. Run through the pipeline (it creates '
                ~ 'the table) to keep the key out of compiled SQL.') -%}
            {{- return(pseudonym_key_literal()) -}}
        {%- endif -%}
    {%- endif -%}
    {{- return(key_from_table) -}}
{%- endmacro %}

{% macro pseudonymise(column) -%}
    {{ return(adapter.dispatch('pseudonymise', 'csc_warehouse')(column)) }}
{%- endmacro %}

{% macro default__pseudonymise(column) -%}
    case
        when {{ pseudonym_key_sql() }} is null then error('pseudonymise: the pseudonymisation key is not set')
        else sha256({{ pseudonym_key_sql() }} || '|' || {{ column }})
    end
{%- endmacro %}

{% macro postgres__pseudonymise(column) -%}
    encode(sha256(convert_to({{ pseudonym_key_sql() }} || '|' || {{ column }}, 'UTF8')), 'hex')
{%- endmacro %}
