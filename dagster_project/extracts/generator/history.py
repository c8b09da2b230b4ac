"""The whole simulated history, once: every record with its dates, when it was recorded and (for
merged duplicate children) when it disappeared. Monthly extracts are filters over it
(:mod:`snapshot`)."""

from __future__ import annotations

from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from dagster_project.contract import OPTIONAL_FEATURES, TABLES, TABLES_BY_NAME
from dagster_project.extracts.generator.care import simulate_care
from dagster_project.extracts.generator.codes import code_index
from dagster_project.extracts.generator.councils import BRADFORD_STYLE, FileStyle
from dagster_project.extracts.generator.dates import NEVER, from_day_number
from dagster_project.extracts.generator.frontdoor import (
    add_private_fostering,
    contacts_table,
    simulate_front_door,
)
from dagster_project.extracts.generator.leavers import care_leavers, leaver_cohort
from dagster_project.extracts.generator.missing import simulate_missing
from dagster_project.extracts.generator.params import BRADFORD, LEAVERS, Calibration, LeaverParams
from dagster_project.extracts.generator.people import build_persons
from dagster_project.extracts.generator.protection import build_protection_tables
from dagster_project.extracts.generator.randomness import Streams
from dagster_project.extracts.generator.rowcache import ROW, RenderedRows
from dagster_project.extracts.generator.snapshot import in_window, settled, snapshot_tables
from dagster_project.extracts.generator.tables import NO_DAY
from dagster_project.extracts.generator.timeline import Extract, Timeline
from dagster_project.extracts.generator.writer import cache_table

# Tables rendered once and then copied line by line into each month (rowcache): all but the care
# leavers, whose rows are current state computed per extract.
CACHED = tuple(t.name for t in TABLES if t.name != "ssd_care_leavers")

# Tables nothing refers to (or whose older rows no in-window row can need): rows already outside
# the first extract's window can never appear and are dropped to save memory.
PRUNABLE = (
    "ssd_contacts",
    "ssd_cin_assessments",
    "ssd_cp_reviews",
    "ssd_cla_reviews",
    "ssd_missing",
    "ssd_legal_status",
    "ssd_cla_episodes",
    "ssd_cla_placement",
)


@dataclass(frozen=True)
class History:
    streams: Streams
    tables: dict[str, pl.DataFrame]  # every contract table but persons and care leavers
    persons: pl.DataFrame  # with internal _birth and _removed
    leavers: pl.DataFrame  # care-leaver cohort (person ids)
    leaver_params: LeaverParams = LEAVERS

    def render_caches(self, directory: Path, style: FileStyle = BRADFORD_STYLE) -> dict[str, RenderedRows]:
        """Render the big tables' history once (files in ``directory``), in the council's file style."""
        frames = self.tables | {"ssd_person": self.persons}
        return {
            name: cache_table(settled(name, frames[name]), directory / f"{name}.rows", style)
            for name in CACHED
            if name in frames
        }

    def snapshot(self, extract: Extract) -> dict[str, pl.DataFrame]:
        """Every contract table the council's extracts carry, as extract ``extract`` shows it."""
        leavers = care_leavers(self.streams, self.leavers, extract, self.leaver_params)
        return snapshot_tables(self.tables, self.persons, leavers, extract.day, extract.window_start)


def simulate_history(
    timeline: Timeline,
    seed: int,
    scale: float,
    cal: Calibration = BRADFORD,
    absent: Collection[str] = (),
) -> History:
    """Simulate every stage once with the council's calibration ``cal``. Each stage's inputs are
    released as soon as its tables are built (``del``), which keeps peak memory close to the size of
    the finished history. ``absent`` names optional features (contract.OPTIONAL_FEATURES keys) the
    council's extracts do not carry: they are simulated like the rest, then left out."""
    streams = Streams(seed)
    window_start = timeline.first_window_start
    with ThreadPoolExecutor(max_workers=1) as pool:
        # care does not depend on the front door (only its person numbers do, shifted below): the
        # two run side by side, numpy and polars releasing the GIL for most of their work
        care_future = pool.submit(simulate_care, streams, timeline, scale, person_offset=0, cal=cal)
        front_door = simulate_front_door(streams, timeline, scale, person_offset=0, cal=cal)
        fd_contacts, fd_paths, fd_children = front_door.contacts, front_door.paths, front_door.children
        del front_door
        offset = int(fd_children["_person"].max() or 0) + 1 if fd_children.height else 0
        care = care_future.result().with_person_offset(offset)
        del care_future
        tables = dict(care.tables)
        periods, care_children = care.periods, care.children
        drafts = pl.concat([fd_contacts, care.entry_contacts], how="vertical_relaxed")
        paths = pl.concat([pl.DataFrame(fd_paths), pl.DataFrame(care.entry_paths)], how="diagonal_relaxed")
        del care, fd_contacts, fd_paths
        # protection and missing episodes (the worker) need nothing the contacts and persons need
        others = pool.submit(_protection_and_missing, streams, timeline, scale, paths, periods, fd_children, cal)
        del paths
        merged = fd_children.filter(pl.col("removed") > NO_DAY)["_person"].to_numpy()
        drafts = drafts.filter(pl.col("day") >= window_start)
        drafts = add_private_fostering(streams, drafts, merged, p=cal.front_door, scale=scale)
        tables["ssd_contacts"] = contacts_table(drafts)
        del drafts
        cohort = leaver_cohort(streams, periods, cal.leavers)
        persons, id_of = build_persons(streams, _children(fd_children, care_children), _deaths(periods, cohort))
        del periods, fd_children, care_children
        tables |= others.result()
        del others
    tables = {name: _with_person_ids(frame, name, id_of) for name, frame in tables.items()}
    tables = _pruned(tables, from_day_number(window_start), from_day_number(timeline.extracts[0].day))
    tables = _without(tables, absent)
    tables = {name: frame.with_row_index(ROW) if name in CACHED else frame for name, frame in tables.items()}
    cohort = cohort.with_columns(_person=pl.Series(id_of[cohort["_person"].to_numpy()].astype(np.int32)))
    return History(streams, tables, persons.with_row_index(ROW), cohort, cal.leavers)


def _protection_and_missing(
    streams: Streams,
    timeline: Timeline,
    scale: float,
    paths: pl.DataFrame,
    periods: pl.DataFrame,
    fd_children: pl.DataFrame,
    cal: Calibration,
) -> dict[str, pl.DataFrame]:
    paths = paths.filter(pl.col("close") >= timeline.first_window_start)
    tables = build_protection_tables(paths, streams, cal.protection)
    tables["ssd_missing"] = simulate_missing(streams, timeline, scale, periods, fd_children, cal.missing)
    return tables


def _without(tables: dict[str, pl.DataFrame], absent: Collection[str]) -> dict[str, pl.DataFrame]:
    """The tables without the optional tables and columns named in ``absent``."""
    unknown = sorted(set(absent) - set(OPTIONAL_FEATURES))
    if unknown:
        raise ValueError(f"not optional features of the contract: {', '.join(unknown)}")
    features = [OPTIONAL_FEATURES[name] for name in absent]
    gone = {table for table, column in features if column is None}
    columns = {table: [c for t, c in features if t == table and c is not None] for table in tables}
    return {name: frame.drop(columns[name]) for name, frame in tables.items() if name not in gone}


def _children(front_door: pl.DataFrame, care: pl.DataFrame) -> pl.DataFrame:
    """Every child of the register (only front-door children can be merged duplicates)."""
    return pl.concat(
        [front_door, care.with_columns(removed=pl.lit(NO_DAY, pl.Int64))],
        how="vertical_relaxed",
    )


def _deaths(periods: pl.DataFrame, cohort: pl.DataFrame) -> pl.DataFrame:
    """Children who died in care (ceased reason E2) and care leavers who died later."""
    in_care = periods.filter(pl.col("reason") == int(code_index("cla_ceased_reason", ["E2"])[0]))
    later = cohort.filter(pl.col("died") < NEVER)
    return pl.concat(
        [in_care.select("_person", day="end"), later.select("_person", day="died")], how="vertical_relaxed"
    )


def _with_person_ids(frame: pl.DataFrame, name: str, id_of: np.ndarray) -> pl.DataFrame:
    column = TABLES_BY_NAME[name].person_column
    return frame.with_columns(pl.Series(column, id_of[frame[column].to_numpy()].astype(np.int32)))


def _pruned(tables: dict[str, pl.DataFrame], window_start: date, first_extract: date) -> dict[str, pl.DataFrame]:
    return {
        name: frame.filter(in_window(name, first_extract, window_start)) if name in PRUNABLE else frame
        for name, frame in tables.items()
    }
