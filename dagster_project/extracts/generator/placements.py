"""Placements and legal statuses inside each period of care (SSDA903 semantics).

Placements: a first placement when the period starts, then moves at a rate set by the child's
stability class; a few moves keep the same carer (a change of placement type only, RNE T); a
child being adopted moves to an adoption placement (A4/A6), or is placed for adoption with the
current foster carer (A3/A5, same carer); some children going home spend their last months placed
with parents (P1). Temporary placements (T0-T4) are cut into a normal placement, after which the
child returns to that same placement (a new row with the same type, provider, URN and postcode).
Legal statuses: an entry status (police protection or EPO for emergencies, section 20, interim
care order, remand) and the usual progressions (ICO -> care order, placement order before
adoption). Short-break periods (V3/V4) have a single placement and status.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from dagster_project.extracts.generator.codes import code_index
from dagster_project.extracts.generator.dates import age_in_years, day_number, month_first_day, month_index
from dagster_project.extracts.generator.identity import IN_AREA, OUT_OF_AREA
from dagster_project.extracts.generator.params import (
    CARE,
    HOME,
    OTHER,
    PLACEMENT_CHANGE_REASONS,
    PLACEMENT_KIND_WEIGHTS,
    PLACEMENT_KINDS,
    RESIDENTIAL_BY_STABILITY,
    TEMPORARY_TYPES,
    CareParams,
)
from dagster_project.extracts.generator.randomness import (
    Streams,
    group_index,
    pick,
    uniform_days,
)
from dagster_project.extracts.generator.tables import NO_DAY

FIRST, MOVE, SAME_CARER, TEMPORARY, RETURN = range(5)  # how a placement began
K3_INTRODUCED = day_number(date(2023, 10, 28))  # supported accommodation (earlier: H5)
RESIDENTIAL_KINDS = (3, 4)
PURCHASED_KIND = 3
PARENTS_KIND = 6
URN_TYPES = ("A3", "A4", "A5", "A6", "K1", "K2", "K3", "R3", "S1", "U1", "U2", "U3", "U4", "U5", "U6")
ADOPTION, HOME_WITH_PARENTS = -2, -3  # special kinds of a period's last placement
# share of moves whose previous placement could change type with the same carer (U5/U6, U2/U3):
# the same-carer probability is divided by it so that p_same_carer_change applies to all moves
SAME_CARER_ELIGIBLE_SHARE = 0.6


def _type(code: str) -> int:
    return int(code_index("placement_type", [code])[0])


def _provider(code: str) -> int:
    return int(code_index("placement_provider", [code])[0])


def _status(code: str) -> int:
    return int(code_index("legal_status", [code])[0])


# ---------------------------------------------------------------------------------------------
# change points


def _move_days(
    rng: np.random.Generator, periods: pl.DataFrame, horizon_end: int, p: CareParams
) -> tuple[np.ndarray, np.ndarray]:
    start, end = periods["start"].to_numpy(), periods["end"].to_numpy()
    room = np.minimum(end, horizon_end + 365) - start - 2
    rate = np.array(p.moves_per_year)[periods["stability"].to_numpy()]
    count = rng.poisson(rate * np.maximum(room, 0) / 365.25)
    count = np.where(periods["short"].to_numpy() > 0, 0, np.minimum(count, np.maximum(room, 0) // 7))
    owner = group_index(count)
    return owner, start[owner] + 1 + np.floor(rng.random(len(owner)) * room[owner]).astype(np.int64)


def _final_placement(rng: np.random.Generator, periods: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Day and special kind of an adoption or home-with-parents placement ending the period."""
    start, end = periods["start"].to_numpy(), periods["end"].to_numpy()
    n, length = len(start), end - start
    reason = periods["reason"].to_numpy()
    adopted = np.isin(reason, code_index("cla_ceased_reason", ["E11", "E12"])) & (length >= 150)
    home = np.isin(reason, code_index("cla_ceased_reason", ["E4A", "E4B"])) & (length > 90) & (rng.random(n) < 0.35)
    adoption_day = end - uniform_days(rng, 120, np.minimum(330, length - 30), n)
    home_day = end - uniform_days(rng, 30, np.minimum(180, length - 30), n)
    day = np.select([adopted, home], [adoption_day, home_day], NO_DAY)
    kind = np.select([adopted, home], [ADOPTION, HOME_WITH_PARENTS], 0)
    return day, kind


def _change_points(rng: np.random.Generator, periods: pl.DataFrame, horizon_end: int, p: CareParams) -> pl.DataFrame:
    """One row per placement start: period, start, how, special kind."""
    owner, day = _move_days(rng, periods, horizon_end, p)
    final_day, final_kind = _final_placement(rng, periods)
    keep = day < np.where(final_day > NO_DAY, final_day - 1, np.iinfo(np.int64).max)[owner]
    n = periods.height
    has_final = final_day > NO_DAY
    points = pl.concat(
        [
            pl.DataFrame(
                {
                    "period": np.arange(n),
                    "start": periods["start"].to_numpy(),
                    "how": np.full(n, FIRST),
                    "special": np.zeros(n, dtype=np.int64),
                }
            ),
            pl.DataFrame(
                {
                    "period": np.flatnonzero(has_final),
                    "start": final_day[has_final],
                    "how": np.full(has_final.sum(), MOVE),
                    "special": final_kind[has_final],
                }
            ),
            pl.DataFrame(
                {
                    "period": owner[keep],
                    "start": day[keep],
                    "how": np.full(keep.sum(), MOVE),
                    "special": np.zeros(keep.sum(), dtype=np.int64),
                }
            ),
        ]
    )
    return points.sort(["period", "start", "how"], maintain_order=True).unique(
        ["period", "start"], keep="first", maintain_order=True
    )


# ---------------------------------------------------------------------------------------------
# what each placement is


def _kind_weights(by_band: tuple[tuple[float, ...], ...] = PLACEMENT_KIND_WEIGHTS) -> np.ndarray:
    """Rows: age band x stability class; columns: placement kinds (``by_band``: weights by age band)."""
    rows = []
    for band in by_band:
        for factor in RESIDENTIAL_BY_STABILITY:
            w = np.array(band, dtype=float)
            w[list(RESIDENTIAL_KINDS)] *= factor
            rows.append(w)
    return np.array(rows)


def _age_band(age: np.ndarray) -> np.ndarray:
    return np.select([age < 5, age < 11, age < 16], [0, 1, 2], 3)


def _draw_kinds(
    rng: np.random.Generator,
    points: pl.DataFrame,
    periods: pl.DataFrame,
    target: float,
    p: CareParams,
    kind_weights: tuple[tuple[float, ...], ...] = PLACEMENT_KIND_WEIGHTS,
) -> np.ndarray:
    """Kind of each placement, by age and stability. Purchased residential placements respond to
    capacity: each month their weight is scaled by (target stock / current stock) ** feedback, as a
    council's commissioning keeps the number of children in them roughly steady. The loop runs
    over months, vectorised within a month."""
    period = points["period"].to_numpy()
    start, end = points["start"].to_numpy(), points["end"].to_numpy()
    age = age_in_years(periods["dob"].to_numpy()[period], start)
    weights = _kind_weights(kind_weights)[_age_band(age) * 3 + periods["stability"].to_numpy()[period]]
    eligible = (points["special"].to_numpy() == 0) & (periods["short"].to_numpy()[period] == 0)
    kind = np.zeros(len(start), dtype=np.int64)
    if len(start) == 0:
        return kind
    month = month_index(start)
    order = np.argsort(month, kind="stable")
    months = np.arange(month.min(), month.max() + 1)
    bounds = np.searchsorted(month[order], np.append(months, months[-1] + 1))
    ending = np.zeros(len(months) + 1, dtype=np.int64)  # purchased placements ending per month
    stock = 0.0
    for i in range(len(months)):  # loop over months
        rows = order[bounds[i] : bounds[i + 1]]
        factor = np.clip((target / max(stock, 0.5)) ** p.residential_feedback, 0.25, 4.0)
        w = weights[rows].copy()
        w[:, PURCHASED_KIND] *= factor
        cum = np.cumsum(w, axis=1)
        u = rng.random(len(rows)) * cum[:, -1]
        kind[rows] = (u[:, None] >= cum[:, :-1]).sum(axis=1)
        bought = rows[(kind[rows] == PURCHASED_KIND) & eligible[rows]]
        last = month_first_day(months[-1] + 1)
        np.add.at(ending, month_index(np.minimum(end[bought], last)) - months[0], 1)
        stock += len(bought) - ending[i]
    return kind


def _draw_types(rng: np.random.Generator, kind: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Placement type and provider indices (-1: none) for each placement of a given kind."""
    type_idx = np.full(len(kind), -1, dtype=np.int64)
    provider = np.full(len(kind), -1, dtype=np.int64)
    for k, spec in enumerate(PLACEMENT_KINDS):  # loop over the eight kinds
        rows = np.flatnonzero(kind == k)
        types = np.array([_type(t) for t in spec.types])
        type_idx[rows] = types[pick(rng, list(spec.types.values()), len(rows))]
        if spec.providers:
            codes = np.array([_provider(c) for c in spec.providers])
            provider[rows] = codes[pick(rng, list(spec.providers.values()), len(rows))]
        for t, code in spec.provider_by_type.items():
            provider[rows[type_idx[rows] == _type(t)]] = _provider(code)
    early = start < K3_INTRODUCED
    type_idx[early & (type_idx == _type("K3"))] = _type("H5")
    return type_idx, provider


def _specials(rng: np.random.Generator, frame: pl.DataFrame) -> pl.DataFrame:
    """Adoption and home-with-parents placements; same-carer adoption where the child is fostered.
    (A special placement is never a period's first row, so the previous row is the same period's.)"""
    n = frame.height
    special = frame["special"].to_numpy()
    prev_type = frame["type"].shift(1).fill_null(-1).to_numpy()
    prev_provider = frame["provider"].shift(1).fill_null(-1).to_numpy()
    fostered = np.isin(prev_type, [_type(t) for t in ("U1", "U2", "U3", "U4", "U5", "U6")])
    adoption, home = special == ADOPTION, special == HOME_WITH_PARENTS
    with_carer = adoption & fostered & (rng.random(n) < 0.3)
    adoption_type = np.where(rng.random(n) < 0.5, _type("A4"), _type("A6"))
    carer_type = np.where(rng.random(n) < 0.5, _type("A3"), _type("A5"))
    return frame.with_columns(
        type=np.select(
            [with_carer, adoption, home], [carer_type, adoption_type, _type("P1")], frame["type"].to_numpy()
        ),
        provider=np.select(
            [with_carer, adoption, home],
            [prev_provider, _provider("PR1"), _provider("PR0")],
            frame["provider"].to_numpy(),
        ),
        kind=np.select([adoption, home], [0, PARENTS_KIND], frame["kind"].to_numpy()),
        how=np.where(with_carer, SAME_CARER, frame["how"].to_numpy()),
    )


def _same_carer_moves(rng: np.random.Generator, frame: pl.DataFrame, p: CareParams) -> pl.DataFrame:
    """Some moves are a change of placement type with the same carer (U5/U6 -> U4, U2/U3 -> U1)."""
    prev_type = frame["type"].shift(1).fill_null(-1).to_numpy()
    to_u4 = np.isin(prev_type, [_type("U5"), _type("U6")])
    to_u1 = np.isin(prev_type, [_type("U2"), _type("U3")])
    same = (
        (frame["how"].to_numpy() == MOVE)
        & (frame["special"].to_numpy() == 0)
        & (to_u4 | to_u1)
        & (rng.random(frame.height) < p.p_same_carer_change / SAME_CARER_ELIGIBLE_SHARE)
    )
    # never two in a row: the second would "change" a placement into what it already is
    same &= ~np.r_[False, same[:-1]]
    return frame.with_columns(
        how=np.where(same, SAME_CARER, frame["how"].to_numpy()),
        type=np.select([same & to_u4, same & to_u1], [_type("U4"), _type("U1")], frame["type"].to_numpy()),
        provider=np.where(same, frame["provider"].shift(1).fill_null(-1).to_numpy(), frame["provider"].to_numpy()),
    )


def _carer_details(rng: np.random.Generator, frame: pl.DataFrame) -> pl.DataFrame:
    """URN, postcode (a number in the pool of :mod:`identity`) and distance of each carer;
    a same-carer row copies its predecessor's."""
    n = frame.height
    out = rng.random(n) < np.array([k.out_of_area for k in PLACEMENT_KINDS])[frame["kind"].to_numpy()]
    has_urn = np.isin(frame["type"].to_numpy(), [_type(t) for t in URN_TYPES])
    same = pl.Series(frame["how"].to_numpy() == SAME_CARER)
    fresh = pl.DataFrame(
        {
            "urn": pl.Series(np.where(has_urn, rng.integers(100000, 999999, n), -1)).set(pl.Series(~has_urn), None),
            "postcode": np.where(out, IN_AREA + rng.integers(0, OUT_OF_AREA, n), rng.integers(0, IN_AREA, n)),
            "distance": np.round(
                np.minimum(np.where(out, 10 + rng.gamma(2.0, 20.0, n), 0.3 + rng.gamma(1.6, 1.8, n)), 350.0),
                1,
            ),
        }
    )
    blanked = pl.DataFrame({c: fresh[c].set(same, None) for c in fresh.columns})
    filled = pl.concat([frame.select("period"), blanked], how="horizontal").select(
        pl.col("urn", "postcode", "distance").forward_fill().over("period")
    )
    return frame.with_columns(**{c: pl.when(same).then(filled[c]).otherwise(fresh[c]) for c in fresh.columns})


def _with_ends(frame: pl.DataFrame, periods: pl.DataFrame) -> pl.DataFrame:
    period_end = pl.Series(periods["end"].to_numpy())[frame["period"].to_numpy()]
    nxt = frame["start"].shift(-1)
    same_period = frame["period"].shift(-1) == frame["period"]
    return frame.with_columns(end=pl.when(same_period).then(nxt).otherwise(period_end))


# ---------------------------------------------------------------------------------------------
# temporary placements


def _temporary_splits(
    rng: np.random.Generator, frame: pl.DataFrame, periods: pl.DataFrame, p: CareParams
) -> pl.DataFrame:
    length = (frame["end"] - frame["start"]).to_numpy()
    ordinary = ~np.isin(frame["type"].to_numpy(), [_type(t) for t in ("A3", "A4", "A5", "A6", "P1", "K3", "H5")])
    ordinary &= periods["short"].to_numpy()[frame["period"].to_numpy()] == 0
    chance = 1 - np.exp(-p.temporary_per_year * np.maximum(length, 0) / 365.25)
    chosen = np.flatnonzero(ordinary & (length >= 21) & (rng.random(frame.height) < chance))
    n = len(chosen)
    if n == 0:
        return frame
    base = frame[chosen]
    shares, longest = zip(*TEMPORARY_TYPES.values(), strict=True)
    which = pick(rng, shares, n)
    t_type = np.array([_type(t) for t in TEMPORARY_TYPES])[which]
    t_start = base["start"].to_numpy() + uniform_days(rng, 3, length[chosen] - 14, n)
    t_len = np.minimum(uniform_days(rng, 1, np.array(longest)[which], n), base["end"].to_numpy() - t_start - 3)
    t_len = np.maximum(t_len, 1)
    before = base.with_columns(end=t_start)
    temporary = base.with_columns(
        start=t_start,
        end=t_start + t_len,
        how=TEMPORARY,
        type=t_type,
        provider=-1,
        urn=pl.lit(None, pl.Int64),
        postcode=pl.lit(None, pl.Int64),
        distance=pl.lit(None, pl.Float64),
    )
    back = base.with_columns(start=t_start + t_len, how=RETURN)
    rest = frame.with_row_index("_i").filter(~pl.col("_i").is_in(chosen)).drop("_i")
    return pl.concat([rest, before, temporary, back], how="vertical_relaxed").sort(
        ["period", "start"], maintain_order=True
    )


def _change_reasons(rng: np.random.Generator, frame: pl.DataFrame) -> np.ndarray:
    """Reason recorded on each ending placement, from how the next placement began."""
    next_how = frame["how"].shift(-1).fill_null(FIRST).to_numpy()
    same_period = (frame["period"].shift(-1) == frame["period"]).fill_null(False).to_numpy()
    codes = code_index("placement_change_reason", list(PLACEMENT_CHANGE_REASONS))
    drawn = codes[pick(rng, list(PLACEMENT_CHANGE_REASONS.values()), frame.height)]
    place = code_index("placement_change_reason", ["PLACE"])[0]
    return np.select([~same_period, next_how == SAME_CARER, next_how == MOVE], [-1, place, drawn], -1)


def build_placements(
    streams: Streams,
    periods: pl.DataFrame,
    horizon_end: int,
    scale: float,
    p: CareParams = CARE,
    kind_weights: tuple[tuple[float, ...], ...] = PLACEMENT_KIND_WEIGHTS,
) -> pl.DataFrame:
    """Placement rows: period, start, end, how, type, provider, urn, postcode, distance, reason.
    ``kind_weights``: the council's placement-kind weights by age band (PLACEMENT_KIND_WEIGHTS)."""
    rng = streams.rng("care", "placements")
    frame = _with_ends(_change_points(rng, periods, horizon_end, p), periods)
    kind = _draw_kinds(rng, frame, periods, p.purchased_residential_target * scale, p, kind_weights)
    short = periods["short"].to_numpy()[frame["period"].to_numpy()] > 0
    kind = np.where(short, 0, kind)
    type_idx, provider = _draw_types(rng, kind, frame["start"].to_numpy())
    frame = frame.with_columns(kind=kind, type=type_idx, provider=provider)
    frame = _specials(rng, frame)
    frame = _same_carer_moves(rng, frame, p)
    frame = _carer_details(rng, frame)
    frame = _temporary_splits(rng, frame, periods, p)
    return frame.with_columns(reason=_change_reasons(rng, frame))


# ---------------------------------------------------------------------------------------------
# legal statuses


def build_legal_statuses(streams: Streams, periods: pl.DataFrame, adoption_day: np.ndarray) -> pl.DataFrame:
    """Legal status rows: period, start, end, status. ``adoption_day`` is the day each period's
    adoption placement starts (NO_DAY: none); a placement order (E1) precedes it."""
    rng = streams.rng("care", "legal")
    start, end = periods["start"].to_numpy(), periods["end"].to_numpy()
    n = len(start)
    category = periods["category"].to_numpy()
    short = periods["short"].to_numpy()
    age = age_in_years(periods["dob"].to_numpy(), start)
    emergency = rng.random(n) < 0.08
    remand = (age >= 12) & (category == OTHER) & (rng.random(n) < 0.3)
    p_s20 = np.array([0.7, 0.15, 0.4, 0.5, 0.4, 0.0])[category]
    s20 = rng.random(n) < p_s20
    first = np.select(
        [short == 3, short == 4, emergency, remand, s20],
        [
            _status("V3"),
            _status("V4"),
            np.where(rng.random(n) < 0.5, _status("L1"), _status("L2")),
            _status("J2"),
            _status("V2"),
        ],
        _status("C2"),
    )
    rows = [(np.arange(n), start, first)]
    day, status = start.copy(), first.copy()
    # emergency protection ends after a few days: interim care order (or section 20)
    step = emergency & (short == 0)
    day = np.where(step, day + uniform_days(rng, 1, 8, n), day)
    status = np.where(step, np.where(rng.random(n) < 0.7, _status("C2"), _status("V2")), status)
    rows.append((np.flatnonzero(step), day[step], status[step]))
    # some section 20 children become subject to proceedings
    step = (status == _status("V2")) & (category != HOME) & (rng.random(n) < 0.2)
    day = np.where(step, day + uniform_days(rng, 30, 400, n), day)
    status = np.where(step, _status("C2"), status)
    rows.append((np.flatnonzero(step), day[step], status[step]))
    # interim care orders become full care orders
    step = status == _status("C2")
    day = np.where(step, day + uniform_days(rng, 90, 365, n), day)
    status = np.where(step, _status("C1"), status)
    rows.append((np.flatnonzero(step), day[step], status[step]))
    # placement order before an adoption placement
    step = adoption_day > NO_DAY
    e1_day = np.maximum(adoption_day - np.where(rng.random(n) < 0.3, 0, uniform_days(rng, 14, 120, n)), day + 1)
    rows.append((np.flatnonzero(step), e1_day[step], np.full(step.sum(), _status("E1"))))
    frame = pl.DataFrame(
        {
            "period": np.concatenate([r[0] for r in rows]),
            "start": np.concatenate([r[1] for r in rows]).astype(np.int64),
            "status": np.concatenate([r[2] for r in rows]).astype(np.int64),
        }
    )
    period_end = pl.Series(end)[frame["period"].to_numpy()]
    frame = frame.filter(
        (pl.col("start") < period_end - 1) | (pl.col("start") == pl.Series(start)[frame["period"].to_numpy()])
    )
    frame = frame.sort(["period", "start"], maintain_order=True).unique(
        ["period", "start"], keep="last", maintain_order=True
    )
    return _with_ends(frame, periods)
