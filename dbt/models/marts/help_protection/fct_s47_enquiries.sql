{#- Section 47 enquiries of extract M, one row per enquiry. -#}
with

enquiries as (

    select
        enquiries.s47e_s47_enquiry_id,
        enquiries.s47e_person_id,
        enquiries.s47e_referral_id,
        enquiries.s47e_s47_start_date,
        enquiries.s47e_s47_end_date,
        enquiries.extract_month
    from {{ ref('stg_ssd__s47_enquiry') }} as enquiries
    where enquiries.extract_month = {{ extract_month() }}

),

conferences as (

    select
        conferences.icpc_s47_enquiry_id,
        count(*) as n_conferences
    from {{ ref('stg_ssd__initial_cp_conference') }} as conferences
    where
        conferences.extract_month = {{ extract_month() }}
        and conferences.icpc_s47_enquiry_id is not null
    group by conferences.icpc_s47_enquiry_id

)

select
    enquiries.s47e_s47_enquiry_id as s47_enquiry_id,
    {{ pseudonymise('enquiries.s47e_person_id') }} as child_key,
    enquiries.s47e_referral_id as referral_id,
    enquiries.s47e_s47_start_date as start_date,
    cast({{ dbt.date_trunc('month', 'enquiries.s47e_s47_start_date') }} as date) as start_month,
    enquiries.s47e_s47_end_date as end_date,
    conferences.icpc_s47_enquiry_id is not null as led_to_icpc,
    enquiries.extract_month
from enquiries
left join conferences
    on enquiries.s47e_s47_enquiry_id = conferences.icpc_s47_enquiry_id
