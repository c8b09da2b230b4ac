{#- Child protection reviews of extract M (optional table ssd_cp_reviews), one row per review,
    with the row-level flag of cp_reviews_on_time_pct (SCORECARD.md): review date <= due date. -#}
select
    reviews.cppr_cp_review_id as cp_review_id,
    {{ pseudonymise('reviews.cppr_person_id') }} as child_key,
    reviews.cppr_cp_plan_id as cp_plan_id,
    reviews.cppr_cp_review_due as due_date,
    reviews.cppr_cp_review_date as review_date,
    cast({{ dbt.date_trunc('month', 'reviews.cppr_cp_review_date') }} as date) as review_month,
    coalesce(reviews.cppr_cp_review_date <= reviews.cppr_cp_review_due, false) as is_on_time,
    reviews.extract_month
from {{ ref('stg_ssd__cp_reviews') }} as reviews
where reviews.extract_month = {{ extract_month() }}
