"""Small helpers shared by the modules that assemble SSD tables from simulated arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from dagster_project.contract import TABLES_KEYS

NO_DAY = -(10**7)  # "no date" in simulated day arrays (far before any real date)

# Each table numbers its rows from its own base, so ids of different tables never coincide (a wrong
# join in the warehouse then matches nothing instead of something plausible).
ID_BASE: dict[str, int] = {name: (i + 1) * 10**8 for i, name in enumerate(TABLES_KEYS)}
PERIOD_OF_CARE_ID_BASE = (len(TABLES_KEYS) + 1) * 10**8


def date_column(days: np.ndarray | pl.Series) -> pl.Series:
    """Day numbers -> Date column; NO_DAY (no date) -> NULL."""
    values = days.to_numpy() if isinstance(days, pl.Series) else np.asarray(days)
    missing = values <= NO_DAY
    series = pl.Series(np.where(missing, 0, values).astype(np.int32))
    if missing.any():
        series = series.set(pl.Series(missing), None)
    return series.cast(pl.Date)


def assign_ids(frame: pl.DataFrame, name: str, order_by: Sequence[str], base: int) -> pl.DataFrame:
    """Sort ``frame`` by ``order_by`` (stable) and number its rows ``base``, ``base + 1``, ...

    Ids thus follow the order records were entered, as a case-management system's surrogate keys do;
    a late-recorded row gets a higher id than rows dated after it."""
    frame = frame[_order(frame, order_by)]
    return frame.with_columns(pl.Series(name, np.arange(base, base + frame.height, dtype=np.int32)))


def _order(frame: pl.DataFrame, order_by: Sequence[str]) -> pl.Series:
    """Stable sort order; two integer day columns are folded into one key (much faster to sort)."""
    if frame.height and len(order_by) == 2:
        first, second = (frame[c].cast(pl.Int64) for c in order_by)
        low, span = second.min(), second.max() - second.min() + 1
        if span < 2**24 and abs(first.max()) < 2**38 and abs(first.min()) < 2**38:
            key = (first * span + (second - low)).alias("key")
            return key.to_frame().select(pl.arg_sort_by("key", maintain_order=True)).to_series()
    return frame.select(pl.arg_sort_by(list(order_by), maintain_order=True)).to_series()
