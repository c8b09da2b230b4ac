{#- The extract month being built ('YYYY-MM-DD', first of the month) as a DATE literal expression.
    From var extract_month when given (dbt unit tests, hand-run builds), else from the environment
    variable CSC_EXTRACT_MONTH, which the pipeline sets: a changed var makes dbt re-parse the whole
    project. The month is read only when dbt executes (compiles for a build), never while it
    parses, so dbt's partial parsing does not record the variable and a new month re-parses nothing
    (docs/decisions.md); nothing a parse captures (refs, sources, configs) depends on the month. -#}
{% macro extract_month() -%}
    {%- set month = var("extract_month", env_var("CSC_EXTRACT_MONTH", "")) if execute else "" -%}
    {%- if execute and not month -%}
        {{ exceptions.raise_compiler_error(
            "No extract month: the pipeline sets CSC_EXTRACT_MONTH; by hand, pass "
            ~ "--vars '{extract_month: \"YYYY-MM-01\"}'") }}
    {%- endif -%}
    cast('{{ month }}' as date)
{%- endmacro %}

{#- Whether extract M carries an optional table or column (stg_ssd__extract_features; a feature
    with no row there gives NULL, which callers read as absent): the one-row select behind the
    scorecard's 'not_available' gates, shared by the area models and their member lists. -#}
{% macro extract_feature_available(feature) -%}
    select bool_or(features.available) as is_available
    from {{ ref('stg_ssd__extract_features') }} as features
    where
        features.extract_month = {{ extract_month() }}
        and features.feature = '{{ feature }}'
{%- endmacro %}
