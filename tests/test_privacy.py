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
Third-party text embedded verbatim (the dbt docs application around the inlined manifest,
openpyxl's theme part of the workbook) is removed before the scan: it is the
same whatever the input, and holds 6-digit numbers that would collide with the ids.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from openpyxl.writer.theme import theme_xml

from dagster_project.extracts.manifest import file_sha256
from dagster_project.publish.outputs.docs_site import _docs_index_template
from tests.outputs_pipeline import SECRET_KEY, XDIST_GROUP
from tests.pipeline_helpers import generate, run

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
    if path.name == "index.html" and path.parent.name == "docs":
        template = _docs_index_template().read_text(encoding="utf-8")
        head, between, tail = re.split(r'"MANIFEST\.JSON INLINE DATA"|"CATALOG\.JSON INLINE DATA"', template)
        # the page is dbt's page with our manifest and catalog inlined, nothing else
        assert text.startswith(head) and text.endswith(tail) and between in text
        text = text[len(head):len(text) - len(tail)]
    return text


def published_texts(published: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for every published file (every version kept, read once; named by its path
    under the version, as readers reach it through published/'s stable paths); an xlsx is read as
    its XML parts, a parquet file as its values."""
    for path in sorted(published.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.suffix in (".duckdb", ".wal"):
            continue
        rel = str(path.relative_to(published))
        if rel.startswith("versions/"):
            rel = rel.split("/", 2)[2]
        if path.suffix == ".parquet":  # binary: its values, column names and key-value metadata
            con = duckdb.connect()
            try:
                cursor = con.execute("select * from read_parquet(?)", [str(path)])
                names = [d[0] for d in cursor.description]
                rows = ["\n".join(",".join("" if v is None else str(v) for v in r) for r in cursor.fetchall())]
                meta = con.execute("select key, value from parquet_kv_metadata(?)", [str(path)]).fetchall()
            finally:
                con.close()
            meta_text = "\n".join(f"{k.decode(errors='replace')}={v.decode(errors='replace')}" for k, v in meta)
            yield rel, "\n".join([",".join(names), *rows, meta_text])
        elif path.suffix == ".xlsx":
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


# ---- rows that fail a validity rule: their values stay in the private zone ------------------------
#
# The acceptance test of issue 15: rows failing every validity rule, each carrying a person id, a
# date of birth, a name, a UPN (and a placement postcode, free text in JSON, ids a spreadsheet or a
# browser would run), are injected into a generated month, which is run and published. None of
# those values may reach a published file, a text column of the analysts' warehouse, or the run's
# log and Dagster event log; the month's worklist (private) has every quarantined row.

FIRST_NAME = "Zephyrine"
INJECT_MONTH = "2023-06"
ODD_IDS = ("=1+1", "<script>alert(2)</script>", "ZQ" * 30)


@dataclass
class Injected:
    ident: Identifying
    dobs: set[str] = field(default_factory=set)
    rules: set[tuple[str, str]] = field(default_factory=set)  # (table, rule) that must be quarantined


def _append(path: Path, rows: list[dict[str, str]]) -> None:
    """Rows appended to a generated CSV file in its own header order and line ending."""
    data = path.read_bytes()
    eol = b"\r\n" if data.split(b"\n", 1)[0].endswith(b"\r") else b"\n"
    header = next(csv.reader([data.split(b"\n", 1)[0].decode("utf-8-sig").rstrip("\r")]))
    out = io.StringIO()
    csv.writer(out, lineterminator=eol.decode()).writerows([[r.get(c, "") for c in header] for r in rows])
    path.write_bytes(data + (b"" if data.endswith(b"\n") else eol) + out.getvalue().encode())


def inject_failures(folder: Path) -> Injected:
    """Rows failing each validity rule into the month folder; the manifest is updated to match."""
    taken = b"".join(p.read_bytes() for p in folder.parent.glob("*/*.csv"))
    days = (date(2003, 1, 1) + timedelta(days=n) for n in range(0, 3650, 37))  # no child of the input born then
    dobs = [d for d in (day.isoformat() for day in days) if d.encode() not in taken][:20]
    assert len(dobs) == 20
    pid = [f"ZQP{i:04d}" for i in range(21)]
    out = Injected(Identifying())
    out.ident.person_ids.update(pid[1:] + ["ZQP0404", ODD_IDS[1]])
    people = []
    for i in range(1, 21):
        forename, surname, upn = FIRST_NAME, f"Quillfeather{chr(64 + i)}x", f"Z{700000000000 + i}"
        people.append({"pers_person_id": pid[i], "pers_sex": "F", "pers_ethnicity": "WBRI", "pers_dob": dobs[i - 1],
                       "pers_forename": forename, "pers_surname": surname, "pers_upn": upn})
        out.ident.names |= {forename, surname}
        out.ident.upns.add(upn)
    out.dobs = set(dobs)
    people[14]["pers_dob"] = "31.01.2010"  # format: a date of birth that is no date
    out.dobs.add("31.01.2010")
    comment = f"{FIRST_NAME} QuillfeatherPx told the school"
    out.ident.comments.add(comment)
    out.ident.postcodes.add("ZE1 9QX")

    def contact(i: int, **values: str) -> dict[str, str]:
        return {"cont_contact_id": f"ZQC{i:04d}", "cont_person_id": pid[i], "cont_contact_date": "2023-06-05",
                "cont_contact_source_code": "6", "cont_contact_outcome_json": '{"NFA_FLAG": "Y"}',
                "cont_contact_decision_date": "2023-06-06"} | values

    contacts = [
        contact(1, cont_contact_id=""),  # key: empty
        contact(2), contact(2, cont_contact_date="2023-06-07"),  # key: not unique
        contact(3), contact(3),  # key: exact duplicate
        contact(4, cont_person_id="ZQP0404"),  # FK
        contact(11, cont_contact_date="1990-01-01", cont_contact_decision_date=""),  # 353
        contact(12, cont_contact_date="2030-01-01", cont_contact_decision_date=""),  # future
        contact(13, cont_contact_source_code="ZZ"),  # codes
        contact(14, cont_contact_date="31/02/2023"),  # format: date
        contact(15),  # the contact of the person whose date of birth is no date (valid)
        contact(16, cont_contact_outcome_json='{"NFA_FLAG": "Y", "COMMENTS": "' + comment + '"'),  # format: JSON
        contact(17, cont_contact_id=ODD_IDS[0]),  # format: id a spreadsheet would run
        contact(18, cont_person_id=ODD_IDS[1]),  # format (id) and FK
        contact(18, cont_contact_id=ODD_IDS[2]),  # format: id longer than 48
    ]
    referral = {"cine_referral_source_code": "1A", "cine_cin_primary_need_code": "N4", "cine_referral_nfa": "N"}
    tables = {
        "ssd_person": people,
        "ssd_contacts": contacts,
        "ssd_missing": [
            {"miss_table_id": "ZQM0005", "miss_person_id": pid[5], "miss_missing_episode_start_date": "2023-05-10",
             "miss_missing_episode_type": "M", "miss_missing_episode_end_date": "2023-05-02"},  # 356/...
            {"miss_table_id": "ZQM0010", "miss_person_id": pid[10], "miss_missing_episode_start_date": "2023-05-01",
             "miss_missing_episode_type": "M", "miss_missing_episode_end_date": "2023-05-10"},
            {"miss_table_id": "ZQM0011", "miss_person_id": pid[10], "miss_missing_episode_start_date": "2023-05-05",
             "miss_missing_episode_type": "A", "miss_missing_episode_end_date": "2023-05-06"},  # 501/574
        ],
        "ssd_cin_episodes": [
            {"cine_referral_id": "ZQR0006", "cine_person_id": pid[6], "cine_referral_date": "2023-05-10"} | referral,
            {"cine_referral_id": "ZQR0007", "cine_person_id": pid[7], "cine_referral_date": "2023-05-02"} | referral,
        ],
        "ssd_cin_assessments": [
            {"cina_assessment_id": "ZQA0006", "cina_person_id": pid[6], "cina_referral_id": "ZQR0006",
             "cina_assessment_start_date": "2023-05-01", "cina_assessment_child_seen": "Y"},  # 1103/2889
            {"cina_assessment_id": "ZQA0020", "cina_person_id": pid[20], "cina_referral_id": "ZQR0006",
             "cina_assessment_start_date": "2023-05-12", "cina_assessment_child_seen": "maybe"},  # format: flag
        ],
        "ssd_s47_enquiry": [
            {"s47e_s47_enquiry_id": "ZQS0007", "s47e_referral_id": "ZQR0007", "s47e_person_id": pid[7],
             "s47e_s47_start_date": "2023-05-10"},
        ],
        "ssd_initial_cp_conference": [
            {"icpc_icpc_id": "ZQI0007", "icpc_s47_enquiry_id": "ZQS0007", "icpc_referral_id": "ZQR0007",
             "icpc_person_id": pid[7], "icpc_icpc_transfer_in": "N", "icpc_icpc_target_date": "2023-05-30",
             "icpc_icpc_date": "2023-05-08", "icpc_icpc_outcome_cp_flag": "N"},  # 8615
            {"icpc_icpc_id": "ZQI0008", "icpc_s47_enquiry_id": "ZQS0007", "icpc_referral_id": "ZQR0007",
             "icpc_person_id": pid[8], "icpc_icpc_transfer_in": "N", "icpc_icpc_target_date": "2023-05-30",
             "icpc_icpc_date": "2023-05-13", "icpc_icpc_outcome_cp_flag": "N"},  # 8875: a Saturday
        ],
        "ssd_cla_episodes": [
            {"clae_cla_episode_id": "ZQE0009", "clae_person_id": pid[9], "clae_cla_id": "ZQCLA09",
             "clae_cla_episode_start_date": "2002-06-03", "clae_cla_episode_start_reason": "S",
             "clae_cla_primary_need_code": "N1", "clae_entered_care_date": "2002-06-03"},  # 302/586
        ],
        "ssd_cla_placement": [
            {"clap_cla_placement_id": "ZQPL019", "clap_cla_id": "ZQCLA19", "clap_person_id": pid[19],
             "clap_cla_placement_start_date": "2023-05-10", "clap_cla_placement_type": "U1",
             "clap_cla_placement_provider": "PR1", "clap_cla_placement_postcode": "ZE1 9QX",
             "clap_cla_placement_end_date": "2023-05-01"},  # 356/... (and FK: no such period of care)
        ],
    }  # fmt: skip
    for table, rows in tables.items():
        _append(folder / f"{table}.csv", rows)
    out.rules = {
        ("ssd_contacts", r) for r in ("key", "FK", "353", "future", "codes", "format")
    } | {
        ("ssd_missing", "356/8608/8630/8925/567"), ("ssd_missing", "501/574"),
        ("ssd_cin_assessments", "1103/2889"), ("ssd_cin_assessments", "format"),
        ("ssd_initial_cp_conference", "8615"), ("ssd_initial_cp_conference", "8875"),
        ("ssd_cla_episodes", "302/586"), ("ssd_cla_placement", "356/8608/8630/8925/567"),
        ("ssd_person", "format"),
    }  # fmt: skip
    manifest = folder / "manifest.json"
    doc = json.loads(manifest.read_text())
    for table in tables:
        with (folder / f"{table}.csv").open(encoding="utf-8-sig", newline="") as f:
            rows = sum(1 for _ in csv.DictReader(f))
        doc["files"][f"{table}.csv"] = {"rows": rows, "sha256": file_sha256(folder / f"{table}.csv")}
    manifest.write_text(json.dumps(doc))
    return out


def _leaks(text: str, injected: Injected, where: str, whole_values: list[str] | None = None) -> list[str]:
    found = _problems(text, injected.ident, where, whole_values=whole_values)
    plain = html.unescape(text)
    found += [f"{where}: date of birth {d}" for d in injected.dobs if d in plain]
    found += [f"{where}: raw id {v!r}" for v in ODD_IDS[1:] if v in plain]
    cells = set(whole_values) if whole_values is not None else set(re.split(r"[,\n\"]", plain))
    found += [f"{where}: raw id {v!r}" for v in (ODD_IDS[0], "'" + ODD_IDS[0]) if v in cells]
    return found


@pytest.fixture(scope="module")
def failing_rows_home(tmp_path_factory) -> tuple[Path, Injected]:
    root = tmp_path_factory.mktemp("failing-rows")
    extracts, home = root / "extracts", root / "home"
    generate(extracts, INJECT_MONTH, INJECT_MONTH, scale=0.05, seed=7)
    injected = inject_failures(extracts / INJECT_MONTH)
    result = run(extracts, home, "--month", INJECT_MONTH, env={"CSC_PSEUDONYM_KEY": SECRET_KEY, "COLUMNS": "250"})
    assert result.returncode == 0, result.stderr[-5000:]
    return home, injected


@pytest.mark.e2e
def test_failing_rows_are_quarantined_and_the_worklist_has_every_one(failing_rows_home) -> None:
    home, injected = failing_rows_home
    con = duckdb.connect(str(home / "private" / "warehouse.duckdb"), read_only=True)
    try:
        quarantined = con.execute(
            "select table_name, rule, column_name, record_key from raw.quarantine where extract_month = ?",
            [date(2023, 6, 1)],
        ).fetchall()
    finally:
        con.close()
    assert injected.rules <= {(t, r) for t, r, _, _ in quarantined}
    with (home / "private" / "worklists" / f"{INJECT_MONTH}.csv").open(encoding="utf-8", newline="") as f:
        worklist = list(csv.DictReader(f))
    unquote = {"'" + v: v for v in ODD_IDS}  # the worklist keeps a formula as text
    listed = Counter(
        (r["table_name"], r["rule"], r["column_name"], unquote.get(r["record_key"], r["record_key"]) or None)
        for r in worklist
    )
    assert listed == Counter(quarantined)
    failing_children = injected.ident.person_ids - {"ZQP0004"}  # ZQP0004's contact names ZQP0404 instead
    assert failing_children <= {r["person_id"] for r in worklist}  # every child, as sent
    assert all(r["line_number"].isdigit() and int(r["line_number"]) > 1 for r in worklist)


@pytest.mark.e2e
def test_failing_rows_leave_no_value_in_anything_published(failing_rows_home) -> None:
    home, injected = failing_rows_home
    published = home / "published"
    texts = list(published_texts(published))
    problems: list[str] = []
    for where, text in texts:
        problems += _leaks(text, injected, where)
    # the report does show the failures: by rule, column and line of the file
    report = next(t for w, t in texts if w.endswith(f"{INJECT_MONTH}/quality_report.csv"))
    sections = [r for r in csv.DictReader(io.StringIO(report)) if r["section"] == "row_failures"]
    assert {tuple(r["id"].split(":", 1)) for r in sections} >= injected.rules
    assert all(json.loads(r["evidence"])["example_lines"] for r in sections)
    con = duckdb.connect(str(published / "warehouse.duckdb"), read_only=True)
    try:
        columns = con.execute("""select schema_name, table_name, column_name from duckdb_columns()
                                 where not internal and data_type in ('VARCHAR', 'JSON') order by all""").fetchall()
        for schema, table, column in columns:
            values = [r[0] for r in con.execute(f'select distinct "{column}" from "{schema}"."{table}" '
                                                f'where "{column}" is not null').fetchall()]
            problems += _leaks("\n".join(values), injected, f"{schema}.{table}.{column}", whole_values=values)
        dates = con.execute("""select schema_name, table_name, column_name from duckdb_columns()
                               where not internal and data_type = 'DATE' order by all""").fetchall()
        for schema, table, column in dates:
            query = f'select distinct cast("{column}" as varchar) from "{schema}"."{table}"'
            values = [r[0] for r in con.execute(query).fetchall()]
            problems += [f"{schema}.{table}.{column}: date of birth {d}" for d in injected.dobs & set(values)]
    finally:
        con.close()
    assert problems == []


@pytest.mark.e2e
def test_failing_rows_leave_no_value_in_the_run_log_or_dagster(failing_rows_home) -> None:
    """What the ingest logs and records as Dagster metadata names counts and files only."""
    home, injected = failing_rows_home
    problems: list[str] = []
    for path in [*sorted((home / "private" / "logs").glob("*.log")), *sorted((home / "dagster").rglob("*"))]:
        if path.is_file():
            problems += _leaks(path.read_bytes().decode("utf-8", errors="replace"), injected, str(path))
    assert problems == []


def test_quality_report_of_failing_rows_names_lines_not_values(tmp_path: Path) -> None:
    """The report of a month with failures (no pipeline: the loader and the report alone)."""
    from dagster_project.checks.report import write_quality_report
    from dagster_project.ingest.load import load_extract
    from tests.test_ingest import JULY, TODAY, Month

    month = (
        Month()
        .set("ssd_person", "P2", pers_dob="31.01.2015")
        .add("ssd_contacts", cont_contact_id="C2", cont_person_id="P404", cont_contact_source_code="XX")
        .add("ssd_contacts", cont_contact_id="=1+1", cont_contact_date="31/02/2023")
        .add("ssd_cla_placement", clap_cla_placement_id="PL3", clap_cla_placement_start_date="2023-02-15")
    )
    con = duckdb.connect()
    load_extract(con, month.write(tmp_path), JULY, today=TODAY)
    page, table = write_quality_report(con, JULY, "r", tmp_path / "report")
    text, rows = page.read_text(), list(csv.DictReader(table.open(encoding="utf-8")))
    for raw in ("P404", "31.01.2015", "=1+1", "PL1", "PL3", "2023-03-01", "P2"):
        assert raw not in text and not any(raw in json.dumps(r) for r in rows), raw
    failures = {r["id"]: r for r in rows if r["section"] == "row_failures"}
    fk = failures["ssd_contacts:FK"]
    assert fk["summary"] == "1 row (1 failure): cont_person_id is not found in ssd_person.pers_person_id"
    assert json.loads(fk["evidence"]) == {"example_lines": [3], "example_rows": [2], "example_values": [None]}
    # a code and an unreadable event date identify nobody: shown, by line
    assert "line 3 = XX" in text and "line 4 = 31/02/2023" in text
    assert "<td>ssd_person</td><td>format</td><td>pers_dob</td>" in text and "line 3</td>" in text
