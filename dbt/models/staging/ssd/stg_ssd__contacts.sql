{#- ssd_contacts: valid rows of every loaded snapshot, SSD column names kept. -#}
with

source as (

    select * from {{ source('ssd', 'ssd_contacts') }}

),

renamed as (

    select
        -- ids
        source.cont_contact_id,
        source.cont_person_id,
        -- codes
        source.cont_contact_source_code,
        -- dates
        source.cont_contact_date,
        source.cont_contact_decision_date,
        -- outcome flags parsed from cont_contact_outcome_json (COMMENTS never selected)
        {{ to_flag(json_text('source.cont_contact_outcome_json', 'NEW_REFERRAL_FLAG')) }}
            as cont_new_referral_flag,
        {{ to_flag(json_text('source.cont_contact_outcome_json', 'EXISTING_REFERRAL_FLAG')) }}
            as cont_existing_referral_flag,
        {{ to_flag(json_text('source.cont_contact_outcome_json', 'CP_ENQUIRY_FLAG')) }}
            as cont_cp_enquiry_flag,
        {{ to_flag(json_text('source.cont_contact_outcome_json', 'NFA_FLAG')) }}
            as cont_nfa_flag,
        {{ to_flag(json_text('source.cont_contact_outcome_json', 'NON_AGENCY_ADOPTION_FLAG')) }}
            as cont_non_agency_adoption_flag,
        {{ to_flag(json_text('source.cont_contact_outcome_json', 'PRIVATE_FOSTERING_FLAG')) }}
            as cont_private_fostering_flag,
        {{ to_flag(json_text('source.cont_contact_outcome_json', 'ADVICE_FLAG')) }}
            as cont_advice_flag,
        {{ to_flag(json_text('source.cont_contact_outcome_json', 'MISSING_FLAG')) }}
            as cont_missing_flag,
        {{ to_flag(json_text('source.cont_contact_outcome_json', 'OLA_CP_FLAG')) }}
            as cont_ola_cp_flag,
        {{ to_flag(json_text('source.cont_contact_outcome_json', 'OTHER_OUTCOMES_EXIST_FLAG')) }}
            as cont_other_outcomes_exist_flag,
        {{ dbt.safe_cast(json_text('source.cont_contact_outcome_json', 'NUMBER_OF_OUTCOMES'), 'integer') }}
            as cont_number_of_outcomes,
        -- snapshot
        source._extract_month as extract_month,
        source._row_number as source_row_number
    from source
    where source._is_valid

)

select * from renamed
