"""The monthly partitions every stage shares: one partition per extract month ('YYYY-MM').

They start at the council's earliest extract folder (or ``$CSC_FIRST_MONTH``; settings.first_month),
so the Dagster UI lists the months that exist rather than years of "missing" ones; an earlier
month that lands later appears when the code location is reloaded. The last partition is the last
complete month, since a month's extract is taken after it ends. Months, and the schedule built on
them, are in Europe/London time.
"""

from __future__ import annotations

import dagster as dg

from dagster_project.settings import MONTH_FMT, first_month

TIMEZONE = "Europe/London"

monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=first_month(), fmt=MONTH_FMT, timezone=TIMEZONE)
