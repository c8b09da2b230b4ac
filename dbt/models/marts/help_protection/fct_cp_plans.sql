{#- Child protection plans of extract M, one row per plan. -#}
select
    cp_plans.cppl_cp_plan_id as cp_plan_id,
    {{ pseudonymise('cp_plans.cppl_person_id') }} as child_key,
    cp_plans.cppl_referral_id as referral_id,
    cp_plans.cppl_icpc_id as icpc_id,
    cp_plans.cppl_cp_plan_start_date as start_date,
    cast({{ dbt.date_trunc('month', 'cp_plans.cppl_cp_plan_start_date') }} as date) as start_month,
    cp_plans.cppl_cp_plan_end_date as end_date,
    cp_plans.cppl_cp_plan_initial_category as initial_category,
    categories.description as initial_category_description,
    cp_plans.cppl_cp_plan_end_date is null as is_open,
    cp_plans.extract_month
from {{ ref('stg_ssd__cp_plans') }} as cp_plans
{{ join_code('cp_category', 'cp_plans.cppl_cp_plan_initial_category', 'categories') }}
where cp_plans.extract_month = {{ extract_month() }}
