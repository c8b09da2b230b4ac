{#- Referrals (CIN episodes) of extract M, one row per referral, with the re-referral flag of
    SCORECARD.md rereferrals_12m_pct: the same child has another referral dated on or after
    12 months before this referral's date (same day-of-month, clamped to the month's end) and
    strictly before it. -#}
with

referrals as (

    select
        referrals.cine_referral_id,
        referrals.cine_person_id,
        referrals.cine_referral_date,
        referrals.cine_referral_source_code,
        referrals.cine_cin_primary_need_code,
        referrals.cine_referral_nfa,
        referrals.cine_close_date,
        referrals.cine_close_reason,
        referrals.extract_month
    from {{ ref('stg_ssd__cin_episodes') }} as referrals
    where referrals.extract_month = {{ extract_month() }}

),

with_previous as (

    select
        referrals.*,
        previous.previous_referral_date,
        {{ months_before('referrals.cine_referral_date', 12) }} as twelve_months_before
    from referrals
    left join {{ ref('int_front_door__previous_referrals') }} as previous
        on
            referrals.cine_person_id = previous.person_id
            and referrals.cine_referral_date = previous.referral_date

)

select
    with_previous.cine_referral_id as referral_id,
    {{ pseudonymise('with_previous.cine_person_id') }} as child_key,
    with_previous.cine_referral_date as referral_date,
    cast({{ dbt.date_trunc('month', 'with_previous.cine_referral_date') }} as date) as referral_month,
    with_previous.cine_referral_source_code as referral_source_code,
    referral_sources.description as referral_source_description,
    with_previous.cine_cin_primary_need_code as primary_need_code,
    primary_needs.description as primary_need_description,
    coalesce(with_previous.cine_referral_nfa, false) as is_nfa,
    with_previous.cine_close_date as close_date,
    with_previous.cine_close_reason as close_reason,
    close_reasons.description as close_reason_description,
    with_previous.previous_referral_date,
    with_previous.twelve_months_before,
    coalesce(with_previous.previous_referral_date >= with_previous.twelve_months_before, false)
        as is_rereferral_12m,
    with_previous.extract_month
from with_previous
{{ join_code('contact_source', 'with_previous.cine_referral_source_code', 'referral_sources') }}
{{ join_code('cin_primary_need', 'with_previous.cine_cin_primary_need_code', 'primary_needs') }}
{{ join_code('cin_close_reason', 'with_previous.cine_close_reason', 'close_reasons') }}
