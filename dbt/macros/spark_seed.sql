{#- Spark seeds: dbt-spark 1.11's session connection pastes each seed value into the SQL as
    '<value>' with no escaping, so a value with a quote (Children's) is a syntax error and an empty
    cell (None) becomes the text 'None'. This replaces its load_csv_rows with literals written
    here: NULL for an empty cell, quotes and backslashes escaped, numbers and booleans as
    themselves. dbt looks in the root project first under every adapter prefix, so this also
    serves dbt-spark's other connection methods and dbt-databricks (plain INSERT ... VALUES,
    valid on both). -#}
{% macro spark__load_csv_rows(model, agate_table) -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set types = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- do types.append(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set values = [] -%}
        {%- for row in chunk -%}
            {%- set literals = [] -%}
            {%- for type in types -%}
                {%- do literals.append('cast(' ~ spark_seed_literal(row[loop.index0]) ~ ' as ' ~ type ~ ')') -%}
            {%- endfor -%}
            {%- do values.append('(' ~ literals | join(', ') ~ ')') -%}
        {%- endfor -%}
        {%- set sql = 'insert into ' ~ this.render() ~ ' values ' ~ values | join(', ') -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- do statements.append(sql) if loop.first -%}
    {%- endfor -%}
    {{- return(statements[0]) -}}
{%- endmacro %}

{% macro spark_seed_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is sameas true or value is sameas false -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is number -%}
        {{ value }}
    {%- else -%}
        '{{ (value | string).replace("\\", "\\\\").replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
