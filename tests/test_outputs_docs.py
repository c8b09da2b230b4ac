"""The analysts' warehouse is documented: comments in the database, the dbt docs site beside it,
and the README's "For analysts" section, whose example SQL runs as written against the published warehouse."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb

from dagster_project.publish.outputs.docs_site import DOCS_FILES, DocsSiteError, check_no_secret
from tests.outputs_pipeline import SECRET_KEY, XDIST_GROUP

pytestmark = XDIST_GROUP

README_MD = Path(__file__).resolve().parents[1] / "README.md"


def _tables(db: Path) -> dict[str, str | None]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return dict(con.execute("select table_name, comment from duckdb_tables() "
                                "where schema_name = 'main' and not internal").fetchall())
    finally:
        con.close()


def test_every_table_and_column_is_commented(published_home):
    con = duckdb.connect(str(published_home.warehouse), read_only=True)
    try:
        missing = con.execute("""select table_name, column_name from duckdb_columns()
                                 where schema_name = 'main' and not internal
                                   and (comment is null or trim(comment) = '')""").fetchall()
        tables = con.execute("""select table_name from duckdb_tables() where schema_name = 'main'
                                and not internal and (comment is null or trim(comment) = '')""").fetchall()
    finally:
        con.close()
    assert tables == [] and missing == []


def test_the_audit_trail_is_commented_too(published_home):
    """audit.published_figures, publications, signoffs and the restatements view: every table and column."""
    con = duckdb.connect(str(published_home.warehouse), read_only=True)
    try:
        relations = con.execute("""select table_name, comment from duckdb_tables() where schema_name = 'audit'
                                   union all select view_name, comment from duckdb_views()
                                   where schema_name = 'audit'""").fetchall()
        columns = con.execute("""select table_name, column_name, comment from duckdb_columns()
                                 where schema_name = 'audit'""").fetchall()
    finally:
        con.close()
    assert {r for r, _ in relations} == {"published_figures", "publications", "signoffs", "restatements"}
    assert [r for r, comment in relations if not (comment or "").strip()] == []
    assert len(columns) > 35
    assert [(t, c) for t, c, comment in columns if not (comment or "").strip()] == []


def test_docs_site_beside_the_warehouse_describes_what_analysts_get(published_home):
    docs = published_home.published / "docs"
    assert sorted(p.name for p in docs.iterdir()) == sorted(DOCS_FILES)
    catalog = json.loads((docs / "catalog.json").read_text(encoding="utf-8"))
    documented = {n["metadata"]["name"] for n in catalog["nodes"].values()}
    assert documented == set(_tables(published_home.warehouse))  # the catalog is the published copy
    manifest = json.loads((docs / "manifest.json").read_text(encoding="utf-8"))
    scorecard = manifest["nodes"]["model.csc_warehouse.fct_scorecard"]
    assert scorecard["description"] and scorecard["columns"]["availability"]["description"]
    assert manifest["metadata"]["user_id"] is None and manifest["metadata"]["env"] == {}
    child = manifest["nodes"]["model.csc_warehouse.dim_child"]["compiled_code"]
    assert "csc_key.pseudonym_key" in child  # the key is read at run time, never compiled in
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert '"MANIFEST.JSON INLINE DATA"' not in index and '"fct_scorecard"' in index  # opens without a server
    # no folder of the machine that built it (the same site whichever checkout and home built it)
    project = str(Path(__file__).resolve().parents[1])
    for text in (index, (docs / "manifest.json").read_text(encoding="utf-8")):
        assert project not in text and str(published_home.published.parent) not in text


def test_docs_site_refuses_the_key(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"nodes": {}}) + SECRET_KEY, encoding="utf-8")
    try:
        check_no_secret(tmp_path, key=SECRET_KEY)
    except DocsSiteError as e:
        assert "pseudonymisation key" in str(e)
    else:
        raise AssertionError("a docs site holding the key was accepted")
    compiled = {"nodes": {"model.x": {"compiled_code": "sha256('csc-warehouse-demo-key' || id)"}}}
    (tmp_path / "manifest.json").write_text(json.dumps(compiled), encoding="utf-8")
    try:
        check_no_secret(tmp_path, key="csc-warehouse-demo-key")
    except DocsSiteError as e:
        assert "compiled SQL" in str(e)
    else:
        raise AssertionError("compiled SQL holding the demo key was accepted")


def test_the_working_warehouse_keeps_the_key_out_of_compiled_sql(published_home):
    target = published_home.home / "private" / "dbt-target"
    compiled = [p for p in target.rglob("*.sql") if p.is_file()]
    assert len(compiled) > 20
    assert not [p for p in compiled if SECRET_KEY in p.read_text(encoding="utf-8")]
    assert any("csc_key.pseudonym_key" in p.read_text(encoding="utf-8") for p in compiled)


def test_analysts_guide_examples_run_read_only(published_home):
    readme = README_MD.read_text(encoding="utf-8")
    text = readme[readme.index("## For analysts"):]
    text = text[:text.index("\n## ", 3)]
    assert "read_only=True" in text and "-readonly" in text and "DuckDB 2.0" in text
    blocks = re.findall(r"```sql\n(.*?)```", text, re.S)
    assert len(blocks) == 3
    con = duckdb.connect(str(published_home.warehouse), read_only=True)
    try:
        for sql in blocks:
            rows = con.execute(sql).fetchall()
            assert rows, sql
        first = con.execute(blocks[0]).fetchall()
        assert len(first) == con.execute("select count(*) from dim_measure").fetchone()[0]
        # "the last three months of contacts": as many as the scorecard's contacts of those three months
        # (not the few days of the month after them that the extract also holds)
        by_source = con.execute(blocks[2]).fetchall()
        three_months = con.execute("""select sum(value) from fct_scorecard where measure_id = 'contacts'
                                      and month > (select max(month) from fct_scorecard) - interval 3 month""")
        assert sum(row[1] for row in by_source) == three_months.fetchone()[0]
    finally:
        con.close()
