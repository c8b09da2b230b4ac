"""Disclosure control for the public version of the scorecard (DfE practice: counts 1-5 as ``c``).

Every number the scorecard publishes is a count of children or of events about children
(contacts, referrals, assessments, conferences, reviews, missing episodes, periods of care), so
the rule applies to all of them (:data:`COUNTS_OF` says what each measure counts):

1. **Primary suppression.** A published count (a count measure's value, a percentage's numerator
   or denominator) of 1 to ``threshold`` (5) is shown as ``c``. Zero is shown.
2. **Implied counts.** Some counts are not printed but follow by subtraction from two that are:
   a percentage's denominator minus its numerator (the children *without* the attribute), and a
   total minus its published parts (children missing minus children in care missing, ...:
   :data:`RELATIONS`, from ``seeds/measure_relations.csv``). An implied count of 1 to 5 is
   protected by suppressing the smallest
   published part of its relation (secondary suppression), so it can no longer be computed.
3. **Consistency.** A number printed in several places (``police_contacts`` is a count measure
   and the numerator of ``police_contacts_pct``: ``measure_relations.canonical``) is suppressed
   everywhere once it is suppressed anywhere; a percentage is suppressed whenever its numerator or denominator is
   (it would give the suppressed count back); neither a RAG status (it would say which side of
   the target the figure is) nor a direction of travel is shown for or across a suppressed figure.

The steps repeat until nothing changes. Suppressed numbers are removed from the public data
(set to ``None``), not just hidden, so no view (chart hover text, CSV) can leak them. Notes
beside figures are replaced by generic text without figures or names, and the public quality
summary keeps only check ids and statuses; the public variant has no quality report and no marts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from dagster_project.measure_relations import AT_MOST, PART_OF, PARTS, canonical, measure_relations
from dagster_project.publish.outputs.data import (
    COUNT,
    Figure,
    Publication,
    QualityFlag,
    QualitySummary,
    Restatement,
)
from dagster_project.publish.outputs.present import FLAG_LABELS

THRESHOLD = 5

# What each measure's numbers count (all are children or events about children).
COUNTS_OF: dict[str, str] = {
    "contacts": "contacts (each about one child)",
    "contacts_to_referral_pct": "contacts; numerator: those resulting in a referral",
    "contacts_decided_1wd_pct": "contacts; numerator: those decided within 1 working day",
    "police_contacts": "contacts from the police",
    "police_contacts_pct": "contacts; numerator: contacts from the police",
    "police_contacts_advice": "police contacts resulting in information and advice",
    "police_contacts_advice_pct": "police contacts; numerator: resulting in information and advice",
    "private_fostering": "children in identified private fostering arrangements (contacts)",
    "rereferrals_12m_pct": "referrals (children referred); numerator: re-referrals within 12 months",
    "children_missing": "children",
    "cla_children_missing": "children in care",
    "missing_episodes": "missing episodes",
    "cla_missing_episodes": "missing episodes of children in care",
    "away_episodes": "away episodes",
    "rhi_accepted_pct": "missing episodes with a return home interview offered; numerator: accepted",
    "cla_rhi_accepted_pct": "the same, for children in care",
    "assessments_45wd_pct": "assessments (of children); numerator: within 45 working days",
    "assessments_45wd_from_referral_pct": "assessments; numerator: within 45 working days of the referral",
    "icpc_15wd_pct": "initial child protection conferences; numerator: within 15 working days",
    "icpc_to_cp_plan_pct": "initial child protection conferences; numerator: resulting in a plan",
    "cp_reviews_on_time_pct": "child protection reviews; numerator: on time",
    "cla_3plus_placements_pct": "children in care; numerator: with 3 or more placements",
    "cla_reviews_on_time_pct": "children in care reviews; numerator: on time",
    "returned_home": "children returning home (periods of care ending)",
    "ceased_sgo_pct": "children ceasing care; numerator: made subject to an SGO",
    "purchased_residential": "children in a purchased residential placement",
    "care_leavers_eet_pct": "care leavers aged 17-21; numerator: in education, employment or training",
    "care_leavers_suitable_accom_pct": "care leavers aged 17-21; numerator: in suitable accommodation",
    "care_leavers_in_touch_pct": "care leavers aged 17-21; numerator: in touch",
}

# totals = parts + an implied (unpublished) rest, for the same month: the part_of and at_most rows
# of seeds/measure_relations.csv (a sum of totals writes a two-way table's fourth cell; at_most's
# rest counts the events beyond one a child, e.g. missing episodes beyond each child's first).
# Every percentage's denominator = numerator + rest is added automatically.
RELATIONS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = tuple(
    (tuple(canonical(q.measure_id, q.part) for q in r.right), tuple(canonical(q.measure_id, q.part) for q in r.left))
    for r in measure_relations()
    if r.kind in (PART_OF, AT_MOST)
)


@dataclass(frozen=True)
class PublicationSettings:
    """How a month is published: internal (everything) or public (small counts suppressed)."""

    public: bool = False
    threshold: int = THRESHOLD


def _small(n: int | None, threshold: int) -> bool:
    return n is not None and 1 <= n <= threshold


def suppressed_quantities(data: Publication, threshold: int = THRESHOLD) -> set[tuple[str, date]]:
    """The (quantity, month) cells to print as ``c``."""
    units = {m.measure_id: m.unit for m in data.measures}
    values: dict[tuple[str, date], int | None] = {}
    for (mid, month), fig in data.figures.items():
        values[(canonical(mid, "numerator"), month)] = fig.numerator
        if units.get(mid) != COUNT:
            values[(canonical(mid, "denominator"), month)] = fig.denominator
    relations = list(RELATIONS) + [
        ((canonical(m.measure_id, "denominator"),), (canonical(m.measure_id, "numerator"),))
        for m in data.measures if m.unit != COUNT
    ]
    percentages = [(canonical(m.measure_id, "numerator"), canonical(m.measure_id, "denominator"))
                   for m in data.measures if m.unit != COUNT]
    # primary
    out = {q for q, n in values.items() if _small(n, threshold)}
    # secondary: an implied rest of 1..threshold must not be computable from published cells
    changed = True
    while changed:
        changed = False
        for month in data.months:
            for num, den in percentages:  # "0 of a suppressed few" still describes every one of them
                if (den, month) in out and (num, month) in values and (num, month) not in out:
                    out.add((num, month))
                    changed = True
            for totals, parts in relations:
                cells = [*((t, month) for t in totals), *((p, month) for p in parts)]
                if any(c not in values or values[c] is None for c in cells):
                    continue
                if any(c in out for c in cells):
                    continue  # already not computable
                rest = sum(values[(t, month)] for t in totals) - sum(values[(p, month)] for p in parts)
                if _small(rest, threshold):
                    smallest = min(((p, month) for p in parts), key=lambda c: values[c] or 0)
                    out.add(smallest)
                    changed = True
    return out


def _public_note(flags: tuple[str, ...]) -> str | None:
    if not flags:
        return None
    return "; ".join(FLAG_LABELS[f] for f in flags) + " (details in the internal quality report)"


def _public_status(fig: Figure, previous: Figure | None, unit: str, threshold: int) -> Figure:
    """The figure's status without what a suppressed figure would give away: no RAG status and no
    direction of travel for a suppressed figure, no direction across one (the month before, when
    it is published here; a count of 1 to ``threshold`` the month before the window or a year
    before, which this publication does not show), and never the earlier values themselves. The
    status is the model's (fct_scorecard_status), only hidden here, never recomputed."""
    st = replace(fig.status, previous_month_value=None, same_month_last_year_value=None)
    if fig.is_suppressed("value"):
        st = replace(st, rag_status=None, direction_vs_previous_month=None, direction_vs_same_month_last_year=None)
    small = unit == COUNT  # a percentage's own counts before the window are not known here: its value is shown

    def hidden(value: float | None) -> bool:
        return small and value is not None and 1 <= value <= threshold

    if (previous.is_suppressed("value") if previous is not None else hidden(fig.status.previous_month_value)):
        st = replace(st, direction_vs_previous_month=None)
    if hidden(fig.status.same_month_last_year_value):
        st = replace(st, direction_vs_same_month_last_year=None)
    return replace(fig, status=st)


def suppress(data: Publication, threshold: int = THRESHOLD) -> Publication:
    """The public version of ``data``: small counts suppressed (and the RAG status and direction
    of travel across them), notes without figures or names, no quality report."""
    hidden = suppressed_quantities(data, threshold)
    units = {m.measure_id: m.unit for m in data.measures}
    figures = {}
    for (mid, month), fig in data.figures.items():
        parts = set()
        for part in PARTS:
            if part == "denominator" and units.get(mid) == COUNT:
                continue
            if (canonical(mid, part), month) in hidden:
                parts.add(part)
        if parts:
            parts.add("value")  # a percentage gives a suppressed numerator or denominator back
        figures[(mid, month)] = replace(
            fig,
            value=None if "value" in parts else fig.value,
            numerator=None if "numerator" in parts else fig.numerator,
            denominator=None if "denominator" in parts else fig.denominator,
            suppressed=frozenset(parts),
            note=_public_note(fig.flags),
        )
    for (mid, month), fig in list(figures.items()):
        i = data.months.index(month)
        figures[(mid, month)] = _public_status(fig, figures[(mid, data.months[i - 1])] if i else None,
                                               units.get(mid, COUNT), threshold)
    restatements = tuple(Restatement(r.measure_id, r.month, r.previous_extract_month, None, None)
                         for r in data.restatements)
    quality = None
    if data.quality is not None:
        quality = QualitySummary(
            data.quality.outcome, dict(data.quality.counts), dict(data.quality.dbt_counts),
            tuple(QualityFlag(f.check_id, f.severity, f.status, "", f.measure_id, f.figure_month)
                  for f in data.quality.flags))
    return replace(data, figures=figures, restatements=restatements, quality=quality, report=None, public=True)
