{#- The combination of the listed columns is unique (a compound key). Usage:
        data_tests:
          - unique_combination_of_columns:
              arguments: {combination_of_columns: [measure_id, month]} -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as n_records
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
