"""Which extracts are generated and the span of history the simulation must cover."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dagster_project.contract import month_end
from dagster_project.extracts.generator.dates import day_number, years_before
from dagster_project.extracts.generator.randomness import Streams

WINDOW_YEARS = 6  # the SSD's rolling window
EXTRACT_LAG_DAYS = (2, 6)  # an extract is taken this many days after its month end (inclusive)


@dataclass(frozen=True)
class Extract:
    """One monthly extract: folder month, its period end and the day it was taken."""

    month: date  # first day of the reporting month
    period_end: date
    extract_date: date

    @property
    def folder(self) -> str:
        return self.month.strftime("%Y-%m")

    @property
    def day(self) -> int:
        return day_number(self.extract_date)

    @property
    def window_start(self) -> int:
        """First day inside the rolling window (same day six years before the extract)."""
        return day_number(years_before(self.extract_date, WINDOW_YEARS))


@dataclass(frozen=True)
class Timeline:
    extracts: tuple[Extract, ...]

    @property
    def first_window_start(self) -> int:
        return self.extracts[0].window_start

    @property
    def end(self) -> int:
        """Last day anything is simulated for: the last extract date."""
        return self.extracts[-1].day


def months_between(first: date, last: date) -> list[date]:
    """First days of every month from ``first``'s month to ``last``'s month."""
    if (last.year, last.month) < (first.year, first.month):
        raise ValueError(f"last month {last:%Y-%m} is before first month {first:%Y-%m}")
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def build_timeline(first: date, last: date, streams: Streams) -> Timeline:
    """The extracts from ``first`` to ``last``; each extract date is a deterministic 2-6 days
    after its month end (drawn from the seed and the month alone)."""
    extracts = []
    for month in months_between(first, last):
        lag = int(
            streams.rng("extract-date", month.year, month.month).integers(EXTRACT_LAG_DAYS[0], EXTRACT_LAG_DAYS[1] + 1)
        )
        end = month_end(month)
        extracts.append(Extract(month, end, end + timedelta(days=lag)))
    return Timeline(tuple(extracts))
