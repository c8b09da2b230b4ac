{#- A left join to dim_code for one coded column, under an alias: select `<alias>.description`
    beside the code. dim_code has one row per (code_list, code), so the join never repeats a
    row; a code without a description (or NULL) gives a NULL description.

        from {{ ref('stg_...') }} as e
        {{ join_code('placement_type', 'e.clap_cla_placement_type', 'placement_types') }}
        select e.clap_cla_placement_type as placement_type,
               placement_types.description as placement_type_description -#}
{% macro join_code(code_list, code_column, alias) -%}
    left join {{ ref('dim_code') }} as {{ alias }}
        on
            {{ alias }}.code_list = '{{ code_list }}'
            and {{ code_column }} = {{ alias }}.code
{%- endmacro %}
