"""``csc-warehouse explain``: the records behind a published figure, from the analysts' warehouse.

Against the session's real pipeline run (tests/outputs_pipeline.py: demo extracts at scale 0.1,
June and July 2023 published):

* for every measure and every month of the published July scorecard, ``explain --csv`` lists
  exactly as many numerator and denominator records as ``scorecard.csv`` (what was published)
  gives as numerator and denominator (a count measure: as many numerator records as the count,
  no denominator record); the listed records are distinct, of that measure and month only, and
  name children only by a child_key of dim_child;
* ``--part`` keeps one part; the table output names the figure and the numbers of records;
* an unknown measure or month exits 2 and lists the valid ones; a home with nothing published
  exits 2;
* it reads the published file read-only through the link (a reader holding it open is no
  obstacle) and writes nothing into the published zone;
* every table and column of the published warehouse carries its description (dbt's
  persist_docs), the new drill-through and status tables included.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from dagster_project.cli import app
from tests.outputs_pipeline import ENV, LAST, XDIST_GROUP
from tests.pipeline_helpers import cli, published_hashes

pytestmark = XDIST_GROUP
e2e = pytest.mark.e2e  # the tests reading the session's real pipeline run


def explain(home: Path, *args: str):
    return CliRunner().invoke(app, ["explain", "--home", str(home), *args], env=ENV)


def published_figures(published_home) -> dict[tuple[str, str], tuple[int, int]]:
    """(measure, month) -> (numerator, denominator) as published in scorecard.csv (empty = 0)."""
    with (published_home.month_dir(LAST) / "scorecard.csv").open(encoding="utf-8", newline="") as f:
        return {(r["measure_id"], r["month"][:7]): (int(r["numerator"] or 0), int(r["denominator"] or 0))
                for r in csv.DictReader(f)}


def listed(home: Path, measure: str, month: str, *extra: str) -> list[dict[str, str]]:
    result = explain(home, "--measure", measure, "--month", month, "--csv", "-", *extra)
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


@e2e
def test_every_published_figure_lists_as_many_records_as_it_counts(published_home):
    figures = published_figures(published_home)
    assert len(figures) == 29 * 12
    with duckdb.connect(os.path.realpath(published_home.warehouse), read_only=True) as con:
        children = {r[0] for r in con.execute("select child_key from main.dim_child").fetchall()}
    nonzero = 0
    for (measure, month), (numerator, denominator) in sorted(figures.items()):
        rows = listed(published_home.home, measure, month)
        parts = Counter(r["part"] for r in rows)
        assert (parts["numerator"], parts["denominator"]) == (numerator, denominator), (measure, month)
        assert set(parts) <= {"numerator", "denominator"}
        assert {(r["measure_id"], r["month"][:7]) for r in rows} <= {(measure, month)}
        keys = [(r["part"], r["record_type"], r["record_key"]) for r in rows]
        assert len(keys) == len(set(keys)), (measure, month)
        assert {r["child_key"] for r in rows} <= children
        nonzero += bool(rows)
    assert nonzero > 200  # the demo has records behind most figures


@e2e
def test_numerator_records_are_denominator_records(published_home):
    for measure in ("contacts_to_referral_pct", "rhi_accepted_pct", "cla_3plus_placements_pct",
                    "care_leavers_eet_pct", "icpc_15wd_pct"):
        numerator = listed(published_home.home, measure, LAST, "--part", "numerator")
        denominator = listed(published_home.home, measure, LAST, "--part", "denominator")
        assert {r["part"] for r in numerator} <= {"numerator"}
        assert {r["part"] for r in denominator} <= {"denominator"}
        assert {r["record_key"] for r in numerator} <= {r["record_key"] for r in denominator}, measure
        assert len(denominator) > 0, measure


@e2e
def test_the_dates_the_definition_uses_are_listed(published_home):
    rows = listed(published_home.home, "assessments_45wd_pct", LAST)
    assert rows
    within = {r["record_key"] for r in rows if r["part"] == "numerator"}
    for r in rows:
        assert r["record_type"] == "assessment"
        assert LAST <= r["record_date"] < "2023-08", r  # authorised in July
        assert r["start_date"] <= r["end_date"] == r["record_date"], r
        assert (int(r["working_days"]) <= 45) == (r["record_key"] in within), r  # WD(start, authorisation)
    for r in listed(published_home.home, "children_missing", LAST):
        assert r["record_type"] == "missing_episode" and r["detail"].endswith("starting in the month"), r


@e2e
def test_table_output_names_the_figure(published_home):
    result = cli("explain", "--home", str(published_home.home), "--measure", "police_contacts_pct",
                 "--month", LAST, env={**ENV, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    numerator, denominator = published_figures(published_home)[("police_contacts_pct", LAST)]
    assert f"police_contacts_pct {LAST}" in result.stdout
    assert f"{numerator:,} record(s) in the numerator; {denominator:,} record(s) in the denominator" in result.stdout
    # on an ordinary terminal: a table per part, keys shortened, every line within its width
    result = cli("explain", "--home", str(published_home.home), "--measure", "police_contacts_pct",
                 "--month", LAST, "--limit", "0", env={**ENV, "COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    assert "numerator (contact records):" in result.stdout and "denominator (contact records):" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 100
    assert not re.search(r"[0-9a-f]{64}", result.stdout)
    keys = {r["child_key"][:12] for r in listed(published_home.home, "police_contacts_pct", LAST)}
    assert keys <= set(re.findall(r"[0-9a-f]{12}", result.stdout))


@e2e
def test_unknown_measure_or_month_exits_2_listing_the_valid_ones(published_home, tmp_path):
    home = str(published_home.home)
    before = published_hashes(published_home.home)
    result = cli("explain", "--home", home, "--measure", "contact", "--month", LAST, env=ENV)
    assert result.returncode == 2
    assert "unknown measure 'contact'" in result.stderr and "contacts_to_referral_pct" in result.stderr
    result = cli("explain", "--home", home, "--measure", "contacts", "--month", "2021-01", env=ENV)
    assert result.returncode == 2
    assert "2022-08" in result.stderr and LAST in result.stderr
    result = cli("explain", "--home", home, "--measure", "contacts", "--month", LAST, "--part", "both", env=ENV)
    assert result.returncode == 2
    result = cli("explain", "--home", str(tmp_path / "empty"), "--measure", "contacts", "--month", LAST, env=ENV)
    assert result.returncode == 2 and "nothing is published" in result.stderr
    assert published_hashes(published_home.home) == before


@e2e
def test_reads_the_published_file_while_a_reader_holds_it(published_home, tmp_path):
    before = published_hashes(published_home.home)
    with duckdb.connect(os.path.realpath(published_home.warehouse), read_only=True):
        out = tmp_path / "contacts.csv"
        result = cli("explain", "--home", str(published_home.home), "--measure", "contacts", "--month", LAST,
                     "--csv", str(out), env=ENV)
        assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert len(rows) == published_figures(published_home)[("contacts", LAST)][0]
    assert published_hashes(published_home.home) == before


@e2e
def test_every_published_table_and_column_is_described(published_home):
    with duckdb.connect(os.path.realpath(published_home.warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_name, comment from duckdb_tables()"
            " where database_name = current_database() and schema_name = 'main' and not internal").fetchall()
        columns = con.execute(
            "select table_name, column_name, comment from duckdb_columns()"
            " where database_name = current_database() and schema_name = 'main' and not internal").fetchall()
    names = {t for t, _ in tables}
    assert {"fct_scorecard", "fct_scorecard_members", "fct_scorecard_status", "dim_code"} <= names
    assert not [t for t, comment in tables if not (comment or "").strip()]
    assert not [f"{t}.{c}" for t, c, comment in columns if not (comment or "").strip()]


def test_help_and_usage_errors():
    result = cli("explain", "--help")
    assert result.returncode == 0 and "--measure" in result.stdout and "--part" in result.stdout
    assert "explain" in cli("--help").stdout
    bad_month = cli("explain", "--measure", "contacts", "--month", "2023-13")
    assert bad_month.returncode == 2 and "not a month in the form YYYY-MM" in bad_month.stderr
