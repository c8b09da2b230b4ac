{#- The rows of a scorecard member model: for each (measure, part) of `parts`, one select over
    the CTE `source` (one row per record) keeping the records that belong to it, all unioned.
    Every member model has the same columns (fct_scorecard_members documents them):

        measure_id, month, part, child_key, record_type, record_key, record_date,
        start_date, end_date, due_date, working_days, detail

    `record` gives the defaults of the source's records: {type, key, month, date} and optionally
    start_date, end_date, due_date, working_days, detail (SQL expressions but `type`, a literal). Each part is a mapping
        {measure, part: 'numerator' | 'denominator', where: SQL condition,
         start_date, end_date, due_date, working_days, detail, key, date: SQL expressions
         overriding the record's (NULL when neither gives one)}
    Count measures have numerator rows only (the count is the numerator). The source has an
    explicit alias: Spark would read `where` in `from source where (...)` as the table's alias. -#}
{% macro scorecard_member_rows(source, record, parts) -%}
    {%- for part in parts %}
        {%- set measure_id = part.measure %}
    select
        cast('{{ measure_id }}' as {{ dbt.type_string() }}) as measure_id,
        cast({{ record.month }} as date) as month,
        cast('{{ part.part }}' as {{ dbt.type_string() }}) as part,
        {{ source }}.child_key,
        cast('{{ record.type }}' as {{ dbt.type_string() }}) as record_type,
        cast({{ part.get('key', record.key) }} as {{ dbt.type_string() }}) as record_key,
        cast({{ part.get('date', record.date) }} as date) as record_date,
        cast({{ part.get('start_date', record.get('start_date', 'null')) }} as date) as start_date,
        cast({{ part.get('end_date', record.get('end_date', 'null')) }} as date) as end_date,
        cast({{ part.get('due_date', record.get('due_date', 'null')) }} as date) as due_date,
        cast({{ part.get('working_days', record.get('working_days', 'null')) }} as {{ dbt.type_int() }}) as working_days,
        cast({{ part.get('detail', record.get('detail', 'null')) }} as {{ dbt.type_string() }}) as detail
    from {{ source }} as {{ source }}
    where ({{ part.where }})
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- The rows of an intermediate scorecard model from the members it counts: for each measure,
    one select over `months` (one row per figure month) with the number of its numerator and
    denominator members in `member_counts` (measure_id, month, part, members), all unioned.
    Each measure is (measure_id, has a denominator[, gate, availability when the gate is false]):
    with a gate (a boolean column of `months`), a month whose gate is false has NULL numerator
    and denominator and that availability ('not_available': an optional table or column absent
    from extract M; 'no_data': a snapshot month whose own extract was never loaded); otherwise
    the figures are the counts (0 when there is no member) and the availability 'available'. -#}
{#- The number of member records per measure, month and part (numerator / denominator) of the
    measures listed: the CTE ``member_counts`` that measure_counts() reads. -#}
{% macro member_counts(measures) -%}
    {%- set measure_ids = measures | map('first') | join("', '") %}
    select
        members.measure_id,
        members.month,
        members.part,
        count(*) as members
    from {{ ref('int_scorecard__members') }} as members
    where members.measure_id in ('{{ measure_ids }}')
    group by members.measure_id, members.month, members.part
{%- endmacro %}

{% macro measure_counts(measures) -%}
    {%- for measure in measures %}
        {%- set measure_id, has_denominator = measure[0], measure[1] %}
        {%- set gate = measure[2] if measure | length > 2 else none %}
        {%- set numerator_sql = 'coalesce(numerators.members, 0)' %}
        {%- set denominator_sql = 'coalesce(denominators.members, 0)' if has_denominator else 'null' %}
        {%- set availability_sql = "'available'" %}
        {%- if gate %}
            {%- set numerator_sql = 'case when months.' ~ gate ~ ' then ' ~ numerator_sql ~ ' end' %}
            {%- if has_denominator %}
                {%- set denominator_sql = 'case when months.' ~ gate ~ ' then ' ~ denominator_sql ~ ' end' %}
            {%- endif %}
            {%- set availability_sql = 'case when months.' ~ gate ~ " then 'available' else '" ~ measure[3] ~ "' end" %}
        {%- endif %}
    select
        cast('{{ measure_id }}' as {{ dbt.type_string() }}) as measure_id,
        months.month,
        cast({{ numerator_sql }} as {{ dbt.type_bigint() }}) as numerator,
        cast({{ denominator_sql }} as {{ dbt.type_bigint() }}) as denominator,
        cast({{ availability_sql }} as {{ dbt.type_string() }}) as availability
    from months
    left join member_counts as numerators
        on
            months.month = numerators.month
            and numerators.measure_id = '{{ measure_id }}'
            and numerators.part = 'numerator'
    left join member_counts as denominators
        on
            months.month = denominators.month
            and denominators.measure_id = '{{ measure_id }}'
            and denominators.part = 'denominator'
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
