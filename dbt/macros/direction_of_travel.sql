{#- Direction of travel of a figure against an earlier one, read with the measure's polarity
    (SCORECARD.md "What good looks like"): 'same' when the two values are equal, 'better' when
    the value moved the way good looks like (up for High, down for Low), 'worse' when it moved
    the other way; NULL when either value (or the polarity) is missing. -#}
{% macro direction_of_travel(value, earlier_value, polarity) -%}
    case
        when {{ value }} is null or {{ earlier_value }} is null then null
        when {{ value }} = {{ earlier_value }} then 'same'
        when {{ polarity }} = 'High' and {{ value }} > {{ earlier_value }} then 'better'
        when {{ polarity }} = 'Low' and {{ value }} < {{ earlier_value }} then 'better'
        when {{ polarity }} in ('High', 'Low') then 'worse'
    end
{%- endmacro %}
