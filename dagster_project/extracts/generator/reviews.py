"""Review schedules (child protection reviews, children-in-care reviews).

A review is due a set time after the plan or period starts, then at regular intervals after the
previous review was held; most are held on or before the due date, some late, and (for reviews
that can be cancelled) some are cancelled and re-arranged. Reviews stop when the plan or period
ends. Vectorised over owners; the loop runs over the review number only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dagster_project.extracts.generator.dates import (
    add_months,
    add_working_days,
    month_index,
    roll_back_to_working_day,
)
from dagster_project.extracts.generator.randomness import quota, uniform_days


@dataclass(frozen=True)
class ReviewRule:
    first_due_months: int  # 0: first_due is given by the caller
    second_gap_months: int
    gap_months: int
    p_on_time: float
    p_cancelled: float = 0.0


@dataclass(frozen=True)
class Reviews:
    owner: np.ndarray  # index of the plan / period reviewed
    due: np.ndarray
    held: np.ndarray  # day held (or the day a cancelled review was due to be held)
    cancelled: np.ndarray  # bool


def _held_day(rng: np.random.Generator, due: np.ndarray, earliest: np.ndarray, p_on_time: float) -> np.ndarray:
    """On time for a steady share of the reviews due each month; late ones up to five weeks late."""
    n = len(due)
    on_time = quota(month_index(due), p_on_time, rng)
    early = roll_back_to_working_day(due - uniform_days(rng, 0, 10, n))
    late = add_working_days(due + uniform_days(rng, 1, 25, n), 0)
    return np.maximum(np.where(on_time, early, late), earliest)


def schedule(
    rng: np.random.Generator, start: np.ndarray, end: np.ndarray, first_due: np.ndarray, rule: ReviewRule
) -> Reviews:
    """Every review held (or cancelled) strictly before each owner's end."""
    owner = np.arange(len(start))
    due, last = np.asarray(first_due, dtype=np.int64), np.asarray(start, dtype=np.int64)
    out: list[tuple[np.ndarray, ...]] = []
    number = 0
    while len(owner):
        held = _held_day(rng, due, last + 1, rule.p_on_time)
        cancel = rng.random(len(owner)) < rule.p_cancelled
        redo = np.maximum(add_working_days(held + uniform_days(rng, 3, 15, len(owner)), 0), held + 1)
        final = np.where(cancel, redo, held)
        live = held < end[owner]
        c = cancel & live
        out.append((owner[c], due[c], held[c], np.ones(c.sum(), dtype=bool)))
        kept = final < end[owner]
        out.append((owner[kept], due[kept], final[kept], np.zeros(kept.sum(), dtype=bool)))
        gap = rule.second_gap_months if number == 0 else rule.gap_months
        owner, last = owner[kept], final[kept]
        due = add_months(last, gap)
        number += 1
    cols = [np.concatenate([o[i] for o in out]) if out else np.zeros(0, dtype=np.int64) for i in range(4)]
    return Reviews(cols[0], cols[1], cols[2], cols[3].astype(bool))
