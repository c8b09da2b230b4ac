{#- One row per legal status of extract M. V3/V4 (a series of short breaks) take the child out
    of "looked after" for the days they cover (SCORECARD.md). -#}
with

legal_statuses as (

    select
        legal_statuses.lega_legal_status_id,
        legal_statuses.lega_legal_status,
        legal_statuses.lega_legal_status_start_date,
        legal_statuses.lega_legal_status_end_date,
        legal_statuses.extract_month,
        {{ pseudonymise('legal_statuses.lega_person_id') }} as child_key
    from {{ ref('stg_ssd__legal_status') }} as legal_statuses
    where legal_statuses.extract_month = {{ extract_month() }}

)

select
    legal_statuses.lega_legal_status_id as legal_status_id,
    legal_statuses.child_key,
    legal_statuses.extract_month,
    legal_statuses.lega_legal_status as legal_status,
    legal_status_codes.description as legal_status_description,
    legal_statuses.lega_legal_status_start_date as start_date,
    legal_statuses.lega_legal_status_end_date as end_date,
    cast({{ dbt.date_trunc('month', 'legal_statuses.lega_legal_status_start_date') }} as date) as start_month,
    cast({{ dbt.date_trunc('month', 'legal_statuses.lega_legal_status_end_date') }} as date) as end_month,
    legal_statuses.lega_legal_status in ('V3', 'V4') as is_short_break,
    (
        legal_statuses.lega_legal_status_start_date <= cast({{ dbt.last_day(extract_month(), 'month') }} as date)
        and (
            legal_statuses.lega_legal_status_end_date is null
            or legal_statuses.lega_legal_status_end_date > cast({{ dbt.last_day(extract_month(), 'month') }} as date)
        )
    ) as is_open_at_extract_month_end
from legal_statuses
{{ join_code('legal_status', 'legal_statuses.lega_legal_status', 'legal_status_codes') }}
