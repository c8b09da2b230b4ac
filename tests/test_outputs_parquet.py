"""The Parquet copies for analysts' tools: ``scorecard.parquet`` beside the CSV and every mart as
``published/marts/<table>.parquet`` beside the analysts' warehouse (internal only), from a real pipeline run."""

from __future__ import annotations

import csv
from datetime import date

import duckdb
import pytest

from dagster_project.publish.outputs.marts import mart_keys
from dagster_project.publish.outputs.tables import COLUMNS, CSV_COLUMNS
from tests.outputs_pipeline import FIRST, LAST, XDIST_GROUP

pytestmark = XDIST_GROUP


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def _csv(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_csv_keeps_its_documented_columns_first(published_home):
    with (published_home.month_dir(LAST) / "scorecard.csv").open(encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert tuple(header) == COLUMNS and tuple(header[:len(CSV_COLUMNS)]) == CSV_COLUMNS
    # fct_scorecard_status's columns as named there, then the flags
    assert header[len(CSV_COLUMNS):] == ["target", "amber_band", "target_comparator", "target_source", "rag_status",
                                         "direction_vs_previous_month", "direction_vs_same_month_last_year", "flags"]


@pytest.mark.parametrize("variant", ["", "public"])
def test_scorecard_parquet_is_the_csv_typed(published_home, con, variant):
    folder = published_home.month_dir(LAST) / variant
    rel = con.execute("select * from read_parquet(?)", [str(folder / "scorecard.parquet")])
    names = [d[0] for d in rel.description]
    rows = [dict(zip(names, r, strict=True)) for r in rel.fetchall()]
    types = dict(con.execute("select column_name, column_type from (describe select * from read_parquet(?))",
                             [str(folder / "scorecard.parquet")]).fetchall())
    assert tuple(names) == COLUMNS
    assert (types["month"], types["value"], types["numerator"], types["extract_month"]) == \
        ("DATE", "DOUBLE", "BIGINT", "DATE")
    text = _csv(folder / "scorecard.csv")
    assert len(rows) == len(text) == 29 * 12
    for p, c in zip(rows, text, strict=True):
        assert (p["measure_id"], f"{p['month']:%Y-%m}") == (c["measure_id"], c["month"])
        if c["value"] == "c":
            assert variant == "public" and p["value"] is None and p["availability"] == "suppressed"
        else:
            assert p["availability"] == c["availability"]
            assert ("" if p["value"] is None else f"{p['value']:.1f}") == \
                ("" if c["value"] == "" else f"{float(c['value']):.1f}")
        for part in ("numerator", "denominator"):
            assert (p[part] is None) if c[part] in ("", "c") else p[part] == int(c[part])
        assert (p["rag_status"] or "") == c["rag_status"] and p["extract_month"] == date(2023, 7, 1)


def test_every_mart_as_parquet_internal_only(published_home, con):
    wh = duckdb.connect(str(published_home.warehouse), read_only=True)
    try:
        tables = dict(wh.execute("select table_name, estimated_size from duckdb_tables() "
                                 "where schema_name = 'main'").fetchall())
        counts = {t: wh.execute(f'select count(*) from main."{t}"').fetchone()[0] for t in tables}
    finally:
        wh.close()
    marts = published_home.published / "marts"
    assert sorted(p.name for p in marts.iterdir()) == sorted(f"{t}.parquet" for t in tables)
    for t, n in counts.items():  # the marts are the analysts' warehouse's tables
        assert con.execute("select count(*) from read_parquet(?)", [str(marts / f"{t}.parquet")]).fetchone()[0] == n
    # each file's rows in the order of its table's key, as its dbt test declares it (the same bytes for the same table)
    keys = mart_keys(published_home.published / "docs" / "manifest.json")
    assert set(tables) <= set(keys)
    for t in tables:
        out_of_order = con.execute(
            "select count(*) from (select row_number() over (order by file_row_number) as position, "
            f"row_number() over (order by {', '.join(keys[t])}) as rank "
            "from read_parquet(?, file_row_number = true)) where position <> rank", [str(marts / f"{t}.parquet")])
        assert out_of_order.fetchone()[0] == 0, t
    for month in (FIRST, LAST):  # once beside the warehouse, not a snapshot in every month's folder
        assert not (published_home.month_dir(month) / "marts").exists()
        assert not (published_home.month_dir(month) / "public" / "marts").exists()
