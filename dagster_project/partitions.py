"""The monthly partitions every stage shares: one partition per extract month ('YYYY-MM')."""

from __future__ import annotations

import dagster as dg

from dagster_project.settings import MONTH_FMT, first_month_from_env

# The first month is configurable ($CSC_FIRST_MONTH, 'YYYY-MM'); the last partition is the last
# complete month, since a month's extract is taken after it ends.
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=first_month_from_env(), fmt=MONTH_FMT)
