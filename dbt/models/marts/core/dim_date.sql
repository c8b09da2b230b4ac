{#- One row per day 2015-01-01 .. 2030-12-31 with the working-day calendar of SCORECARD.md:
    working days are Monday-Friday except England and Wales bank holidays, and
    working_day_number counts working days up to and including the day, so
    WD(a, b) = working_day_number(b) - working_day_number(a). -#}
with

days as (

    {{ dbt.date_spine('day', "cast('2015-01-01' as date)", "cast('2031-01-01' as date)") }}

),

bank_holidays as (

    select distinct cast(bank_holidays.holiday_date as date) as holiday_date
    from {{ ref('bank_holidays') }} as bank_holidays

),

calendar as (

    select
        cast(days.date_day as date) as date_day,
        -- ISO day of week: Monday = 1 .. Sunday = 7
        cast({{ iso_day_of_week("days.date_day") }} as integer) as iso_day_of_week,
        bank_holidays.holiday_date is not null as is_bank_holiday
    from days
    left join bank_holidays
        on cast(days.date_day as date) = bank_holidays.holiday_date

),

flagged as (

    select
        calendar.date_day,
        calendar.iso_day_of_week,
        calendar.iso_day_of_week in (6, 7) as is_weekend,
        calendar.is_bank_holiday,
        calendar.iso_day_of_week not in (6, 7) and not calendar.is_bank_holiday as is_working_day
    from calendar

)

select
    flagged.date_day,
    cast(extract(year from flagged.date_day) as integer) as year_number,
    cast(extract(month from flagged.date_day) as integer) as month_number,
    cast(extract(day from flagged.date_day) as integer) as day_of_month,
    flagged.iso_day_of_week,
    flagged.is_weekend,
    flagged.is_bank_holiday,
    flagged.is_working_day,
    cast(
        sum(case when flagged.is_working_day then 1 else 0 end)
            over (order by flagged.date_day rows between unbounded preceding and current row)
        as integer
    ) as working_day_number,
    cast({{ dbt.date_trunc('month', 'flagged.date_day') }} as date) as month_start,
    cast({{ dbt.last_day('flagged.date_day', 'month') }} as date) as month_end,
    cast(extract(year from flagged.date_day) as integer)
    - case when extract(month from flagged.date_day) < 4 then 1 else 0 end as financial_year_start
from flagged
