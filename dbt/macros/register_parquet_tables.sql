{#- Spark: make Parquet folders the tables of the catalog, for the raw layer (and the key table
    private.pseudonym_key) that the models read. A region's ingest writes each table as a folder of
    Parquet files, <root>/<schema>/<table>/ (DuckDB: COPY raw.<table> TO '<folder>/part-0.parquet'
    (FORMAT parquet)); this registers each as an external table <schema>.<table>, replacing the
    table of that name (dropping an external table leaves its files alone; the schemas named here
    must hold only these tables, since dropping a managed one deletes its data). Run it before the
    first build and whenever a table is added:

        dbt run-operation register_parquet_tables --target spark \
            --args '{root: /data/csc/parquet, schemas: {raw: [ssd_contacts, ...], private: [pseudonym_key]}}'
-#}
{% macro register_parquet_tables(root, schemas) %}
    {%- if target.type not in ('spark', 'databricks') -%}
        {{ exceptions.raise_compiler_error('register_parquet_tables is for Spark or Databricks, not ' ~ target.type) }}
    {%- endif -%}
    {%- for schema, tables in schemas.items() -%}
        {%- do run_query('create schema if not exists `' ~ schema ~ '`') -%}
        {%- for table in tables -%}
            {%- set name = '`' ~ schema ~ '`.`' ~ table ~ '`' -%}
            {%- set location = (root ~ '/' ~ schema ~ '/' ~ table).replace("\\", "\\\\").replace("'", "\\'") -%}
            {%- do run_query('drop table if exists ' ~ name) -%}
            {%- do run_query('create table ' ~ name ~ " using parquet location '" ~ location ~ "'") -%}
        {%- endfor -%}
        {{ log('registered ' ~ (tables | length) ~ ' tables of schema ' ~ schema, info=true) }}
    {%- endfor -%}
{% endmacro %}
