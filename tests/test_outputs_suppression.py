"""Disclosure control of the public version: counts of 1 to 5 children as ``c`` (DfE practice).

The rules on hand-made figures first, then the real public files of a small area's extract
(scale 0.1: about a tenth of Bradford, where counts of 1 to 5 occur every month).
"""

from __future__ import annotations

import csv
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from dagster_project.measure_relations import aliases, canonical
from dagster_project.publish.outputs.data import Figure, Measure, Publication, Status
from dagster_project.publish.outputs.suppression import (
    COUNTS_OF,
    RELATIONS,
    suppress,
    suppressed_quantities,
)
from dagster_project.publish.outputs.workbook import TABLE_HEADER_ROW
from tests.outputs_pipeline import FIRST, LAST, XDIST_GROUP

pytestmark = XDIST_GROUP

M1, M2 = date(2023, 6, 1), date(2023, 7, 1)
SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def _measure(mid: str, unit: str, polarity: str = "Low") -> Measure:
    return Measure(mid, mid, mid, "S", polarity, unit, "", 0, False, None)


STATUS = Status(target=10.0, rag_status="red", direction_vs_previous_month="worse",
                direction_vs_same_month_last_year="better")


def _data(rows: dict[str, tuple], units: dict[str, str]) -> Publication:
    """rows: measure -> (numerator, denominator) for both months (same figures, each with a status)."""
    figures = {}
    for mid, (n, d) in rows.items():
        for month in (M1, M2):
            value = None if n is None else (float(n) if units[mid] == "count" else
                                            (round(100 * n / d, 1) if d else None))
            availability = "available" if value is not None else "no_data"
            figures[(mid, month)] = Figure(mid, month, value, n, d, availability, status=STATUS)
    measures = tuple(_measure(mid, units[mid]) for mid in rows)
    return Publication(M2, (M1, M2), measures, figures)


def test_primary_suppression_of_counts_1_to_5_and_zero_shown():
    rows = {"contacts": (120, None), "private_fostering": (3, None), "police_contacts": (0, None),
            "returned_home": (6, None)}
    data = _data(rows, dict.fromkeys(rows, "count"))
    public = suppress(data)
    assert public.figure("private_fostering", M2).value is None
    assert public.figure("private_fostering", M2).suppressed == {"value", "numerator"}
    zero = public.figure("police_contacts", M2)
    assert zero.value == 0 and not zero.suppressed
    assert public.figure("returned_home", M2).value == 6
    assert public.figure("contacts", M2).numerator == 120
    assert public.public and not data.public


def test_percentages_suppressed_with_their_small_numerator_denominator_or_complement():
    units = dict.fromkeys(["rhi_accepted_pct", "cla_rhi_accepted_pct", "icpc_to_cp_plan_pct",
                           "ceased_sgo_pct"], "percent")
    data = _data({"rhi_accepted_pct": (3, 40),  # small numerator
                  "cla_rhi_accepted_pct": (0, 4),  # small denominator: 0 of 4 says all four declined
                  "icpc_to_cp_plan_pct": (38, 40),  # complement 2: two ICPCs without a plan
                  "ceased_sgo_pct": (10, 40)}, units)
    public = suppress(data)
    f = public.figure("rhi_accepted_pct", M2)
    assert f.suppressed == {"value", "numerator"} and f.denominator == 40 and f.value is None
    assert public.figure("cla_rhi_accepted_pct", M2).suppressed == {"value", "numerator", "denominator"}
    f = public.figure("icpc_to_cp_plan_pct", M2)
    assert f.suppressed == {"value", "numerator"} and f.denominator == 40
    assert not public.figure("ceased_sgo_pct", M2).suppressed


def test_secondary_suppression_where_a_total_would_reveal_a_small_count():
    units = dict.fromkeys(["children_missing", "cla_children_missing", "missing_episodes",
                           "cla_missing_episodes"], "count")
    # 24 children missing, 21 of them in care: the 3 not in care follow by subtraction
    data = _data({"children_missing": (24, None), "cla_children_missing": (21, None),
                  "missing_episodes": (60, None), "cla_missing_episodes": (30, None)}, units)
    hidden = suppressed_quantities(data)
    assert ("cla_children_missing.numerator", M2) in hidden
    assert ("children_missing.numerator", M2) not in hidden
    assert not {q for q, _ in hidden} & {"missing_episodes.numerator", "cla_missing_episodes.numerator"}
    public = suppress(data)
    assert public.figure("cla_children_missing", M2).value is None
    assert public.figure("children_missing", M2).value == 24


@pytest.mark.parametrize(
    ("rows", "units", "rest"),
    [
        # return home interviews: 25 offered, 17 accepted; in care 16 offered, 10 accepted. Offers declined
        # by children not in care: (25 - 16) - (17 - 10) = 2, the fourth cell of the two-way table
        ({"rhi_accepted_pct": (17, 25), "cla_rhi_accepted_pct": (10, 16)}, "percent", 2),
        # assessments: 27 within 45 working days of their start, 26 of their referral: 1 is not
        ({"assessments_45wd_pct": (27, 40), "assessments_45wd_from_referral_pct": (26, 40)}, "percent", 1),
        # 24 missing episodes (14 of children in care) of 16 children (7 in care): the children not in
        # care had (24 - 14) - (16 - 7) = 1 episode more than there are of them
        ({"missing_episodes": (24, None), "cla_missing_episodes": (14, None), "children_missing": (16, None),
          "cla_children_missing": (7, None)}, "count", 1),
    ],
    ids=["rhi-fourth-cell", "assessments-late-from-referral", "repeat-episodes-outside-care"],
)
def test_a_small_count_implied_by_two_measures_together_is_protected(rows, units, rest):
    """Found by a disclosure review (2026-12-07): each of these small counts followed from four or
    two printed numbers; now a relation of seeds/measure_relations.csv names it."""
    data = _data(rows, dict.fromkeys(rows, units))
    hidden = suppressed_quantities(data)
    assert any(month == M2 for _, month in hidden)  # a rest of {rest} left computable otherwise
    public = suppress(data)
    numbers = {(mid, part): getattr(public.figure(mid, M2), part) for mid in rows for part in ("numerator",
                                                                                                "denominator")}
    assert any(v is None for (mid, part), v in numbers.items() if part == "numerator" or units == "percent")


def test_a_number_printed_twice_is_suppressed_in_both_places():
    units = {"contacts": "count", "police_contacts": "count", "police_contacts_pct": "percent",
             "police_contacts_advice": "count", "police_contacts_advice_pct": "percent"}
    # 40 police contacts, 37 ended in advice: the 3 that did not are implied twice
    data = _data({"contacts": (400, None), "police_contacts": (40, None), "police_contacts_pct": (40, 400),
                  "police_contacts_advice": (37, None), "police_contacts_advice_pct": (37, 40)}, units)
    public = suppress(data)
    assert public.figure("police_contacts_advice", M2).value is None
    assert public.figure("police_contacts_advice_pct", M2).suppressed == {"value", "numerator"}
    assert public.figure("police_contacts_pct", M2).value == 10.0
    assert canonical("police_contacts_pct", "denominator") == "contacts.numerator"


def test_every_measure_says_what_it_counts_and_relations_name_real_quantities():
    with SEEDS.joinpath("measures.csv").open(encoding="utf-8") as f:
        measures = [r["measure_id"] for r in csv.DictReader(f)]
    assert set(COUNTS_OF) == set(measures)
    names = {f"{m}.{p}" for m in measures for p in ("numerator", "denominator")}
    for totals, parts in RELATIONS:
        assert {*totals, *parts} <= names
    assert set(aliases()) <= names and set(aliases().values()) <= names


def test_no_rag_or_direction_for_or_across_a_suppressed_figure():
    data = _data({"private_fostering": (4, None), "contacts": (120, None)},
                 {"private_fostering": "count", "contacts": "count"})
    public = suppress(data)
    hidden = public.figure("private_fostering", M2).status
    assert (hidden.rag_status, hidden.direction_vs_previous_month, hidden.direction_vs_same_month_last_year) == \
        (None, None, None)
    assert hidden.target == STATUS.target  # the target itself says nothing about the children
    assert public.figure("contacts", M2).status == STATUS  # the model's status, untouched
    # a figure after a suppressed month keeps its RAG but not its direction against that month
    data = _data({"private_fostering": (12, None)}, {"private_fostering": "count"})
    data.figures[("private_fostering", M1)] = Figure("private_fostering", M1, 3.0, 3, None, "available")
    after = suppress(data).figure("private_fostering", M2).status
    assert after.rag_status == "red" and after.direction_vs_previous_month is None
    assert after.direction_vs_same_month_last_year == "better"
    # before the window, and a year before: a count of 1 to 5 there is not shown here, nor compared with
    data = _data({"private_fostering": (12, None)}, {"private_fostering": "count"})
    data.figures[("private_fostering", M1)] = replace(
        data.figure("private_fostering", M1),
        status=replace(STATUS, previous_month_value=4.0, same_month_last_year_value=5.0))
    data.figures[("private_fostering", M2)] = replace(
        data.figure("private_fostering", M2), status=replace(STATUS, same_month_last_year_value=6.0))
    first, last = (suppress(data).figure("private_fostering", m).status for m in (M1, M2))
    assert first.direction_vs_previous_month is None and first.direction_vs_same_month_last_year is None
    assert last.direction_vs_same_month_last_year == "better" and last.direction_vs_previous_month == "worse"
    assert first.previous_month_value is None and last.same_month_last_year_value is None  # never published


# ---- the real public files ----------------------------------------------------------------------


def _read_csv(path):
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _small(text: str) -> bool:
    return bool(re.fullmatch(r"[1-5]", text or ""))


@pytest.fixture(scope="module")
def csvs(published_home):
    internal = _read_csv(published_home.month_dir(LAST) / "scorecard.csv")
    public = _read_csv(published_home.month_dir(LAST) / "public" / "scorecard.csv")
    return internal, public


def test_public_variant_only_with_the_setting(published_home):
    assert not (published_home.month_dir(FIRST) / "public").exists()  # run without --public
    files = sorted(p.name for p in (published_home.month_dir(LAST) / "public").iterdir())
    assert files == ["scorecard.csv", "scorecard.html", "scorecard.parquet", "scorecard.xlsx"]  # never the marts


def test_the_small_area_has_small_counts_and_the_public_csv_hides_them(csvs):
    internal, public = csvs
    keys = [(r["measure_id"], r["month"]) for r in internal]
    assert keys == [(r["measure_id"], r["month"]) for r in public]
    small = [r for r in internal if _small(r["numerator"]) or _small(r["denominator"])]
    assert len(small) >= 10  # the premise: this extract has counts of 1 to 5
    suppressed = 0
    for i, p in zip(internal, public, strict=True):
        for col in ("value", "numerator", "denominator"):
            if p[col] == "c":
                suppressed += 1
            else:
                assert p[col] == i[col], (i, p)  # what is shown is the internal figure
        assert not _small(p["numerator"]) and not _small(p["denominator"])
        if p["unit"] == "count":
            assert not _small(p["value"])
        if "c" in (p["numerator"], p["denominator"]):
            assert p["value"] == "c"  # a percentage never gives a suppressed count back
        # a hidden value says so, as the Parquet, the workbook and the regional benchmark do
        assert p["availability"] == ("suppressed" if p["value"] == "c" else i["availability"]), (i, p)
        if p["unit"] == "percent" and p["numerator"] not in ("", "c") and p["denominator"] not in ("", "c"):
            assert not 1 <= int(p["denominator"]) - int(p["numerator"]) <= 5  # the complement
    assert suppressed >= 10


def test_public_totals_do_not_reveal_suppressed_cells(csvs):
    _, public = csvs
    cells = {}
    for r in public:
        cells[(f"{r['measure_id']}.numerator", r["month"])] = r["numerator"]
        if r["unit"] == "percent":
            cells[(f"{r['measure_id']}.denominator", r["month"])] = r["denominator"]
    months = sorted({r["month"] for r in public})
    checked = 0
    for month in months:
        for totals, parts in RELATIONS:
            values = [cells.get((canonical(*q.split(".")), month)) for q in (*totals, *parts)]
            if any(v in (None, "", "c") for v in values):
                continue
            checked += 1
            rest = sum(int(v) for v in values[:len(totals)]) - sum(int(v) for v in values[len(totals):])
            assert not 1 <= rest <= 5, (totals, parts, month)
    assert checked > 50


def test_public_workbook_and_page_carry_the_suppression(published_home, csvs):
    _, public = csvs
    folder = published_home.month_dir(LAST) / "public"
    wb = openpyxl.load_workbook(folder / "scorecard.xlsx")
    ws = wb["Scorecard 12 months"]
    units = {r["measure_name"]: r["unit"] for r in public}
    counts = [c.value for row in ws.iter_rows(min_row=TABLE_HEADER_ROW + 1, max_col=14)
              if units.get(row[0].value) == "count" for c in row[2:14]]
    assert "c" in counts and len(counts) > 100
    assert not [v for v in counts if isinstance(v, int | float) and 1 <= v <= 5]
    nd = wb["Numerators and denominators"]
    for row in nd.iter_rows(min_row=TABLE_HEADER_ROW + 1, values_only=True):
        if row[2]:
            assert not any(isinstance(v, int) and 1 <= v <= 5 for v in (row[6], row[7])), row
    expected_c = sum(r["value"] == "c" for r in public)
    assert sum(1 for row in nd.iter_rows(min_row=TABLE_HEADER_ROW + 1, values_only=True)
               if row[2] and row[4] == "c") == expected_c

    html = (folder / "scorecard.html").read_text(encoding="utf-8")
    assert "public version" in html
    # the charts: every suppressed month is a gap labelled c, never a point
    suppressed = {(r["measure_id"], r["month"]) for r in public if r["value"] == "c"}
    seen = 0
    for article in re.finditer(r'<article class="measure" id="m-([a-z0-9_]+)".*?</article>', html, re.S):
        chart = re.search(r'<svg class="trend".*?</svg>', article.group(0), re.S).group(0)
        points = set(re.findall(r'<circle [^>]*data-month="([0-9-]+)"', chart))
        gaps = dict(re.findall(r'<text [^>]*class="gap" data-month="([0-9-]+)">([^<]*)<', chart))
        for month in {m for mid, m in suppressed if mid == article.group(1)}:
            seen += 1
            assert month not in points and gaps[month] == "c"
        assert len(points) + len(gaps) == 12
    assert seen == len(suppressed) > 0
