"""Dates as integer day numbers, working days and month arithmetic, all vectorised.

The simulation keeps every date as an integer number of days since 1970-01-01 (numpy ``int64``
while computing, ``int32`` when stored) because numpy's business-day functions and plain integer
arithmetic are then available on whole columns at once. Working days follow SCORECARD.md:
Monday-Friday excluding the England and Wales bank holidays of ``seeds/bank_holidays.csv``.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from functools import cache

import numpy as np

from dagster_project.contract import SEEDS_DIR

EPOCH = date(1970, 1, 1)
NEVER = (date(2999, 12, 31) - EPOCH).days  # an end that lies beyond every extract


def day_number(d: date) -> int:
    """``date`` -> days since 1970-01-01."""
    return (d - EPOCH).days


def from_day_number(n: int) -> date:
    """Days since 1970-01-01 -> ``date``."""
    return EPOCH + timedelta(days=int(n))


def _as_datetime(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).view("datetime64[D]")


def _as_days(values: np.ndarray) -> np.ndarray:
    return values.astype("datetime64[D]").view(np.int64)


@cache
def bank_holiday_calendar() -> np.busdaycalendar:
    """Monday-Friday business calendar without England and Wales bank holidays."""
    with (SEEDS_DIR / "bank_holidays.csv").open(newline="", encoding="utf-8") as f:
        holidays = [row["holiday_date"] for row in csv.DictReader(f)]
    return np.busdaycalendar(holidays=np.array(holidays, dtype="datetime64[D]"))


def add_working_days(days: np.ndarray, n: np.ndarray | int) -> np.ndarray:
    """The ``n``-th working day after ``days`` (a non-working start day first rolls forward)."""
    days = np.asarray(days, dtype=np.int64)
    if _in_lookup(days):
        before, working_days = _working_day_lookup()[1:]
        target = before[days - LOOKUP_FIRST] + n  # a non-working day counts as the next working day
        if target.size == 0 or (target.min() >= 0 and target.max() < len(working_days)):
            return working_days[target]
    out = np.busday_offset(_as_datetime(days), n, roll="forward", busdaycal=bank_holiday_calendar())
    return _as_days(out)


def roll_back_to_working_day(days: np.ndarray) -> np.ndarray:
    """The latest working day on or before each day."""
    days = np.asarray(days, dtype=np.int64)
    if _in_lookup(days):
        working, before, working_days = _working_day_lookup()
        at = days - LOOKUP_FIRST
        target = before[at] + working[at] - 1
        if target.size == 0 or target.min() >= 0:
            return working_days[target]
    out = np.busday_offset(_as_datetime(days), 0, roll="backward", busdaycal=bank_holiday_calendar())
    return _as_days(out)


def is_working_day(days: np.ndarray) -> np.ndarray:
    days = np.asarray(days, dtype=np.int64)
    if _in_lookup(days):
        return _working_day_lookup()[0][days - LOOKUP_FIRST]
    return np.is_busday(_as_datetime(days), busdaycal=bank_holiday_calendar())


def working_days_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SCORECARD.md's WD(a, b): working days d with a < d <= b."""
    a64, b64 = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    return np.busday_count(_as_datetime(a64 + 1), _as_datetime(b64 + 1), busdaycal=bank_holiday_calendar())


def weekday(days: np.ndarray) -> np.ndarray:
    """0 = Monday ... 6 = Sunday."""
    return (np.asarray(days, dtype=np.int64) + 3) % 7


def month_of(d: date) -> int:
    """Months since January 1970 of ``d``."""
    return (d.year - 1970) * 12 + d.month - 1


LOOKUP_FIRST, LOOKUP_LAST = day_number(date(1900, 1, 1)), day_number(date(2200, 1, 1))


@cache
def _month_of_day() -> np.ndarray:
    days = np.arange(LOOKUP_FIRST, LOOKUP_LAST, dtype=np.int64)
    return _as_datetime(days).astype("datetime64[M]").view(np.int64)


def _in_lookup(days: np.ndarray) -> bool:
    return days.size == 0 or (days.min() >= LOOKUP_FIRST and days.max() < LOOKUP_LAST)


@cache
def _working_day_lookup() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every day of the lookup range: is it a working day, and how many working days of the
    range come before it; and the range's working days in order. Table lookups give exactly what
    numpy's business-day functions give, many times faster."""
    days = np.arange(LOOKUP_FIRST, LOOKUP_LAST, dtype=np.int64)
    working = np.is_busday(_as_datetime(days), busdaycal=bank_holiday_calendar())
    before = np.cumsum(working) - working
    return working, before, days[working]


def month_index(days: np.ndarray) -> np.ndarray:
    """Months since January 1970 of each day (so ``month_index % 12`` is the month, 0 = January)."""
    days = np.asarray(days, dtype=np.int64)
    if days.size and days.min() >= LOOKUP_FIRST and days.max() < LOOKUP_LAST:
        return _month_of_day()[days - LOOKUP_FIRST]  # a table lookup is much faster than calendar maths
    return _as_datetime(days).astype("datetime64[M]").view(np.int64)


LOOKUP_FIRST_MONTH, LOOKUP_LAST_MONTH = month_of(date(1900, 1, 1)), month_of(date(2200, 1, 1))


@cache
def _first_day_of_month() -> np.ndarray:
    months = np.arange(LOOKUP_FIRST_MONTH, LOOKUP_LAST_MONTH, dtype=np.int64)
    return _as_days(months.view("datetime64[M]"))


def month_first_day(months: np.ndarray | int) -> np.ndarray:
    """Day number of the first day of each month index."""
    months = np.asarray(months, dtype=np.int64)
    if months.size and months.min() >= LOOKUP_FIRST_MONTH and months.max() < LOOKUP_LAST_MONTH:
        return _first_day_of_month()[months - LOOKUP_FIRST_MONTH]
    return _as_days(months.view("datetime64[M]"))


def add_months(days: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Same day-of-month ``months`` later (or earlier), clamped to the month's end."""
    days = np.asarray(days, dtype=np.int64)
    start_month = month_index(days)
    day_in_month = days - month_first_day(start_month)
    target = start_month + months
    length = month_first_day(target + 1) - month_first_day(target)
    return month_first_day(target) + np.minimum(day_in_month, length - 1)


def birthday(dob: np.ndarray, years: int) -> np.ndarray:
    """The ``years``-th birthday of each date of birth (29 February -> 28 February)."""
    return add_months(dob, 12 * years)


def age_in_years(dob: np.ndarray, at: np.ndarray | int) -> np.ndarray:
    """Completed years of age on ``at`` (a birthday counts on the day itself)."""
    dob = np.asarray(dob, dtype=np.int64)
    at = np.broadcast_to(np.asarray(at, dtype=np.int64), dob.shape)
    months = month_index(at) - month_index(dob)
    not_yet = (at - month_first_day(month_index(at))) < (dob - month_first_day(month_index(dob)))
    return (months - not_yet) // 12


def years_before(d: date, years: int) -> date:
    """Same day ``years`` earlier, 29 February -> 28 February."""
    try:
        return d.replace(year=d.year - years)
    except ValueError:
        return d.replace(year=d.year - years, day=28)
