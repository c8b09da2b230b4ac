"""The front door: each child's run of contacts and the decision on every contact.

A child's contacts arrive as a run (a first contact, then more after random gaps); contacts are
thinned by their source's seasonality (schools fall silent in August) and by weekends. Each
contact is decided within a few working days; a contact that would lead to a referral opens one
(a new referral, with its whole journey drawn by :mod:`protection`) unless the child already has
an open referral, in which case it is recorded against the existing one. The loop runs over the
position of a contact in its child's run (a stage), vectorised over all children.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from dagster_project.contract import CONTACT_OUTCOME_KEYS
from dagster_project.extracts.generator.codes import choose_codes, code_column, enum_column
from dagster_project.extracts.generator.dates import add_working_days, birthday, is_working_day, month_index
from dagster_project.extracts.generator.params import (
    BRADFORD,
    COMMENTS,
    FRONT_DOOR,
    SOURCE_GROUPS,
    Calibration,
    FrontDoorParams,
    SourceGroup,
)
from dagster_project.extracts.generator.protection import concat_paths, draw_paths
from dagster_project.extracts.generator.randomness import (
    Streams,
    group_cumsum,
    group_index,
    pick,
    pick_per_row,
    position_in_group,
    rank_in_group,
    sizes_of_sorted_groups,
    uniform_days,
)
from dagster_project.extracts.generator.tables import ID_BASE, NO_DAY, assign_ids, date_column
from dagster_project.extracts.generator.timeline import Timeline

BATCH_CHILDREN = 1_000_000  # children simulated together
BATCH_THREADS = 2  # batches simulated at once
# outcome categories of a contact
REFERRAL, ADVICE, NFA, OTHER = range(4)
# bit of each outcome flag in CONTACT_OUTCOME_KEYS order
FLAG_BITS = {key: bit for bit, key in enumerate(CONTACT_OUTCOME_KEYS[:10])}


@dataclass(frozen=True)
class FrontDoor:
    contacts: pl.DataFrame  # draft contacts: _person, day, source, decision, flags, comment, rec
    paths: dict[str, np.ndarray]  # referral journeys (protection.draw_paths) + _person, source, rec
    children: pl.DataFrame  # _person, dob, first_seen, removed (merged duplicate: day; else NO_DAY)


def simulate_front_door(
    streams: Streams, timeline: Timeline, scale: float, person_offset: int, cal: Calibration = BRADFORD
) -> FrontDoor:
    """Every child's contacts and referrals. Children are simulated in batches (they are independent)
    so memory stays bounded at any scale; contacts and referrals that end before the first window
    are dropped as soon as they have served to settle the children's referral state."""
    p = cal.front_door
    start, dob, repeat = _draw_children(streams, timeline, scale, p)
    # batches are independent (each draws from its own streams): BATCH_THREADS run at once, numpy
    # releasing the GIL for most of their work; results come back in batch order
    with ThreadPoolExecutor(max_workers=BATCH_THREADS) as pool:
        batches = list(
            pool.map(
                lambda batch: _simulate_batch(streams, batch, (start, dob, repeat), timeline, person_offset, cal),
                range(-(-len(start) // BATCH_CHILDREN)),
            )
        )
    first_seen = np.concatenate([b[0] for b in batches]) if batches else np.zeros(0, dtype=np.int64)
    drafts, paths = [b[1] for b in batches], [b[2] for b in batches]
    seen = first_seen < np.iinfo(np.int64).max  # children whose every contact was thinned away vanish
    children = pl.DataFrame(
        {
            "_person": np.arange(len(start))[seen] + person_offset,
            "dob": dob[seen],
            "first_seen": first_seen[seen],
            "removed": _merged_duplicates(streams, first_seen[seen], p),
        }
    )
    frame = pl.concat([pl.DataFrame(d) for d in drafts]).select("_person", pl.exclude("_person"))
    return FrontDoor(frame, {k: np.concatenate([p_[k] for p_ in paths]) for k in paths[0]}, children)


def _simulate_batch(
    streams: Streams,
    batch: int,
    children: tuple[np.ndarray, np.ndarray, np.ndarray],
    timeline: Timeline,
    person_offset: int,
    cal: Calibration,
) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Batch ``batch`` of the children (``children`` = start, dob, repeat of all): each child's first
    recorded contact day (int64 max if none), and the batch's draft contacts and referral paths
    inside the window."""
    lo = batch * BATCH_CHILDREN
    start, dob, repeat = (values[lo : lo + BATCH_CHILDREN] for values in children)
    chain, day = _draw_contact_days(streams, batch, start, dob, repeat, timeline.end, cal.front_door)
    chain, day, group = _thin_by_season(streams, batch, chain, day, cal.source_groups)
    contacts = _decide(streams, batch, chain, day, group, repeat[chain], cal)
    first_seen = np.full(len(start), np.iinfo(np.int64).max)
    np.minimum.at(first_seen, chain, contacts["rec"])
    part = contacts.pop("paths")
    part["_person"] = part.pop("chain") + lo + person_offset
    contacts["_person"] = chain + lo + person_offset
    return (
        first_seen,
        _compact(contacts, day >= timeline.first_window_start),
        _compact(part, part["close"] >= timeline.first_window_start),
    )


def _merged_duplicates(streams: Streams, first_seen: np.ndarray, p: FrontDoorParams) -> np.ndarray:
    """Day a child's record is merged into another (all its rows vanish); NO_DAY for most."""
    rng = streams.rng("front-door", "duplicates")
    n = len(first_seen)
    merged = rng.random(n) < p.removed_share
    return np.where(merged, first_seen + uniform_days(rng, *p.removal_lag_days, n), NO_DAY)


def _compact(columns: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    """The kept elements, in the smallest integer type that holds each column."""
    out = {}
    for name, values in columns.items():
        values = values[keep]
        if values.dtype.kind == "i":
            values = values.astype(np.int32 if values.size == 0 or abs(values).max() >= 2**15 else np.int16)
        out[name] = values
    return out


def _draw_children(
    streams: Streams, timeline: Timeline, scale: float, p: FrontDoorParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = streams.rng("front-door", "children")
    t0 = timeline.first_window_start - 365 * p.burn_in_years
    n = int(rng.poisson(p.chains_per_day * scale * (timeline.end - t0 + 1)))
    start = np.sort(rng.integers(t0, timeline.end + 1, n))
    unborn = rng.random(n) < p.unborn_share
    age_days = pick(rng, p.age_weights, n) * 365 + rng.integers(0, 365, n)
    dob = np.where(unborn, start + rng.integers(20, 200, n), start - age_days)
    return start, dob, (rng.random(n) < p.repeat_share).astype(np.int64)


def _draw_contact_days(
    streams: Streams,
    batch: int,
    start: np.ndarray,
    dob: np.ndarray,
    repeat: np.ndarray,
    end: int,
    p: FrontDoorParams,
) -> tuple[np.ndarray, np.ndarray]:
    rng = streams.rng("front-door", "runs", batch)
    count = rng.geometric(1 - np.array(p.p_another_contact)[repeat])
    chain, pos = group_index(count), position_in_group(count)
    shares = np.array([[s for s, _ in mix] for mix in p.gap_mix])
    means = np.array([[m for _, m in mix] for mix in p.gap_mix])
    kind = repeat[chain]
    gap = np.ceil(rng.exponential(1.0, len(chain)) * means[kind, pick_per_row(rng, shares, kind)])
    gap[pos == 0] = 0
    day = start[chain] + group_cumsum(gap.astype(np.int64), count)
    keep = (day <= end) & (day < birthday(dob, 18)[chain])
    return chain[keep], day[keep]


def _thin_by_season(
    streams: Streams, batch: int, chain: np.ndarray, day: np.ndarray, groups: tuple[SourceGroup, ...]
) -> tuple[np.ndarray, ...]:
    """Keep each contact with its source's seasonal and weekday intensity (relative to the peak)."""
    rng = streams.rng("front-door", "season", batch)
    group = pick(rng, [g.share for g in groups], len(day))
    season = np.array([g.season for g in groups])
    weekend = np.array([g.weekend for g in groups])
    intensity = season[group, month_index(day) % 12] * np.where(is_working_day(day), 1.0, weekend[group])
    keep = rng.random(len(day)) < intensity / season.max()
    return chain[keep], day[keep], group[keep]


def source_codes(
    rng: np.random.Generator, group: np.ndarray, groups: tuple[SourceGroup, ...] = SOURCE_GROUPS
) -> np.ndarray:
    """A DfE contact source code (index into the contract list) for contacts of each source group."""
    source = np.zeros(len(group), dtype=np.int64)
    for g, spec in enumerate(groups):  # loop over the six source groups
        rows = np.flatnonzero(group == g)
        source[rows] = choose_codes(rng, "contact_source", spec.codes, len(rows))
    return source


def _decide(
    streams: Streams,
    batch: int,
    chain: np.ndarray,
    day: np.ndarray,
    group: np.ndarray,
    repeat: np.ndarray,
    cal: Calibration,
) -> dict:
    """Decision day, outcome and (where a referral opens) the referral's path of every contact."""
    p = cal.front_door
    rng = streams.rng("front-door", "decisions", batch)
    n = len(day)
    offsets = np.array(list(p.decision_working_days))[pick(rng, list(p.decision_working_days.values()), n)]
    decision = add_working_days(day, offsets)
    late = rng.random(n) < p.late_share
    rec = day + np.where(late, uniform_days(rng, *p.late_lag_days, n), 0)
    existing_draw = rng.random(n) < p.p_existing_flag
    outcome, new, existing, parts = _referral_state_loop(
        streams, batch, chain, decision, rng.random(n), group, np.array(p.referral_factor)[repeat], cal
    )
    empty = np.zeros(0, np.int64)
    paths = concat_paths([part for _, part in parts]) if parts else draw_paths(rng, empty, p=cal.protection)
    rows = np.concatenate([r for r, _ in parts]) if parts else np.zeros(0, dtype=np.int64)
    source = source_codes(rng, group, cal.source_groups)
    paths.update(chain=chain[rows], source=source[rows], rec=rec[rows])
    flags = _outcome_flags(rng, outcome, new, existing & existing_draw, group, rows, paths["s47"], n, p)
    comment = np.where(rng.random(n) < p.comment_share, rng.integers(1, len(COMMENTS) + 1, n), 0)
    return {
        "day": day,
        "source": source,
        "decision": decision,
        "flags": flags,
        "comment": comment,
        "rec": rec,
        "late": late,
        "paths": paths,
    }


def _outcomes(
    u: np.ndarray, group: np.ndarray, factor: np.ndarray, groups: tuple[SourceGroup, ...] = SOURCE_GROUPS
) -> np.ndarray:
    """Outcome category of contacts with uniform draws ``u``; the referral share is scaled by
    ``factor`` and the other outcomes share the rest in their usual proportions."""
    shares = np.array([[g.p_referral, g.p_advice, g.p_nfa] for g in groups])[group]
    refer = np.minimum(shares[:, 0] * factor, 0.95)
    rest = (1 - refer) / (1 - shares[:, 0])
    advice_to = refer + shares[:, 1] * rest
    return np.select([u < refer, u < advice_to, u < advice_to + shares[:, 2] * rest], [REFERRAL, ADVICE, NFA], OTHER)


def _referral_state_loop(
    streams: Streams,
    batch: int,
    chain: np.ndarray,
    decision: np.ndarray,
    u: np.ndarray,
    group: np.ndarray,
    factor: np.ndarray,
    cal: Calibration,
) -> tuple:
    """Walk the contacts stage by stage (k-th contact of every child at once), keeping each
    child's referral state: a contact leads to a new referral only when none is open, and more
    readily when the child's last referral closed less than a year ago (a known family)."""
    n = len(chain)
    open_until = np.full(chain.max() + 1 if n else 0, NO_DAY, dtype=np.int64)
    pos = position_in_group(sizes_of_sorted_groups(chain))
    # contacts in stage order (stable, so ascending within a stage): each stage is then a slice of
    # the reordered columns instead of a gather from every column
    order = np.argsort(pos.astype(np.int16) if n and pos.max() < 2**15 else pos, kind="stable")  # radix sort
    bounds = np.searchsorted(pos[order], np.arange(pos.max() + 2 if n else 1))
    chain, decision, u, group, factor = (values[order] for values in (chain, decision, u, group, factor))
    outcome = np.zeros(n, dtype=np.int64)
    new = np.zeros(n, dtype=bool)
    existing = np.zeros(n, dtype=bool)
    parts = []
    for k in range(len(bounds) - 1):  # stages: the k-th contact of each child
        stage = slice(bounds[k], bounds[k + 1])
        ch, day = chain[stage], decision[stage]
        is_open = day < open_until[ch]
        known = ~is_open & (day - open_until[ch] < 365)
        known_factor = np.where(known, cal.front_door.known_family_factor, 1.0)
        outcome[stage] = _outcomes(u[stage], group[stage], factor[stage] * known_factor, cal.source_groups)
        refer = outcome[stage] == REFERRAL
        opens = refer & ~is_open
        existing[stage] = refer & is_open
        new[stage] = opens
        path = draw_paths(streams.rng("front-door", "paths", batch, k), day[opens], p=cal.protection)
        open_until[ch[opens]] = path["close"]
        parts.append((order[stage][opens], path))
    unsorted = np.empty_like(order)
    unsorted[order] = np.arange(n)
    return outcome[unsorted], new[unsorted], existing[unsorted], parts


def _outcome_flags(
    rng: np.random.Generator,
    outcome: np.ndarray,
    new: np.ndarray,
    existing: np.ndarray,
    group: np.ndarray,
    referral_rows: np.ndarray,
    referral_s47: np.ndarray,
    n: int,
    p: FrontDoorParams,
) -> np.ndarray:
    flags = np.zeros(n, dtype=np.int64)
    cp_enquiry = np.zeros(n, dtype=bool)
    cp_enquiry[referral_rows[referral_s47]] = True
    police = group == 0
    for key, on in (
        ("NEW_REFERRAL_FLAG", new),
        ("EXISTING_REFERRAL_FLAG", existing),
        ("CP_ENQUIRY_FLAG", cp_enquiry),
        ("ADVICE_FLAG", outcome == ADVICE),
        ("NFA_FLAG", (outcome == NFA) | ((outcome == REFERRAL) & ~new & ~existing)),
        ("OTHER_OUTCOMES_EXIST_FLAG", outcome == OTHER),
        ("MISSING_FLAG", police & (rng.random(n) < p.missing_flag_share_police)),
        ("OLA_CP_FLAG", rng.random(n) < p.ola_cp_share),
        ("NON_AGENCY_ADOPTION_FLAG", rng.random(n) < p.non_agency_adoption_share),
    ):
        flags |= on.astype(np.int64) << FLAG_BITS[key]
    return flags


def add_private_fostering(
    streams: Streams, drafts: pl.DataFrame, merged: np.ndarray, p: FrontDoorParams = FRONT_DOOR, scale: float = 1.0
) -> pl.DataFrame:
    """Flag a small, steady number of contacts a month as private fostering arrangements (never a
    late-recorded contact, nor one of a child whose record is later merged away, so the monthly
    count holds in every extract)."""
    rng = streams.rng("front-door", "private-fostering")
    stable = ~drafts["late"].to_numpy() & ~np.isin(drafts["_person"].to_numpy(), merged)
    candidates = np.flatnonzero(stable & (rng.random(drafts.height) < 0.02))
    month = month_index(drafts["day"].to_numpy()[candidates])
    lo, hi = p.private_fostering_per_month
    unique = np.unique(month)
    per_month = np.array([streams.rng("private-fostering", int(m)).integers(lo, hi + 1) for m in unique]) * scale
    rank = rank_in_group(month, rng)
    chosen = candidates[rank < np.round(per_month[np.searchsorted(unique, month)])]
    flags = drafts["flags"].to_numpy().copy()
    flags[chosen] |= 1 << FLAG_BITS["PRIVATE_FOSTERING_FLAG"]
    return drafts.with_columns(flags=flags)


def _outcome_json(flags: int, comment: int) -> str:
    obj: dict[str, object] = {key: "Y" if flags >> bit & 1 else "N" for key, bit in FLAG_BITS.items()}
    obj["NUMBER_OF_OUTCOMES"] = bin(flags).count("1")
    obj["COMMENTS"] = COMMENTS[comment - 1] if comment else ""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def outcome_json_column(flags: np.ndarray, comment: np.ndarray) -> pl.Series:
    """The outcome JSON of each contact, as an Enum over the combinations that occur."""
    code = flags.astype(np.int64) * 256 + comment
    present = np.bincount(code, minlength=1) > 0  # the combinations that occur (small integer codes)
    unique = np.flatnonzero(present)
    inverse = (np.cumsum(present) - 1)[code]
    texts = [_outcome_json(int(c) // 256, int(c) % 256) for c in unique]  # one per combination
    return enum_column(texts, inverse)


def contacts_table(drafts: pl.DataFrame) -> pl.DataFrame:
    """The ssd_contacts table (ids in recording order; person still an index)."""
    drafts = assign_ids(drafts, "id", ("rec", "day"), ID_BASE["ssd_contacts"])
    return pl.DataFrame(
        {
            "cont_contact_id": drafts["id"],
            "cont_person_id": drafts["_person"],
            "cont_contact_date": date_column(drafts["day"]),
            "cont_contact_source_code": code_column("contact_source", drafts["source"].to_numpy()),
            "cont_contact_outcome_json": outcome_json_column(drafts["flags"].to_numpy(), drafts["comment"].to_numpy()),
            "cont_contact_decision_date": date_column(drafts["decision"]),
            "_rec": date_column(drafts["rec"]),
        }
    )
