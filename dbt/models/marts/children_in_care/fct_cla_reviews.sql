{#- One row per children-in-care review of extract M. On time: held on or before its due date
    (SCORECARD.md, cla_reviews_on_time_pct). -#}
with

reviews as (

    select
        reviews.clar_cla_review_id,
        reviews.clar_cla_id,
        reviews.clar_cla_review_due_date,
        reviews.clar_cla_review_date,
        reviews.clar_cla_review_cancelled,
        reviews.extract_month,
        {{ pseudonymise('reviews.clar_cla_person_id') }} as child_key
    from {{ ref('stg_ssd__cla_reviews') }} as reviews
    where reviews.extract_month = {{ extract_month() }}

)

select
    reviews.clar_cla_review_id as cla_review_id,
    reviews.child_key,
    reviews.extract_month,
    reviews.clar_cla_id as cla_id,
    reviews.clar_cla_review_due_date as due_date,
    reviews.clar_cla_review_date as review_date,
    cast({{ dbt.date_trunc('month', 'reviews.clar_cla_review_date') }} as date) as review_month,
    -- an empty cancelled flag means not cancelled
    coalesce(reviews.clar_cla_review_cancelled, false) as is_cancelled,
    coalesce(reviews.clar_cla_review_date <= reviews.clar_cla_review_due_date, false) as is_on_time
from reviews
