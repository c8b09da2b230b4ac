"""One extract = a filter over the simulated history, as the SSD's full-refresh script would see it.

For an extract taken on day X with window start W (X minus six years):

* a row exists once it has happened and been recorded (its start/event date and ``_rec`` <= X),
  unless its child's duplicate record was merged away by X (``_removed`` <= X);
* it is inside the window if it is a point event dated on/after W, or an interval that ends on/after
  W or is still open at X;
* rows referenced by rows inside the window are kept too (a referral while anything in the extract
  refers to it; the person of every row), so windowing never breaks a reference;
* every event date after X is shown as NULL (an end, decision or death not yet happened) together
  with what depends on it (ceased reason, change reason, return interview, closure reason).

Optional tables and columns a council's extract does not carry are simply not in the history
(:func:`history.simulate_history`); every function here works with the tables and columns present.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from dagster_project.contract import EVENT, TABLES, TABLES_BY_NAME
from dagster_project.extracts.generator.dates import from_day_number
from dagster_project.extracts.generator.rowcache import CHANGED, ROW


@dataclass(frozen=True)
class Timing:
    visible: str  # the row exists once this date is reached
    window: str  # compared with the window start (an end date for intervals)
    dependents: dict[str, tuple[str, ...]] = field(default_factory=dict)  # NULL together with the key column


TIMING: dict[str, Timing] = {
    "ssd_contacts": Timing("cont_contact_date", "cont_contact_date"),
    "ssd_cin_episodes": Timing("cine_referral_date", "cine_close_date", {"cine_close_date": ("cine_close_reason",)}),
    "ssd_cin_assessments": Timing("cina_assessment_start_date", "cina_assessment_auth_date"),
    "ssd_s47_enquiry": Timing("s47e_s47_start_date", "s47e_s47_end_date"),
    "ssd_initial_cp_conference": Timing("icpc_icpc_date", "icpc_icpc_date"),
    "ssd_cp_plans": Timing("cppl_cp_plan_start_date", "cppl_cp_plan_end_date"),
    "ssd_cp_reviews": Timing("cppr_cp_review_date", "cppr_cp_review_date"),
    "ssd_cla_episodes": Timing(
        "clae_cla_episode_start_date",
        "clae_cla_episode_ceased_date",
        {"clae_cla_episode_ceased_date": ("clae_cla_episode_ceased_reason",)},
    ),
    "ssd_legal_status": Timing("lega_legal_status_start_date", "lega_legal_status_end_date"),
    "ssd_cla_placement": Timing(
        "clap_cla_placement_start_date",
        "clap_cla_placement_end_date",
        {"clap_cla_placement_end_date": ("clap_cla_placement_change_reason",)},
    ),
    "ssd_missing": Timing(
        "miss_missing_episode_start_date",
        "miss_missing_episode_end_date",
        {"miss_missing_episode_end_date": ("miss_missing_rhi_offered", "miss_missing_rhi_accepted")},
    ),
    "ssd_cla_reviews": Timing("clar_cla_review_date", "clar_cla_review_date"),
}
PERSON_EXTRAS = ("pers_forename", "pers_surname", "pers_upn")
KEEP = "_keep"


def in_window(name: str, x: date, window_start: date) -> pl.Expr:
    """Whether a row of table ``name`` lies inside the window of an extract taken on ``x``."""
    col = pl.col(TIMING[name].window)
    return (col >= window_start) | col.is_null() | (col > x)


def _existing(frame: pl.DataFrame, name: str, x: date, removed: pl.Series) -> pl.DataFrame:
    table = TABLES_BY_NAME[name]
    cond = (pl.col(TIMING[name].visible) <= x) & ~pl.col(table.person_column).is_in(removed.implode())
    if "_rec" in frame.columns:
        cond &= pl.col("_rec") <= x
    return frame.filter(cond)


def _close_references(pools: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Mark as kept every row a kept row refers to; a reference is re-checked only when the table
    it starts from gained rows."""
    references = [
        (t.name, ref)
        for t in TABLES
        if t.name in pools
        for ref in t.references
        if ref.to_table != "ssd_person" and ref.to_table in pools
    ]
    pending = list(references)
    while pending:
        table, ref = pending.pop(0)
        needed = pools[table].filter(pl.col(KEEP))[ref.column].unique()
        parent = pools[ref.to_table]
        wanted = needed.filter(~needed.is_in(parent.filter(pl.col(KEEP))[ref.to_column].implode()))
        if wanted.len():
            pools[ref.to_table] = parent.with_columns(
                (pl.col(KEEP) | pl.col(ref.to_column).is_in(wanted.implode())).alias(KEEP)
            )
            pending += [(t, r) for t, r in references if t == ref.to_table and (t, r) not in pending]
    return pools


def _mask_future(frame: pl.DataFrame, name: str, x: date) -> pl.DataFrame:
    table = TABLES_BY_NAME[name]
    timing = TIMING.get(name)
    exprs = []
    for col in table.columns:
        if col.kind != EVENT or col.name not in frame.columns:
            continue
        future = pl.col(col.name) > x
        exprs.append(pl.when(future).then(None).otherwise(pl.col(col.name)).alias(col.name))
        for dep in timing.dependents.get(col.name, ()) if timing else ():
            exprs.append(pl.when(future).then(None).otherwise(pl.col(dep)).alias(dep))
    return frame.with_columns(exprs) if exprs else frame


def output_columns(name: str, frame: pl.DataFrame) -> list[str]:
    """Contract columns in contract order (an optional column only when the frame carries it), then
    the identifying extras the frame carries (and the row-cache bookkeeping columns, which the writer
    consumes)."""
    table = TABLES_BY_NAME[name]
    extras = [c for c in PERSON_EXTRAS if c in frame.columns and name == "ssd_person"]
    columns = [c.name for c in table.columns if not c.optional or c.name in frame.columns]
    return columns + extras + [c for c in (ROW, CHANGED) if c in frame.columns]


def _changed(name: str, x: date, present: list[str]) -> pl.Expr:
    """Rows whose text differs from the history's (an event date after ``x`` will show as NULL)."""
    events = [pl.col(c.name) > x for c in TABLES_BY_NAME[name].columns if c.kind == EVENT and c.name in present]
    return pl.any_horizontal(events).fill_null(False).alias(CHANGED)


def snapshot_tables(
    tables: dict[str, pl.DataFrame],
    persons: pl.DataFrame,
    leavers: pl.DataFrame,
    extract_day: int,
    window_start_day: int,
) -> dict[str, pl.DataFrame]:
    """Every contract table of the history as the extract taken on ``extract_day`` shows it
    (contract order)."""
    x, ws = from_day_number(extract_day), from_day_number(window_start_day)
    removed = persons.filter(pl.col("_removed") <= x)["pers_person_id"]
    pools = {
        name: _existing(frame, name, x, removed).with_columns(in_window(name, x, ws).alias(KEEP))
        for name, frame in tables.items()
    }
    pools = _close_references(pools)
    kept = {name: pool.filter(pl.col(KEEP)) for name, pool in pools.items()}
    kept = {
        name: frame.with_columns(_changed(name, x, frame.columns)) if ROW in frame.columns else frame
        for name, frame in kept.items()
    }
    out = {name: _mask_future(frame, name, x) for name, frame in kept.items()}
    out["ssd_care_leavers"] = leavers.filter(~pl.col("clea_person_id").is_in(removed.implode()))
    out["ssd_person"] = _persons(persons, out, x)
    return {t.name: out[t.name].select(output_columns(t.name, out[t.name])) for t in TABLES if t.name in out}


def _persons(persons: pl.DataFrame, tables: dict[str, pl.DataFrame], x: date) -> pl.DataFrame:
    referenced = pl.concat(
        [
            tables[t.name][t.person_column]
            for t in TABLES
            if t.name in tables and t.person_column and t.name != "ssd_person"
        ]
    ).unique()
    people = persons.filter(pl.col("pers_person_id").is_in(referenced.implode()))
    born = pl.col("_birth") <= x
    if ROW in people.columns:
        people = people.with_columns((~born | (pl.col("pers_death_date") > x).fill_null(False)).alias(CHANGED))
    people = people.with_columns(
        pers_dob=pl.when(born).then(pl.col("_birth")),
        pers_expected_dob=pl.when(born).then(None).otherwise(pl.col("pers_expected_dob")),
    )
    return _mask_future(people, "ssd_person", x)


def settled(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """How each history row reads once every date in it has passed (what the row cache renders):
    a person is born (date of birth shown, no expected date)."""
    if name == "ssd_person":
        frame = frame.with_columns(pers_dob=pl.col("_birth"), pers_expected_dob=pl.lit(None, pl.Date))
    return frame.select([c for c in output_columns(name, frame) if c not in (ROW, CHANGED)])
