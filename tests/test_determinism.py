"""The same extracts and key give the same published bytes, whichever home and run made them, and
a backfill publishes exactly what month-by-month runs publish.

One small extract (scale 0.05) of June and July 2023 is run through the CLI, both months with
``--public``, in two separate homes with the same pseudonymisation key: the first home as one
backfill (``--from 2023-06 --to 2023-07``), the second month by month (``--month 2023-06``, then
``--month 2023-07``). Every published file of each month (public/ included; the Parquet copies of
the scorecard and of every mart written by DuckDB's COPY), the docs site and the analysts'
warehouse tables must be the same; only publication.json differs (it names the run and when it
published), and no other file holds a run id.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import pytest

from dagster_project.published_figures import PUBLICATION_MARKER
from dagster_project.settings import HomePaths
from tests.pipeline_helpers import files_of, generate, run

pytestmark = pytest.mark.e2e

MONTHS = (date(2023, 6, 1), date(2023, 7, 1))
KEY = "determinism-test-key-0123456789abcdef"  # 36 characters, the same in both homes
MONTH_FILES = {"scorecard.csv", "scorecard.parquet", "scorecard.xlsx", "scorecard.html", "quality_report.csv",
               "quality_report.html", PUBLICATION_MARKER, "public/scorecard.csv", "public/scorecard.parquet",
               "public/scorecard.xlsx", "public/scorecard.html"}


@pytest.fixture(scope="module")
def homes(tmp_path_factory) -> tuple[HomePaths, HomePaths]:
    root = tmp_path_factory.mktemp("determinism")
    extracts = root / "extracts"
    generate(extracts, f"{MONTHS[0]:%Y-%m}", f"{MONTHS[-1]:%Y-%m}", scale=0.05)
    backfill = [("--from", f"{MONTHS[0]:%Y-%m}", "--to", f"{MONTHS[-1]:%Y-%m}")]
    month_by_month = [("--month", f"{m:%Y-%m}") for m in MONTHS]
    out = []
    for name, selections in (("first", backfill), ("second", month_by_month)):
        for selection in selections:
            res = run(extracts, root / name, *selection, "--public", env={"CSC_PSEUDONYM_KEY": KEY})
            assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
        out.append(HomePaths(root / name))
    return out[0], out[1]


def publications(paths: HomePaths) -> list[dict[str, str]]:
    return [json.loads((paths.published_month_dir(m) / PUBLICATION_MARKER).read_text()) for m in MONTHS]


def readable(name: str, content: bytes, path: Path) -> str:
    """What a file says: a workbook's zip entries unpacked, a Parquet file's rows."""
    if name.endswith(".xlsx"):
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            return "".join(z.read(n).decode("utf-8") for n in z.namelist())
    if name.endswith(".parquet"):
        con = duckdb.connect()
        try:
            return repr(con.execute("select * from read_parquet(?)", [str(path)]).fetchall())
        finally:
            con.close()
    return content.decode("utf-8")


def test_every_published_file_but_publication_json_is_byte_identical(homes):
    first, second = homes
    runs = [p["run_id"] for p in publications(first)], [p["run_id"] for p in publications(second)]
    assert set(runs[0]).isdisjoint(runs[1])  # two separate runs of each month
    for month in MONTHS:
        a, b = files_of(first.published_month_dir(month)), files_of(second.published_month_dir(month))
        assert set(a) == set(b) == MONTH_FILES
        different = sorted(name for name in a if a[name] != b[name])
        assert different == [PUBLICATION_MARKER], month
    # the run ids and the day they published are in publication.json only
    for paths in homes:
        stamps = {s for p in publications(paths) for s in (p["run_id"][:8], p["published_at"][:10])}
        for month in MONTHS:
            folder = paths.published_month_dir(month)
            for name, content in files_of(folder).items():
                if name != PUBLICATION_MARKER:
                    text = readable(name, content, folder / name)
                    assert [s for s in stamps if s in text] == [], (month, name)


def test_the_marts_as_parquet_are_byte_identical(homes):
    first, second = homes
    a, b = files_of(first.published_dir / "marts"), files_of(second.published_dir / "marts")
    assert set(a) == set(b) == {f"{t}.parquet" for t in _marts(first.published_db)}
    assert [name for name in a if a[name] != b[name]] == []


def test_the_docs_site_is_byte_identical(homes):
    first, second = homes
    a, b = files_of(first.published_dir / "docs"), files_of(second.published_dir / "docs")
    assert set(a) == set(b) == {"index.html", "manifest.json", "catalog.json"}
    assert [name for name in a if a[name] != b[name]] == []
    manifest = json.loads(a["manifest.json"])
    assert manifest["metadata"]["generated_at"] == "2023-07-01T00:00:00Z"  # the warehouse's extract month
    node = manifest["nodes"]["model.csc_warehouse.fct_scorecard"]
    assert node["compiled_path"].startswith("compiled/csc_warehouse/models/")  # no private path
    artifacts = (a["manifest.json"] + a["catalog.json"]).decode("utf-8")
    assert str(first.home) not in artifacts
    assert [p["published_at"][:10] for p in publications(first) if p["published_at"][:10] in artifacts] == []


def _marts(db: Path) -> list[str]:
    """The marts and dimensions of a published warehouse (published/marts/ has them as Parquet)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("select table_name from duckdb_tables() where schema_name = 'main'").fetchall()
        return [t for (t,) in rows]
    finally:
        con.close()


def _tables(db: Path) -> dict[str, list[tuple]]:
    """Every table's rows, sorted; the audit trail without the run and publication time."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute("select schema_name, table_name from duckdb_tables() order by all").fetchall()
        out = {}
        for schema, table in tables:
            columns = [c for (c,) in con.execute(
                "select column_name from duckdb_columns() where schema_name = ? and table_name = ? "
                "order by column_index", [schema, table]).fetchall()
                if c not in ("run_id", "published_at", "evaluated_run_id")]
            select = ", ".join(f'"{c}"' for c in columns)
            out[f"{schema}.{table}"] = con.execute(f'select {select} from "{schema}"."{table}" order by all').fetchall()
        return out
    finally:
        con.close()


def test_the_analysts_warehouse_holds_the_same_tables_and_rows(homes):
    first, second = homes
    a, b = _tables(first.published_db), _tables(second.published_db)
    assert set(a) == set(b)
    assert {"main.fct_scorecard", "main.dim_measure", "main.dim_child", "audit.published_figures"} <= set(a)
    assert [name for name in a if a[name] != b[name]] == []
    assert len(a["main.fct_scorecard"]) == 29 * 12
