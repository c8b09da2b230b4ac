"""How the scorecard's numbers relate to each other: ``seeds/measure_relations.csv``, read once.

Written once as data and read by everything that needs it: the gate's consistency check
(``dagster_project.checks.families.consistency``) checks every relation that is a law, and the
public variant's disclosure control (``dagster_project.publish.outputs.suppression``) uses the
same rows to know which number is printed under two names and which totals have parts.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from dagster_project.contract import SEEDS_DIR

RELATIONS_CSV = SEEDS_DIR / "measure_relations.csv"
SAME_NUMBER, PART_OF, AT_MOST = "same_number", "part_of", "at_most"
PARTS = ("numerator", "denominator")


@dataclass(frozen=True)
class Quantity:
    """One number of the scorecard: a measure's numerator (a count's value) or denominator."""

    measure_id: str
    part: str

    @property
    def name(self) -> str:
        return f"{self.measure_id}.{self.part}"


@dataclass(frozen=True)
class MeasureRelation:
    """``left = right`` (same_number: one quantity each) or ``sum(left) <= sum(right)`` (part_of,
    at_most). A sum on the right is how a two-way table's fourth cell is written: offers declined
    by children not in care = all offered + in care accepted - in care offered - all accepted >= 0."""

    relation_id: str
    kind: str
    left: tuple[Quantity, ...]
    right: tuple[Quantity, ...]
    law: bool
    description: str

    @property
    def op(self) -> str:
        return "=" if self.kind == SAME_NUMBER else "<="


def _quantity(text: str, where: str) -> Quantity:
    measure_id, _, part = text.strip().partition(".")
    if part not in PARTS or not measure_id:
        raise ValueError(f"{RELATIONS_CSV.name}: {where}: {text!r} is not <measure_id>.<numerator|denominator>")
    return Quantity(measure_id, part)


def parse_relation(row: dict[str, str]) -> MeasureRelation:
    rid = row["relation_id"].strip()
    kind = row["kind"].strip()
    if kind not in (SAME_NUMBER, PART_OF, AT_MOST):
        raise ValueError(f"{RELATIONS_CSV.name}: {rid}: unknown kind {kind!r}")
    left = tuple(_quantity(q, rid) for q in row["left_quantities"].split("+"))
    right = tuple(_quantity(q, rid) for q in row["right_quantity"].split("+"))
    if kind == SAME_NUMBER and (len(left), len(right)) != (1, 1):
        raise ValueError(f"{RELATIONS_CSV.name}: {rid}: a same_number relation names one quantity on each side")
    law = row["law"].strip().lower()
    if law not in ("true", "false"):
        raise ValueError(f"{RELATIONS_CSV.name}: {rid}: law must be true or false, not {row['law']!r}")
    return MeasureRelation(rid, kind, left, right, law == "true", row["description"].strip())


@cache
def measure_relations() -> tuple[MeasureRelation, ...]:
    with RELATIONS_CSV.open(newline="", encoding="utf-8") as f:
        return tuple(parse_relation(row) for row in csv.DictReader(f))


@cache
def aliases() -> dict[str, str]:
    """The same number under several names (``measure.part`` -> its canonical quantity), from the
    same_number rows: the right side of each is the canonical name, followed to the end."""
    same = {r.left[0].name: r.right[0].name for r in measure_relations() if r.kind == SAME_NUMBER}
    out = {}
    for name in same:
        target = same[name]
        while target in same:
            target = same[target]
        out[name] = target
    return out


def canonical(measure_id: str, part: str) -> str:
    """The canonical name of ``measure_id``'s ``part`` (itself unless it is another quantity's alias)."""
    name = f"{measure_id}.{part}"
    return aliases().get(name, name)
