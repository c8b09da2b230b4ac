{#- Assessments of extract M, one row per assessment, with the row-level flags of
    assessments_45wd_pct and assessments_45wd_from_referral_pct (SCORECARD.md). -#}
with

assessments as (

    select
        assessments.cina_assessment_id,
        assessments.cina_person_id,
        assessments.cina_referral_id,
        assessments.cina_assessment_start_date,
        assessments.cina_assessment_auth_date,
        assessments.cina_assessment_child_seen,
        assessments.extract_month
    from {{ ref('stg_ssd__cin_assessments') }} as assessments
    where assessments.extract_month = {{ extract_month() }}

),

referrals as (

    select
        referrals.cine_referral_id,
        referrals.cine_referral_date
    from {{ ref('stg_ssd__cin_episodes') }} as referrals
    where referrals.extract_month = {{ extract_month() }}

),

timed as (

    select
        assessments.*,
        referrals.cine_referral_id is not null as referral_resolves,
        referrals.cine_referral_date as referral_date,
        {{ working_days_between('wd_start', 'wd_auth') }} as working_days_start_to_auth,
        {{ working_days_between('wd_referral', 'wd_auth') }} as working_days_referral_to_auth
    from assessments
    left join referrals
        on assessments.cina_referral_id = referrals.cine_referral_id
    {{ join_working_day('assessments.cina_assessment_start_date', 'wd_start') }}
    {{ join_working_day('assessments.cina_assessment_auth_date', 'wd_auth') }}
    {{ join_working_day('referrals.cine_referral_date', 'wd_referral') }}

),

flagged as (

    select
        timed.*,
        -- denominator of assessments_45wd_pct: authorised, and started on or before authorisation
        coalesce(timed.cina_assessment_auth_date >= timed.cina_assessment_start_date, false)
            as counts_for_45wd
    from timed

),

flagged_referral as (

    select
        flagged.*,
        -- denominator of assessments_45wd_from_referral_pct: the same assessments whose referral
        -- resolves and is dated on or before the authorisation
        coalesce(
            flagged.counts_for_45wd
            and flagged.referral_resolves
            and flagged.referral_date <= flagged.cina_assessment_auth_date,
            false
        ) as counts_for_45wd_from_referral
    from flagged

)

select
    flagged_referral.cina_assessment_id as assessment_id,
    {{ pseudonymise('flagged_referral.cina_person_id') }} as child_key,
    flagged_referral.cina_referral_id as referral_id,
    flagged_referral.cina_assessment_start_date as start_date,
    flagged_referral.cina_assessment_auth_date as authorisation_date,
    cast({{ dbt.date_trunc('month', 'flagged_referral.cina_assessment_auth_date') }} as date) as authorisation_month,
    flagged_referral.cina_assessment_child_seen as is_child_seen,
    flagged_referral.referral_resolves,
    flagged_referral.referral_date,
    flagged_referral.working_days_start_to_auth,
    flagged_referral.working_days_referral_to_auth,
    flagged_referral.counts_for_45wd,
    coalesce(flagged_referral.counts_for_45wd and flagged_referral.working_days_start_to_auth <= 45, false)
        as completed_within_45wd,
    flagged_referral.counts_for_45wd_from_referral,
    coalesce(
        flagged_referral.counts_for_45wd_from_referral and flagged_referral.working_days_referral_to_auth <= 45,
        false
    ) as completed_within_45wd_from_referral,
    flagged_referral.extract_month
from flagged_referral
