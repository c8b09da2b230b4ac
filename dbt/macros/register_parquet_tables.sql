{#- Spark: make Parquet folders the tables of the catalog, for the raw layer (and the key table
    private.pseudonym_key) that the models read. A region's ingest writes each table as a folder of
    Parquet files, <root>/<schema>/<table>/ (DuckDB: COPY raw.<table> TO '<folder>/part-0.parquet'
    (FORMAT parquet)); this registers each as an external table <schema>.<table> (dropping one
    later leaves its files alone). Run it before the first build and whenever a table is added:

        dbt run-operation register_parquet_tables --target spark \
            --args '{root: /data/csc/parquet, schemas: {raw: [ssd_contacts, ...], private: [pseudonym_key]}}'
-#}
{% macro register_parquet_tables(root, schemas) %}
    {%- if target.type != 'spark' -%}
        {{ exceptions.raise_compiler_error('register_parquet_tables is for the spark target, not ' ~ target.type) }}
    {%- endif -%}
    {%- for schema, tables in schemas.items() -%}
        {%- do run_query('create schema if not exists ' ~ schema) -%}
        {%- for table in tables -%}
            {%- set location = root ~ '/' ~ schema ~ '/' ~ table -%}
            {%- do run_query('drop table if exists ' ~ schema ~ '.' ~ table) -%}
            {%- do run_query('create table ' ~ schema ~ '.' ~ table ~ " using parquet location '" ~ location ~ "'") -%}
        {%- endfor -%}
        {{ log('registered ' ~ (tables | length) ~ ' tables of schema ' ~ schema, info=true) }}
    {%- endfor -%}
{% endmacro %}
