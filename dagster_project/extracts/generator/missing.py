"""Missing (type M) and away (type A) episodes, from home and from care.

Going missing is repeat-heavy: a few children go missing many times. Each month a set number of
children are "active" (chosen among children in care aged 11-17, and among a pool of teenagers
known to the front door, by a propensity that persists from month to month); each active child has
one or more missing episodes that month, some also away episodes, mostly returning within two
days. A child's episodes never overlap. Return home interviews are offered on most ended missing
episodes; how many are accepted is a per-month share (children in care accept less often).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from dagster_project.extracts.generator.codes import code_column, code_index
from dagster_project.extracts.generator.dates import birthday, month_first_day, month_index
from dagster_project.extracts.generator.params import MISSING, MissingParams
from dagster_project.extracts.generator.randomness import (
    Streams,
    group_cumsum,
    group_index,
    monthly_values,
    pick,
    position_in_group,
    quota,
    sizes_of_sorted_groups,
    uniform_days,
)
from dagster_project.extracts.generator.tables import ID_BASE, assign_ids, date_column
from dagster_project.extracts.generator.timeline import Timeline


def _cells(person: np.ndarray, first: np.ndarray, last: np.ndarray) -> pl.DataFrame:
    """One row per (person, month) for months first..last of each eligibility span."""
    count = np.maximum(last - first + 1, 0)
    owner = group_index(count)
    return pl.DataFrame({"_person": person[owner], "month": first[owner] + position_in_group(count)})


def _care_cells(periods: pl.DataFrame, m0: int, m1: int) -> pl.DataFrame:
    """Months a child aged 11-17 spends wholly in care (and the first 10 days of the next)."""
    periods = periods.filter(pl.col("short") == 0)
    start, end, dob = (periods[c].to_numpy() for c in ("start", "end", "dob"))
    first = np.maximum.reduce([month_index(start - 1) + 1, month_index(birthday(dob, 11)) + 1, np.full(len(start), m0)])
    last = np.minimum.reduce(
        [
            month_index(end - 10) - 1,
            month_index(birthday(dob, 18) - 11) - 1,
            np.full(len(start), m1),
        ]
    )
    return _cells(periods["_person"].to_numpy(), first, last)


def _home_cells(rng: np.random.Generator, children: pl.DataFrame, m0: int, m1: int, p: MissingParams) -> pl.DataFrame:
    """Months a front-door teenager of the missing-prone pool could go missing from home."""
    pool = children.filter(pl.Series(rng.random(children.height) < p.home_pool_share))
    dob, seen = pool["dob"].to_numpy(), pool["first_seen"].to_numpy()
    first = np.maximum.reduce([month_index(seen), month_index(birthday(dob, 11)) + 1, np.full(len(dob), m0)])
    last = np.minimum.reduce([month_index(birthday(dob, 18)) - 2, month_index(seen) + 36, np.full(len(dob), m1)])
    return _cells(pool["_person"].to_numpy(), first, last)


def _active_cells(streams: Streams, name: str, cells: pl.DataFrame, per_month: float, p: MissingParams) -> pl.DataFrame:
    """Each month, the ``per_month`` eligible children with the highest persistent propensity."""
    rng = streams.rng("missing", name, "propensity")
    cells = cells.sort(["month", "_person"], maintain_order=True)
    people, child = np.unique(cells["_person"].to_numpy(), return_inverse=True)
    base = rng.standard_normal(len(people))
    state = rng.standard_normal(len(people))
    month = cells["month"].to_numpy()
    months = np.unique(month)
    bounds = np.searchsorted(month, np.concatenate([months, [np.iinfo(np.int64).max]]))
    wanted = np.round(
        per_month
        * (1 + p.seasonal_amplitude * np.cos(2 * np.pi * (months % 12 - 6) / 12))
        * (1 + monthly_values(streams, f"missing-{name}", months, 0.0, 0.04))
    ).astype(np.int64)
    active = np.zeros(len(month), dtype=bool)
    shock = np.sqrt(1 - p.persistence**2)
    for i in range(len(months)):  # loop over months
        state = p.persistence * state + shock * rng.standard_normal(len(people))
        rows = np.arange(bounds[i], bounds[i + 1])
        score = base[child[rows]] * 0.8 + state[child[rows]]
        k = min(wanted[i], len(rows))
        if k > 0:
            active[rows[np.argpartition(-score, k - 1)[:k]]] = True
    return cells.filter(pl.Series(active))


def _episodes(
    rng: np.random.Generator, active: pl.DataFrame, extra: float, away: float, p: MissingParams
) -> pl.DataFrame:
    """Episodes of the active child-months: start, duration, type (M first)."""
    person = active["_person"].to_numpy()
    people, child = np.unique(person, return_inverse=True)
    rate = rng.gamma(1.5, extra / 1.5, len(people))[child]
    away_rate = rng.gamma(1.0, away, len(people))[child]
    n_missing = 1 + np.minimum(rng.poisson(rate), 12)
    n_away = np.minimum(rng.poisson(away_rate), 8)
    count = n_missing + n_away
    cell = group_index(count)
    first_day = month_first_day(active["month"].to_numpy())
    length = month_first_day(active["month"].to_numpy() + 1) - first_day
    offset = np.floor(rng.random(len(cell)) * length[cell]).astype(np.int64)
    rank = np.empty(len(cell), dtype=np.int64)
    order = np.lexsort((rng.random(len(cell)), cell))
    rank[order] = position_in_group(count)
    durations = np.array(list(p.duration_days))
    duration = durations[pick(rng, list(p.duration_days.values()), len(cell))]
    duration = np.where(duration >= 3, duration + rng.integers(0, np.maximum(duration // 2, 1)), duration)
    return pl.DataFrame(
        {
            "_person": person[cell],
            "start": first_day[cell] + offset,
            "duration": duration,
            "missing": rank < n_missing[cell],
        }
    )


def _without_overlaps(episodes: pl.DataFrame) -> pl.DataFrame:
    """Push each child's episodes later where needed so that none starts before the previous ends:
    end_k = D_k + max_{j<=k}(s_j - D_{j-1}) with D the running total of durations."""
    episodes = episodes.sort(["_person", "start"], maintain_order=True)
    sizes = sizes_of_sorted_groups(episodes["_person"].to_numpy())
    s, d = episodes["start"].to_numpy(), episodes["duration"].to_numpy()
    total = group_cumsum(d, sizes)
    slack = (
        pl.DataFrame({"g": group_index(sizes), "v": s - (total - d)})
        .select(pl.col("v").cum_max().over("g"))["v"]
        .to_numpy()
    )
    end = total + slack
    return episodes.with_columns(start=end - d, end=end)


def _rhi(streams: Streams, rng: np.random.Generator, episodes: pl.DataFrame, p: MissingParams) -> pl.DataFrame:
    n = episodes.height
    missing = episodes["missing"].to_numpy()
    offered = np.array(list(p.rhi_offered))[pick(rng, list(p.rhi_offered.values()), n)]
    offered = np.where(missing, offered, np.where(rng.random(n) < 0.7, "NA", np.where(rng.random(n) < 0.5, "N", "Y")))
    cla = episodes["in_care"].to_numpy()
    month = month_index(episodes["end"].to_numpy())
    share = np.where(
        cla,
        monthly_values(streams, "rhi-cla", month, p.rhi_accepted_cla, p.rhi_jitter),
        monthly_values(streams, "rhi-home", month, p.rhi_accepted_home, p.rhi_jitter),
    )
    eligible = missing & (offered == "Y")
    keys = np.where(eligible, month * 2 + cla, -1)
    accepted_quota = quota(keys, share, rng)
    accepted = np.where(offered == "Y", np.where(eligible, accepted_quota, rng.random(n) < 0.4), False)
    accepted_code = np.where(offered == "Y", np.where(accepted, "Y", "N"), "NA")
    rhi = code_index("rhi", ["Y", "N", "NA"])
    to_idx = {"Y": rhi[0], "N": rhi[1], "NA": rhi[2]}
    return episodes.with_columns(
        offered=np.select([offered == k for k in to_idx], list(to_idx.values())),
        accepted=np.select([accepted_code == k for k in to_idx], list(to_idx.values())),
    )


def simulate_missing(
    streams: Streams,
    timeline: Timeline,
    scale: float,
    periods: pl.DataFrame,
    children: pl.DataFrame,
    p: MissingParams = MISSING,
) -> pl.DataFrame:
    """The ssd_missing table (person as index, ids assigned, ``_rec`` recorded day)."""
    rng = streams.rng("missing", "episodes")
    m0, m1 = month_index(timeline.first_window_start) - 1, month_index(timeline.end)
    parts = []
    for name, cells, per_month, extra, away in (  # from care, from home
        (
            "cla",
            _care_cells(periods, m0, m1),
            p.cla_children_per_month,
            p.extra_episodes_cla,
            p.away_episodes_cla,
        ),
        (
            "home",
            _home_cells(rng, children, m0, m1, p),
            p.home_children_per_month,
            p.extra_episodes_home,
            p.away_episodes_home,
        ),
    ):
        active = _active_cells(streams, name, cells, per_month * scale, p)
        parts.append(_episodes(rng, active, extra, away, p).with_columns(in_care=pl.lit(name == "cla")))
    episodes = _without_overlaps(pl.concat(parts)).filter(pl.col("start") <= timeline.end)
    episodes = _rhi(streams, rng, episodes, p)
    n = episodes.height
    late = rng.random(n) < p.late_share
    episodes = episodes.with_columns(rec=episodes["start"] + np.where(late, uniform_days(rng, *p.late_lag_days, n), 0))
    episodes = assign_ids(episodes, "id", ("rec", "start"), ID_BASE["ssd_missing"])
    return pl.DataFrame(
        {
            "miss_table_id": episodes["id"],
            "miss_person_id": episodes["_person"],
            "miss_missing_episode_start_date": date_column(episodes["start"]),
            "miss_missing_episode_type": code_column(
                "missing_type",
                np.where(episodes["missing"].to_numpy(), *code_index("missing_type", ["M", "A"])),
            ),
            "miss_missing_episode_end_date": date_column(episodes["end"]),
            "miss_missing_rhi_offered": code_column("rhi", episodes["offered"].to_numpy()),
            "miss_missing_rhi_accepted": code_column("rhi", episodes["accepted"].to_numpy()),
            "_rec": date_column(episodes["rec"]),
        }
    )
