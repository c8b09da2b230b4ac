{#- ssd_contacts: valid rows of every loaded snapshot, SSD column names kept. The outcome JSON is
    parsed once per row (json_texts) and its keys read from the parsed value. -#}
{%- set outcome_keys = [
    'NEW_REFERRAL_FLAG', 'EXISTING_REFERRAL_FLAG', 'CP_ENQUIRY_FLAG', 'NFA_FLAG', 'NON_AGENCY_ADOPTION_FLAG',
    'PRIVATE_FOSTERING_FLAG', 'ADVICE_FLAG', 'MISSING_FLAG', 'OLA_CP_FLAG', 'OTHER_OUTCOMES_EXIST_FLAG',
    'NUMBER_OF_OUTCOMES',
] -%}
with

source as (

    select * from {{ source('ssd', 'ssd_contacts') }}

),

parsed as (

    select
        source.cont_contact_id,
        source.cont_person_id,
        source.cont_contact_source_code,
        source.cont_contact_date,
        source.cont_contact_decision_date,
        {{ json_texts('source.cont_contact_outcome_json', outcome_keys) }}
            as outcome,
        source._extract_month,
        source._row_number
    from source
    where source._is_valid

),

renamed as (

    select
        -- ids
        parsed.cont_contact_id,
        parsed.cont_person_id,
        -- codes
        parsed.cont_contact_source_code,
        -- dates
        parsed.cont_contact_date,
        parsed.cont_contact_decision_date,
        -- outcome flags parsed from cont_contact_outcome_json (COMMENTS never selected)
        {{ to_flag(json_texts_item('parsed.outcome', outcome_keys, 'NEW_REFERRAL_FLAG')) }}
            as cont_new_referral_flag,
        {{ to_flag(json_texts_item('parsed.outcome', outcome_keys, 'EXISTING_REFERRAL_FLAG')) }}
            as cont_existing_referral_flag,
        {{ to_flag(json_texts_item('parsed.outcome', outcome_keys, 'CP_ENQUIRY_FLAG')) }}
            as cont_cp_enquiry_flag,
        {{ to_flag(json_texts_item('parsed.outcome', outcome_keys, 'NFA_FLAG')) }}
            as cont_nfa_flag,
        {{ to_flag(json_texts_item('parsed.outcome', outcome_keys, 'NON_AGENCY_ADOPTION_FLAG')) }}
            as cont_non_agency_adoption_flag,
        {{ to_flag(json_texts_item('parsed.outcome', outcome_keys, 'PRIVATE_FOSTERING_FLAG')) }}
            as cont_private_fostering_flag,
        {{ to_flag(json_texts_item('parsed.outcome', outcome_keys, 'ADVICE_FLAG')) }}
            as cont_advice_flag,
        {{ to_flag(json_texts_item('parsed.outcome', outcome_keys, 'MISSING_FLAG')) }}
            as cont_missing_flag,
        {{ to_flag(json_texts_item('parsed.outcome', outcome_keys, 'OLA_CP_FLAG')) }}
            as cont_ola_cp_flag,
        {{ to_flag(json_texts_item('parsed.outcome', outcome_keys, 'OTHER_OUTCOMES_EXIST_FLAG')) }}
            as cont_other_outcomes_exist_flag,
        {{ dbt.safe_cast(json_texts_item('parsed.outcome', outcome_keys, 'NUMBER_OF_OUTCOMES'), 'integer') }}
            as cont_number_of_outcomes,
        -- snapshot
        parsed._extract_month as extract_month,
        parsed._row_number as source_row_number
    from parsed

)

select * from renamed
