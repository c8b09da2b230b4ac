{{ config(materialized='view') }}

{#- The records behind every front-door figure (SCORECARD.md) of the figure months, from
    extract M: one row per measure, month, part (numerator or denominator) and contact or
    referral. int_scorecard__members stores them; int_scorecard__front_door counts them. Row-level
    flags come from fct_contacts and fct_referrals. contacts_decided_1wd_pct has no member when
    extract M lacks cont_contact_decision_date (the figure is not available). -#}
{%- set contact_parts = [
    {'measure': 'contacts', 'part': 'numerator', 'where': 'true'},
    {'measure': 'contacts_to_referral_pct', 'part': 'denominator', 'where': 'true'},
    {'measure': 'contacts_to_referral_pct', 'part': 'numerator', 'where': 'contacts.led_to_referral'},
    {'measure': 'contacts_decided_1wd_pct', 'part': 'denominator', 'where': 'contacts.has_decision_date',
        'start_date': 'contacts.contact_date', 'end_date': 'contacts.decision_date',
        'working_days': 'contacts.working_days_to_decision'},
    {'measure': 'contacts_decided_1wd_pct', 'part': 'numerator',
        'where': 'contacts.has_decision_date and contacts.decided_within_1wd',
        'start_date': 'contacts.contact_date', 'end_date': 'contacts.decision_date',
        'working_days': 'contacts.working_days_to_decision'},
    {'measure': 'police_contacts', 'part': 'numerator', 'where': 'contacts.is_police'},
    {'measure': 'police_contacts_pct', 'part': 'denominator', 'where': 'true'},
    {'measure': 'police_contacts_pct', 'part': 'numerator', 'where': 'contacts.is_police'},
    {'measure': 'police_contacts_advice', 'part': 'numerator', 'where': 'contacts.is_police and contacts.is_advice'},
    {'measure': 'police_contacts_advice_pct', 'part': 'denominator', 'where': 'contacts.is_police'},
    {'measure': 'police_contacts_advice_pct', 'part': 'numerator', 'where': 'contacts.is_police and contacts.is_advice'},
    {'measure': 'private_fostering', 'part': 'numerator', 'where': 'contacts.is_private_fostering'},
] %}
{%- set referral_parts = [
    {'measure': 'rereferrals_12m_pct', 'part': 'denominator', 'where': 'true',
        'start_date': 'referrals.previous_referral_date', 'end_date': 'referrals.referral_date'},
    {'measure': 'rereferrals_12m_pct', 'part': 'numerator', 'where': 'referrals.is_rereferral_12m',
        'start_date': 'referrals.previous_referral_date', 'end_date': 'referrals.referral_date'},
] %}

with

months as (

    select months.month
    from {{ ref('int_scorecard__figure_months') }} as months

),

decision_date_feature as (

    {{ extract_feature_available('ssd_contacts.cont_contact_decision_date') }}

),

contacts as (

    select
        contacts.contact_id,
        contacts.child_key,
        contacts.contact_month,
        contacts.contact_date,
        contacts.decision_date,
        contacts.working_days_to_decision,
        contacts.led_to_referral,
        contacts.decided_within_1wd,
        contacts.is_police,
        contacts.is_advice,
        contacts.is_private_fostering,
        -- no feature row for extract M counts as absent: never list members of a figure we cannot know
        coalesce(decision_date_feature.is_available, false) as has_decision_date
    from {{ ref('fct_contacts') }} as contacts
    inner join months on contacts.contact_month = months.month
    cross join decision_date_feature

),

referrals as (

    select
        referrals.referral_id,
        referrals.child_key,
        referrals.referral_month,
        referrals.referral_date,
        referrals.previous_referral_date,
        referrals.is_rereferral_12m
    from {{ ref('fct_referrals') }} as referrals
    inner join months on referrals.referral_month = months.month

)

{{ scorecard_member_rows(
    'contacts',
    {'type': 'contact', 'key': 'contacts.contact_id', 'month': 'contacts.contact_month', 'date': 'contacts.contact_date'},
    contact_parts) }}
union all
{{ scorecard_member_rows(
    'referrals',
    {'type': 'referral', 'key': 'referrals.referral_id', 'month': 'referrals.referral_month',
        'date': 'referrals.referral_date'},
    referral_parts) }}
