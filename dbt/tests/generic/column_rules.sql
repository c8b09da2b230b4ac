{#- Many rules of one model checked by one test: one dbt node (one Dagster asset check) per
    model instead of one per rule. Each rule asserts exactly what the single-rule test of the
    same name asserts (dbt's not_null, unique, accepted_values, relationships; our
    accepted_codes and expression_is_true), with its own optional `where` (like a test's
    `where` config). The test returns one row per broken rule (rule, rule_target, failing_rows)
    and passes when it returns none. Usage (a model-level test):
        data_tests:
          - column_rules:
              name: column_rules_<model>
              arguments:
                key: [contact_id]                      # the model's key: no two rows share it
                not_null: [contact_id, child_key]      # or {column: x, where: "..."} items
                unique: [sort_order]                   # the non-NULL values are distinct
                accepted_codes: {contact_source_code: contact_source}   # column: code list
                accepted_values: {availability: [available, no_data]}   # column: values
                expressions:                           # true on every row (NULL fails)
                  - "end_date >= start_date"           # or {expression, where, column} items
                relationships:                         # every non-NULL value is in to.field
                  - {column: child_key, to: ref('dim_child'), field: child_key}
    key asserts what unique_combination_of_columns asserts (no two rows with equal values in all
    the listed columns, NULLs comparing equal as in GROUP BY); its failing_rows counts the
    duplicated key values. As in dbt's own tests, NULL passes unique, accepted_codes,
    accepted_values and relationships. accepted_codes items may also be {code_list: x, extra_codes: [...]}.
    snapshot / snapshots_through: on a model holding every loaded extract (the staging views), the
    column telling them apart. The test checks the extracts the month's build reads: with snapshot
    only the extract being built (macro extract_month), with snapshots_through every extract up to
    it (a model the marts read over history: dim_child and fct_care_leavers read every earlier
    person and care-leaver extract). Extracts after the month are not the build's. Either needs the
    month, as the models do (a hand-run build passes --vars extract_month). Checking every
    loaded extract made a month's tests grow with the months loaded (a Bradford-sized month's
    staging tests: 0.8 s with one extract loaded, 4.1-4.7 s with 24; 2026-12-07). -#}
{% test column_rules(model, key=[], not_null=[], unique=[], accepted_codes={}, accepted_values={}, expressions=[],
                     relationships=[], snapshot=none, snapshots_through=none) %}

    {%- if snapshot %}
        {%- set model = '(select * from ' ~ model ~ ' where ' ~ snapshot ~ ' = ' ~ extract_month() ~ ')' %}
    {%- elif snapshots_through %}
        {%- set model = '(select * from ' ~ model ~ ' where ' ~ snapshots_through ~ ' <= ' ~ extract_month() ~ ')' %}
    {%- endif %}

    {%- set branches = [] %}

    {%- for item in not_null %}
        {%- set rule = item if item is mapping else {'column': item} %}
        {%- do branches.append(['not_null', rule.column, rule.get('where'), rule.column ~ ' is null']) %}
    {%- endfor %}

    {%- for column in unique %}
        {%- set duplicated = 'select d.' ~ column ~ ' from ' ~ model ~ ' as d where d.' ~ column ~ ' is not null' %}
        {%- set duplicated = duplicated ~ ' group by d.' ~ column ~ ' having count(*) > 1' %}
        {%- do branches.append(['unique', column, none, column ~ ' in (' ~ duplicated ~ ')']) %}
    {%- endfor %}

    {%- for column, spec in accepted_codes.items() %}
        {%- set rule = spec if spec is mapping else {'code_list': spec} %}
        {%- set codes = 'select c.code from ' ~ ref('ssd_code_lists') ~ ' as c' %}
        {%- set codes = codes ~ " where c.code_list = '" ~ rule.code_list ~ "'" %}
        {%- set failing = column ~ ' is not null and ' ~ column ~ ' not in (' ~ codes ~ ')' %}
        {%- for code in rule.get('extra_codes', []) %}
            {%- set failing = failing ~ ' and ' ~ column ~ " <> '" ~ code ~ "'" %}
        {%- endfor %}
        {%- do branches.append(['accepted_codes', column ~ ' in ' ~ rule.code_list, rule.get('where'), failing]) %}
    {%- endfor %}

    {%- for column, values in accepted_values.items() %}
        {%- set quoted = [] %}
        {%- for value in values %}
            {%- do quoted.append("'" ~ (value | string | replace("'", "''")) ~ "'") %}
        {%- endfor %}
        {%- set failing = column ~ ' is not null and ' ~ column ~ ' not in (' ~ quoted | join(', ') ~ ')' %}
        {%- do branches.append(['accepted_values', column, none, failing]) %}
    {%- endfor %}

    {%- for item in expressions %}
        {%- set rule = item if item is mapping else {'expression': item} %}
        {%- set expression = (rule.column ~ ' ' if rule.get('column') else '') ~ rule.expression %}
        {%- set failing = 'not coalesce((' ~ expression ~ '), false)' %}
        {%- do branches.append(['expression_is_true', expression, rule.get('where'), failing]) %}
    {%- endfor %}

    {%- for rule in relationships %}
        {%- set parent = 'select 1 from ' ~ rule.to ~ ' as p where p.' ~ rule.field ~ ' = checked.' ~ rule.column %}
        {%- set failing = rule.column ~ ' is not null and not exists (' ~ parent ~ ')' %}
        {%- set target = rule.column ~ ' -> ' ~ rule.to ~ '.' ~ rule.field %}
        {%- do branches.append(['relationships', target, rule.get('where'), failing]) %}
    {%- endfor %}

    {%- if key %}
        select
            cast('unique_key' as {{ dbt.type_string() }}) as rule,
            cast('{{ key | join(", ") }}' as {{ dbt.type_string() }}) as rule_target,
            count(*) as failing_rows
        from (
            select {{ key | join(', ') }}
            from {{ model }} as keyed
            group by {{ key | join(', ') }}
            having count(*) > 1
        ) as duplicated_keys
        having count(*) > 0
        {% if branches %}union all{% endif %}
    {%- endif %}

    {%- for rule_name, target, where, failing in branches %}
        select
            cast('{{ rule_name }}' as {{ dbt.type_string() }}) as rule,
            cast('{{ target | replace("'", "''") }}' as {{ dbt.type_string() }}) as rule_target,
            count(*) as failing_rows
        from {{ model }} as checked
        where {% if where %}({{ where }}) and {% endif %}({{ failing }})
        having count(*) > 0
        {% if not loop.last %}union all{% endif %}
    {%- else %}
        {%- if not key %}
        select
            cast(null as {{ dbt.type_string() }}) as rule,
            cast(null as {{ dbt.type_string() }}) as rule_target,
            0 as failing_rows
        where 1 = 0
        {%- endif %}
    {%- endfor %}

{% endtest %}
