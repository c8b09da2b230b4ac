"""Named data-quality faults the demo generator can inject, for testing the quality gate.

Faults apply to the LAST generated month only (earlier months stay clean, so a run over the
months shows the gate passing and then stopping the faulty one). Each is big enough for a
reasonable check to notice; several may be combined and are applied in the order listed here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import numpy as np
import polars as pl

FAULTS: dict[str, str] = {
    "duplicate_contacts": "the month's contacts (dated in the month) appear twice, the copies under new ids",
    "truncated_table": "ssd_contacts.csv cut to about 40% of its rows (the manifest matches the cut file)",
    "missing_column": "required column cont_contact_source_code removed from ssd_contacts.csv",
    "unparseable_dates": "about 5% of cont_contact_date values unreadable ('31/13/2023', 'not a date')",
    "overlapping_placements": "about 5% of children in care get a placement overlapping their previous one",
    "missing_end_before_start": "about 5% of ended missing episodes end before they start",
    "all_rhi_accepted": "every return interview offered on a missing episode ending in the month is accepted",
    "manifest_row_count": "the manifest's row count for ssd_contacts.csv disagrees with the file",
}
SHARE = 0.05
BAD_DATES = ("31/13/2023", "not a date")


def check_faults(names: Sequence[str]) -> tuple[str, ...]:
    """The fault names in application order; ValueError naming the valid ones on an unknown name."""
    unknown = sorted(set(names) - set(FAULTS))
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(unknown)}; valid faults: {', '.join(FAULTS)}")
    return tuple(name for name in FAULTS if name in set(names))


def _some(rng: np.random.Generator, n: int, share: float = SHARE, of: int | None = None) -> np.ndarray:
    """A boolean mask choosing round(share x ``of``) of n rows (``of`` defaults to n; at least one
    when there are rows)."""
    chosen = np.zeros(n, dtype=bool)
    if n:
        chosen[rng.choice(n, size=min(n, max(1, round(share * (n if of is None else of)))), replace=False)] = True
    return chosen


def _duplicate_contacts(frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator) -> None:
    contacts = frames["ssd_contacts"]
    dated = contacts.filter(pl.col("cont_contact_date").is_between(*month))
    next_id = int(contacts["cont_contact_id"].max() or 0) + 1
    copies = dated.with_columns(cont_contact_id=pl.Series(np.arange(next_id, next_id + dated.height, dtype=np.int64)))
    frames["ssd_contacts"] = pl.concat([contacts, copies.cast(contacts.schema)])


def _truncated_table(frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator) -> None:
    frames["ssd_contacts"] = frames["ssd_contacts"].head(round(0.4 * frames["ssd_contacts"].height))


def _missing_column(frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator) -> None:
    frames["ssd_contacts"] = frames["ssd_contacts"].drop("cont_contact_source_code")


def _unparseable_dates(frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator) -> None:
    contacts = frames["ssd_contacts"]
    bad = _some(rng, contacts.height)
    text = np.array(BAD_DATES)[rng.integers(0, len(BAD_DATES), contacts.height)]
    frames["ssd_contacts"] = contacts.with_columns(
        cont_contact_date=pl.when(pl.Series(bad))
        .then(pl.Series(text))
        .otherwise(pl.col("cont_contact_date").dt.strftime("%Y-%m-%d"))
    )


def _overlapping_placements(
    frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator
) -> None:
    """Move the current placement's start back inside the previous placement of ~5% of children in care."""
    placements = frames["ssd_cla_placement"].with_row_index("_row")
    ordered = placements.sort(["clap_person_id", "clap_cla_placement_start_date", "_row"])
    ordered = ordered.with_columns(
        prev_start=pl.col("clap_cla_placement_start_date").shift(1).over("clap_person_id"),
        prev_end=pl.col("clap_cla_placement_end_date").shift(1).over("clap_person_id"),
    )
    in_care = ordered.filter(pl.col("clap_cla_placement_end_date").is_null())
    current = in_care.filter(pl.col("prev_start").is_not_null() & pl.col("prev_end").is_not_null())
    chosen = current.filter(pl.Series(_some(rng, current.height, of=in_care["clap_person_id"].n_unique())))
    overlap_start = chosen.select(
        "_row",
        new=pl.col("prev_start") + pl.duration(days=(pl.col("prev_end") - pl.col("prev_start")).dt.total_days() // 2),
    )
    placements = placements.join(overlap_start, on="_row", how="left", maintain_order="left")
    frames["ssd_cla_placement"] = placements.with_columns(
        clap_cla_placement_start_date=pl.coalesce("new", "clap_cla_placement_start_date")
    ).drop("_row", "new")


def _missing_end_before_start(
    frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator
) -> None:
    missing = frames["ssd_missing"]
    ended = missing["miss_missing_episode_end_date"].is_not_null().to_numpy()
    bad = np.zeros(missing.height, dtype=bool)
    bad[np.flatnonzero(ended)[_some(rng, int(ended.sum()))]] = True
    frames["ssd_missing"] = missing.with_columns(
        miss_missing_episode_end_date=pl.when(pl.Series(bad))
        .then(
            pl.col("miss_missing_episode_start_date") - pl.duration(days=pl.Series(rng.integers(1, 11, missing.height)))
        )
        .otherwise(pl.col("miss_missing_episode_end_date"))
    )


def _all_rhi_accepted(frames: dict[str, pl.DataFrame], month: tuple[date, date], rng: np.random.Generator) -> None:
    missing = frames["ssd_missing"]
    offered = pl.col("miss_missing_episode_end_date").is_between(*month) & (pl.col("miss_missing_rhi_offered") == "Y")
    frames["ssd_missing"] = missing.with_columns(
        miss_missing_rhi_accepted=pl.when(offered)
        .then(pl.lit("Y").cast(missing["miss_missing_rhi_accepted"].dtype))
        .otherwise(pl.col("miss_missing_rhi_accepted"))
    )


FRAME_FAULTS: dict[str, Callable[[dict[str, pl.DataFrame], tuple[date, date], np.random.Generator], None]] = {
    "duplicate_contacts": _duplicate_contacts,
    "truncated_table": _truncated_table,
    "missing_column": _missing_column,
    "unparseable_dates": _unparseable_dates,
    "overlapping_placements": _overlapping_placements,
    "missing_end_before_start": _missing_end_before_start,
    "all_rhi_accepted": _all_rhi_accepted,
}


def inject_into_tables(
    frames: dict[str, pl.DataFrame], names: Sequence[str], month: tuple[date, date], seed: int
) -> dict[str, pl.DataFrame]:
    """Apply the table faults among ``names`` to one extract's tables (``month``: first, last day)."""
    frames = dict(frames)
    for name in check_faults(names):
        if name in FRAME_FAULTS:
            FRAME_FAULTS[name](frames, month, np.random.default_rng([seed, list(FAULTS).index(name)]))
    return frames


def inject_into_manifest(content: dict, names: Sequence[str]) -> dict:
    """Apply the manifest faults among ``names``."""
    if "manifest_row_count" in check_faults(names):
        entry = content["files"]["ssd_contacts.csv"]
        entry["rows"] = entry["rows"] + max(1, entry["rows"] // 50)
    return content
