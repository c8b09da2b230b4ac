"""Statistics that judge a new figure against the council's own history.

Nothing here knows a council: every expectation is computed from the history handed in (the
earlier months of the same extract, or the council's earlier accepted extracts), and every
threshold is a sensitivity from ``quality_policy.yml``. Three shapes of history:

* :func:`judge_count` — a count (contacts in the month, quarantined rows, a restated count).
  Counts are compared on the square-root scale of Anscombe's transform, ``2 sqrt(x + 3/8)``,
  where a Poisson count has a standard deviation of 1 whatever its size: 7 after a median of 1
  is an ordinary small-number wobble (2.9 units), 600 after a median of 1,200 is not (20 units).
  The council's own month-to-month spread on that scale (:func:`spread_of`: the MAD of its
  history, and half its widest move) widens the tolerance where its figures move more than chance.
* :func:`judge_rate` — a percentage with its numerator and denominator: binomial variance of the
  month's denominator plus the between-month spread the council has shown.
* :func:`judge_value` — a continuous quantity (a table's month-on-month growth, a distribution's
  distance from its past): the median of its history and :func:`spread_of`, with a floor.

Each returns a :class:`Judgement`; ``flagged`` needs the change to be both unusual for this
council (``|z| > z_max``) and large enough to matter (the policy's minimum change), so a figure
never moves a month into a hold on noise alone.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

MAD_TO_SD = 1.4826  # the MAD of a normal distribution times this is its standard deviation


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def mad_sd(xs: Sequence[float], center: float | None = None) -> float:
    """A robust standard deviation: 1.4826 x the median absolute deviation (0 for fewer than 2)."""
    if len(xs) < 2:
        return 0.0
    c = median(xs) if center is None else center
    return MAD_TO_SD * median([abs(x - c) for x in xs])


def spread_of(xs: Sequence[float], center: float, floor: float) -> float:
    """The council's own spread: the MAD's standard deviation, never below ``floor`` and never below
    half the widest move in its history. A handful of months gives a fragile MAD, and real series
    have heavy tails (one child missing twenty times in a month): a move is then held only when
    it is well beyond any the council has already had, not merely beyond its typical month."""
    widest = max((abs(x - center) for x in xs), default=0.0)
    return max(floor, mad_sd(xs, center), widest / 2)


def anscombe(x: float) -> float:
    """Anscombe's transform: a Poisson count's standard deviation becomes ~1 on this scale."""
    return 2.0 * math.sqrt(max(x, 0.0) + 0.375)


def from_anscombe(y: float) -> float:
    return max(0.0, (y / 2.0) ** 2 - 0.375) if y > 0 else 0.0


@dataclass(frozen=True)
class Judgement:
    flagged: bool
    z: float
    expected: float  # the baseline's centre, in the figure's own unit
    low: float  # the range the figure could take without being flagged (in its unit)
    high: float
    evidence: dict[str, Any] = field(default_factory=dict)


def judge_count(
    x: float,
    past: Sequence[float],
    *,
    z_max: float,
    min_count: float = 0.0,
    min_abs_change: float = 0.0,
    min_ratio_change: float = 0.0,
    dip_allowance: float = 0.0,
    one_sided: str | None = None,
) -> Judgement:
    """``x`` against the counts of ``past`` (at least one).

    ``min_count``: when neither the figure nor the median reaches it, nothing is judged.
    ``dip_allowance``: a fall of up to this share below the median counts as no change (a
    seasonal month). ``one_sided``: 'up' or 'down' judges only that direction.
    """
    med = median(past)
    ys = [anscombe(v) for v in past]
    y0 = median(ys)
    spread = spread_of(ys, y0, 1.0)
    x_adj = min(med, x / (1.0 - dip_allowance)) if dip_allowance and x < med else x
    z = (anscombe(x_adj) - y0) / spread
    change = x_adj - med
    ratio = change / med if med > 0 else (math.inf if change > 0 else 0.0)
    unusual = (z > z_max) if one_sided == "up" else (z < -z_max) if one_sided == "down" else abs(z) > z_max
    flagged = (
        unusual
        and max(x, med) >= min_count
        and abs(change) >= min_abs_change
        and abs(ratio) >= min_ratio_change
    )
    low = from_anscombe(y0 - z_max * spread) * (1.0 - dip_allowance)
    high = from_anscombe(y0 + z_max * spread)
    ev = {"median_past": med, "spread_sqrt_scale": spread, "z": z, "z_max": z_max, "dip_allowance": dip_allowance}
    return Judgement(flagged, z, med, low, high, ev)


def judge_rate(
    k: int,
    n: int,
    past: Sequence[tuple[int, int]],
    *,
    z_max: float,
    min_change_pp: float,
    min_denominator: int,
) -> Judgement:
    """``k`` of ``n`` against the past months' (numerator, denominator) pairs (denominators > 0).

    The standard deviation is the binomial one of this month's denominator around the median
    past rate plus the between-month spread the council's rate has shown beyond its own binomial
    noise (robust, from the MAD), so 2 of 3 after 3 of 3 is ordinary and 39 % -> 83 % on 150 is
    not."""
    p = k / n
    rates = [a / b for a, b in past]
    p0 = median(rates)
    spread = mad_sd(rates, p0)
    binomial_past = median([p0 * (1 - p0) / b for _, b in past])
    tau2 = max(0.0, spread**2 - binomial_past)
    p0s = (p0 * n + 1) / (n + 2)  # keeps the variance positive at 0 % and 100 %
    sd = math.sqrt(p0s * (1 - p0s) / n + tau2)
    z = (p - p0) / sd
    change_pp = 100 * (p - p0)
    flagged = abs(z) > z_max and abs(change_pp) >= min_change_pp and n >= min_denominator
    margin = max(z_max * sd, min_change_pp / 100)
    ev = {"median_past": 100 * p0, "past_spread_pp": 100 * spread, "sd_pp": 100 * sd, "z": z, "z_max": z_max,
          "change_pp": change_pp, "min_change_pp": min_change_pp, "min_denominator": min_denominator}
    return Judgement(flagged, z, 100 * p0, 100 * max(0.0, p0 - margin), 100 * min(1.0, p0 + margin), ev)


def judge_value(
    x: float,
    past: Sequence[float],
    *,
    z_max: float,
    min_spread: float,
    center: float | None = None,
    scale: float = 1.0,
    one_sided: str | None = None,
) -> Judgement:
    """A continuous ``x`` against ``past``: its median and :func:`spread_of` (at least ``min_spread``).

    ``center`` replaces the median of ``past`` (a known drift), ``scale`` multiplies the spread
    (several steps of change at once)."""
    c = median(past) if center is None else center
    spread = spread_of(past, median(past), min_spread) * scale
    z = (x - c) / spread
    unusual = (z > z_max) if one_sided == "up" else (z < -z_max) if one_sided == "down" else abs(z) > z_max
    ev = {"median_past": c, "spread": spread, "z": z, "z_max": z_max}
    return Judgement(unusual, z, c, c - z_max * spread, c + z_max * spread, ev)
