{#- The rows of an intermediate scorecard model: for each measure, one select over `monthly`
    (one row per scorecard month) giving measure_id, month, numerator, denominator and
    availability, all unioned. Each measure is (measure_id, numerator column, denominator column
    or none for a count measure[, availability]) where availability is
      - absent or false: always 'available';
      - true: the measure needs an optional extract feature: when the boolean column `gate` of
        `monthly` is false the measure is 'not_available' with NULL numerator and denominator;
      - a string: an SQL expression giving the availability (the figures are taken as they are).
-#}
{% macro measure_rows(measures, gate=none) -%}
    {%- for measure in measures %}
        {%- set measure_id, numerator, denominator = measure[0], measure[1], measure[2] %}
        {%- set option = measure[3] if measure | length > 3 else false %}
        {%- set numerator_sql = 'monthly.' ~ numerator %}
        {%- set denominator_sql = 'monthly.' ~ denominator if denominator else 'null' %}
        {%- set availability_sql = "'available'" %}
        {%- if option is string %}
            {%- set availability_sql = option %}
        {%- elif option %}
            {%- set numerator_sql = 'case when monthly.' ~ gate ~ ' then ' ~ numerator_sql ~ ' end' %}
            {%- if denominator %}
                {%- set denominator_sql = 'case when monthly.' ~ gate ~ ' then ' ~ denominator_sql ~ ' end' %}
            {%- endif %}
            {%- set availability_sql = 'case when monthly.' ~ gate ~ " then 'available' else 'not_available' end" %}
        {%- endif %}
    select
        cast('{{ measure_id }}' as {{ dbt.type_string() }}) as measure_id,
        monthly.month,
        cast({{ numerator_sql }} as {{ dbt.type_bigint() }}) as numerator,
        cast({{ denominator_sql }} as {{ dbt.type_bigint() }}) as denominator,
        cast({{ availability_sql }} as {{ dbt.type_string() }}) as availability
    from monthly
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
