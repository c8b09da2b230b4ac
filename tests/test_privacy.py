"""Nothing identifying leaves the working area: the published warehouse and every published file.

The demo generator writes synthetic identifying values into the extracts (pers_forename,
pers_surname, pers_upn, free-text COMMENTS in cont_contact_outcome_json, full placement
postcodes) and person ids. After a real pipeline run, every table and column of
``published/warehouse.duckdb`` (values, table and column comments) and every file under
``published/`` (CSV, the workbook's XML, HTML, the docs site with its JSON) is scanned for any of
them, for any full postcode at all, and for the pseudonymisation key, and none may be found.

Person ids are short numbers, so they are compared with whole cell values in the warehouse and
with whole tokens in files (a figure "12" is not a hit). The generator numbers people from
100000 and every other record type from 600000 up (contacts from 10000000), so at this scale a
person id can neither be another record's id nor a published figure: any hit is a real leak.
Third-party text embedded verbatim (plotly.js in the page, the dbt docs application around the
inlined manifest, openpyxl's theme part of the workbook) is removed before the scan: it is the
same whatever the input, and holds 6-digit numbers that would collide with the ids.
"""

from __future__ import annotations

import csv
import html
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from openpyxl.writer.theme import theme_xml

from dagster_project.publish.outputs.docs_site import _docs_index_template
from dagster_project.publish.outputs.html import plotly_js
from tests.outputs_pipeline import SECRET_KEY, XDIST_GROUP

pytestmark = XDIST_GROUP

# a full UK postcode, with or without its space (not a colour such as #FF97FF)
FULL_POSTCODE = re.compile(r"(?<![#\w])(GIR ?0AA|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][ABD-HJLNP-UW-Z]{2})\b")
# whole tokens: "1795451933.105256" (a timestamp) is one token, not the id 105256
TOKEN = re.compile(r"[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*")
UPN_SHAPE = re.compile(r"\b[A-Z][0-9]{12}\b")


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"[A-Za-z0-9]+", text)) + " "


@dataclass
class Identifying:
    names: set[str] = field(default_factory=set)
    upns: set[str] = field(default_factory=set)
    comments: set[str] = field(default_factory=set)
    postcodes: set[str] = field(default_factory=set)
    person_ids: set[str] = field(default_factory=set)

    def word_needles(self) -> dict[str, str]:
        """Names and comments as runs of words (how they read after HTML/JSON escaping)."""
        return {_words(v): v for v in self.names | self.comments}


def read_identifying(extracts: Path) -> Identifying:
    found = Identifying()
    for path in sorted(extracts.glob("*/*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                for col, value in row.items():
                    if not value:
                        continue
                    if col in ("pers_forename", "pers_surname"):
                        found.names.add(value)
                    elif col == "pers_upn":
                        found.upns.add(value)
                    elif col.endswith("_postcode"):
                        found.postcodes.add(value)
                    elif col.endswith("person_id"):
                        found.person_ids.add(value.strip())
                    elif col == "cont_contact_outcome_json":
                        comment = json.loads(value).get("COMMENTS")
                        if comment:
                            found.comments.add(comment)
    return found


@pytest.fixture(scope="module")
def identifying(published_home) -> Identifying:
    found = read_identifying(published_home.extracts)
    # the premise: the input is full of identifying values
    assert len(found.names) > 20 and len(found.upns) > 1000 and len(found.comments) > 5
    assert len(found.postcodes) > 100 and len(found.person_ids) > 1000
    assert all(FULL_POSTCODE.fullmatch(p) for p in found.postcodes)
    assert all(UPN_SHAPE.fullmatch(u) for u in found.upns)
    return found


def _problems(text: str, ident: Identifying, where: str, *,
              whole_values: list[str] | None = None) -> list[str]:
    """Identifying values in ``text`` (a file) or in ``whole_values`` (a column's distinct values)."""
    out = []
    if SECRET_KEY in text:
        out.append(f"{where}: the pseudonymisation key")
    plain = html.unescape(text)
    for m in FULL_POSTCODE.finditer(plain):
        out.append(f"{where}: full postcode {m.group(0)!r}")
    for m in UPN_SHAPE.finditer(plain):
        out.append(f"{where}: UPN-shaped value {m.group(0)!r}")
    words = _words(plain)
    for needle, original in ident.word_needles().items():
        if needle in words:
            out.append(f"{where}: {original!r}")
    if whole_values is None:
        tokens = set(TOKEN.findall(plain))
        out += [f"{where}: person id {t}" for t in tokens & ident.person_ids]
        out += [f"{where}: UPN {t}" for t in tokens & ident.upns]
    else:
        stripped = {v.strip() for v in whole_values}
        out += [f"{where}: person id {v}" for v in stripped & ident.person_ids]
        out += [f"{where}: UPN {v}" for v in stripped & ident.upns]
    return out


def _strip_third_party(path: Path, text: str) -> str:
    if path.suffix == ".html" and plotly_js() in text:
        text = text.replace(plotly_js(), "")
    if path.name == "index.html" and path.parent.name == "docs":
        template = _docs_index_template().read_text(encoding="utf-8")
        head, between, tail = re.split(r'"MANIFEST\.JSON INLINE DATA"|"CATALOG\.JSON INLINE DATA"', template)
        # the page is dbt's page with our manifest and catalog inlined, nothing else
        assert text.startswith(head) and text.endswith(tail) and between in text
        text = text[len(head):len(text) - len(tail)]
    return text


def published_texts(published: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for every published file; an xlsx is read as its XML parts."""
    for path in sorted(published.rglob("*")):
        if not path.is_file() or path.suffix in (".duckdb", ".wal"):
            continue
        rel = str(path.relative_to(published))
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                for name in z.namelist():
                    text = z.read(name).decode("utf-8", errors="replace")
                    if text != theme_xml:  # openpyxl's constant theme (colour values such as 105000)
                        yield f"{rel}!{name}", text
        else:
            yield rel, _strip_third_party(path, path.read_text(encoding="utf-8", errors="replace"))


def test_published_warehouse_holds_marts_and_dimensions_only(published_home):
    con = duckdb.connect(str(published_home.warehouse), read_only=True)
    try:
        tables = con.execute("select schema_name, table_name from duckdb_tables() "
                             "where not internal").fetchall()
        views = con.execute("select schema_name, view_name from duckdb_views() where not internal").fetchall()
    finally:
        con.close()
    main = sorted(t for s, t in tables if s == "main")
    assert "fct_scorecard" in main and "dim_measure" in main and "dim_child" in main
    assert all(t.startswith(("fct_", "dim_")) for t in main), main
    # the quality gate's audit trail may be published beside the marts; nothing else
    assert {s for s, _ in tables + views} <= {"main", "audit"}
    for _, name in tables + views:
        assert not re.search(r"raw|stg_|staging|quarantine|int_|pseudonym|load_log", name), name


def test_published_warehouse_has_no_identifying_values(published_home, identifying):
    con = duckdb.connect(str(published_home.warehouse), read_only=True)
    problems: list[str] = []
    scanned = 0
    try:
        columns = con.execute("""select schema_name, table_name, column_name, data_type from duckdb_columns()
                                 where not internal order by all""").fetchall()
        for schema, table, column, _ in columns:
            values = [r[0] for r in con.execute(
                f'select distinct cast("{column}" as varchar) from "{schema}"."{table}" '
                f'where "{column}" is not null').fetchall()]
            scanned += len(values)
            problems += _problems("\n".join(values), identifying, f"{schema}.{table}.{column}",
                                  whole_values=values)
        comments = con.execute("""select table_name, comment from duckdb_tables() where not internal
                                  union all select table_name || '.' || column_name, comment
                                  from duckdb_columns() where not internal""").fetchall()
        for where, comment in comments:
            problems += _problems(comment or "", identifying, f"comment of {where}", whole_values=[])
    finally:
        con.close()
    assert scanned > 10_000
    assert problems == []


def test_published_files_have_no_identifying_values(published_home, identifying):
    published = published_home.published
    texts = list(published_texts(published))
    names = {w.split("!")[0] for w, _ in texts}
    # everything a run publishes is scanned: both months, the public variant, the docs site with its JSON
    for expected in ("2023-07/scorecard.csv", "2023-07/scorecard.xlsx", "2023-07/scorecard.html",
                     "2023-07/public/scorecard.csv", "2023-07/public/scorecard.xlsx",
                     "2023-07/public/scorecard.html", "2023-06/scorecard.xlsx", "docs/index.html",
                     "docs/manifest.json", "docs/catalog.json"):
        assert expected in names, expected
    problems: list[str] = []
    for where, text in texts:
        problems += _problems(text, identifying, where)
    assert problems == []


def test_the_scan_finds_what_it_looks_for(identifying):
    """The scanner itself: each kind of value is caught in a file and in a column."""
    name = sorted(identifying.names)[0]
    upn = sorted(identifying.upns)[0]
    comment = sorted(identifying.comments)[0]
    postcode = sorted(identifying.postcodes)[0]
    pid = sorted(identifying.person_ids)[0]
    page = (f"<td>{html.escape(name)}</td><td>{upn}</td><p title=\"{html.escape(comment)}\"></p>"
            f"{json.dumps({'x': postcode})} id {pid} key {SECRET_KEY}")
    found = _problems(page, identifying, "page")
    for needle in (name, upn, comment, postcode, pid, "pseudonymisation key"):
        assert any(needle in p for p in found), (needle, found)
    assert _problems(f"{pid}0 and 1{pid}", identifying, "figures") == []  # whole tokens only
    assert _problems("", identifying, "column", whole_values=[f" {pid} "]) != []
