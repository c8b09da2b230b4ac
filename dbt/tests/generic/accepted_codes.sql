{#- Every non-NULL value of the column is a code of list `code_list` in the ssd_code_lists seed,
    so the code lists are written down once (seeds/ssd_code_lists.csv). Usage:
        data_tests:
          - accepted_codes:
              arguments: {code_list: contact_source}
    Optional `extra_codes` (a list) allows values outside the list (e.g. derived codes). -#}
{% test accepted_codes(model, column_name, code_list, extra_codes=[]) %}

with

code_values as (

    select code_lists.code
    from {{ ref('ssd_code_lists') }} as code_lists
    where code_lists.code_list = '{{ code_list }}'

),

checked as (

    select {{ column_name }} as value_checked
    from {{ model }}
    where {{ column_name }} is not null

)

select
    checked.value_checked,
    count(*) as n_records
from checked
where
    checked.value_checked not in (select code_values.code from code_values)
    {% for extra in extra_codes -%}
        and checked.value_checked <> '{{ extra }}'
    {% endfor %}
group by checked.value_checked

{% endtest %}
