{#- For each child and referral date of extract M, the latest earlier referral date of the same
    child (strictly before; referrals on the same day are not "previous"). Set-based: distinct
    (child, date) pairs, then lag(). -#}
with

referral_dates as (

    select
        referrals.cine_person_id as person_id,
        referrals.cine_referral_date as referral_date
    from {{ ref('stg_ssd__cin_episodes') }} as referrals
    where
        referrals.extract_month = {{ extract_month() }}
        and referrals.cine_referral_date is not null
    group by referrals.cine_person_id, referrals.cine_referral_date

)

select
    referral_dates.person_id,
    referral_dates.referral_date,
    lag(referral_dates.referral_date) over (
        partition by referral_dates.person_id
        order by referral_dates.referral_date
    ) as previous_referral_date
from referral_dates
