{#- Fails on every row where the boolean SQL expression is not true (NULL counts as a failure
    unless the expression handles it). Restrict the rows checked with the
    standard test config `where`. Usage:
        data_tests:
          - expression_is_true:
              arguments: {expression: "numerator <= denominator"}
    On a column, the expression is applied to the column: expression: ">= 0". -#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where
    not coalesce(({{ column_name ~ ' ' if column_name is not none else '' }}{{ expression }}), false)

{% endtest %}
