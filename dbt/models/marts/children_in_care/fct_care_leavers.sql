{#- One row per care leaver per extract month, across every loaded extract up to M:
    ssd_care_leavers holds only the current state, so each month's care-leaver figures come from
    that month's own extract (SCORECARD.md, snapshot measures). Age is taken on the extract month's last day from
    the exact date of birth in the same extract's ssd_person. -#}
with

care_leavers as (

    select
        care_leavers.clea_table_id,
        care_leavers.clea_person_id,
        care_leavers.clea_care_leaver_eligibility,
        care_leavers.clea_care_leaver_in_touch,
        care_leavers.clea_care_leaver_latest_contact,
        care_leavers.clea_care_leaver_accommodation,
        care_leavers.clea_care_leaver_accom_suitable,
        care_leavers.clea_care_leaver_activity,
        care_leavers.extract_month,
        cast({{ dbt.last_day('care_leavers.extract_month', 'month') }} as date) as month_end
    from {{ ref('stg_ssd__care_leavers') }} as care_leavers
    where care_leavers.extract_month <= {{ extract_month() }}

),

persons as (

    select
        persons.pers_person_id,
        persons.pers_dob,
        persons.extract_month
    from {{ ref('stg_ssd__person') }} as persons
    where persons.extract_month <= {{ extract_month() }}

),

aged as (

    select
        care_leavers.*,
        persons.pers_dob,
        -- completed years on the month end: a birthday falling on the month end counts; born
        -- 29 February, the birthday in a common year is 1 March
        extract(year from care_leavers.month_end) - extract(year from persons.pers_dob)
        - case
            when
                extract(month from care_leavers.month_end) < extract(month from persons.pers_dob)
                or (
                    extract(month from care_leavers.month_end) = extract(month from persons.pers_dob)
                    and extract(day from care_leavers.month_end) < extract(day from persons.pers_dob)
                )
                then 1
            else 0
        end as age_at_month_end
    from care_leavers
    left join persons
        on
            care_leavers.clea_person_id = persons.pers_person_id
            and care_leavers.extract_month = persons.extract_month

),

flagged as (

    select
        aged.*,
        coalesce(aged.age_at_month_end between 17 and 21, false) as is_aged_17_to_21,
        coalesce(aged.clea_care_leaver_in_touch = 'DIED', false) as has_died
    from aged

)

select
    flagged.clea_table_id as care_leaver_id,
    {{ pseudonymise('flagged.clea_person_id') }} as child_key,
    flagged.extract_month,
    flagged.month_end,
    cast(flagged.age_at_month_end as integer) as age_at_month_end,
    flagged.clea_care_leaver_eligibility as eligibility,
    eligibilities.description as eligibility_description,
    flagged.clea_care_leaver_in_touch as in_touch,
    in_touch_codes.description as in_touch_description,
    flagged.clea_care_leaver_latest_contact as latest_contact_date,
    flagged.clea_care_leaver_accommodation as accommodation,
    accommodations.description as accommodation_description,
    flagged.clea_care_leaver_activity as activity,
    activities.description as activity_description,
    flagged.is_aged_17_to_21,
    flagged.has_died,
    coalesce(flagged.clea_care_leaver_in_touch = 'YES', false) as is_in_touch,
    coalesce(
        flagged.clea_care_leaver_activity in ('F1', 'P1', 'F2', 'P2', 'F4', 'P4', 'F5', 'P5'), false
    ) as is_eet,
    coalesce(flagged.clea_care_leaver_accom_suitable, false) as is_suitable_accommodation,
    -- SCORECARD.md: care leavers aged 17-21 on E, excluding in-touch DIED
    flagged.is_aged_17_to_21 and not flagged.has_died as in_scorecard_denominator
from flagged
{{ join_code('care_leaver_eligibility', 'flagged.clea_care_leaver_eligibility', 'eligibilities') }}
{{ join_code('care_leaver_in_touch', 'flagged.clea_care_leaver_in_touch', 'in_touch_codes') }}
{{ join_code('care_leaver_accommodation', 'flagged.clea_care_leaver_accommodation', 'accommodations') }}
{{ join_code('care_leaver_activity', 'flagged.clea_care_leaver_activity', 'activities') }}
