"""The English local authorities a warehouse can hold, from the ``dim_council`` seed.

``seeds/dim_council.csv`` (also a dbt seed, so what the warehouse holds and what the command line
reads are the same list) gives each of the 153 LAs with children's services its DfE three-digit code, name
and region. A region's extracts root names each council's folder by that code.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from dagster_project.contract import SEEDS_DIR

COUNCILS_SEED = SEEDS_DIR / "dim_council.csv"


@dataclass(frozen=True)
class Council:
    la_code: str  # the DfE three-digit LA code ('380')
    name: str
    region: str


@cache
def councils() -> dict[str, Council]:
    """LA code -> council, in code order."""
    with COUNCILS_SEED.open(newline="", encoding="utf-8") as f:
        return {row["la_code"]: Council(row["la_code"], row["la_name"], row["region_name"])
                for row in csv.DictReader(f)}
