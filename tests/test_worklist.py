"""The data-quality worklist (dagster_project/ingest/worklist.py) and ``csc-warehouse worklist``.

The worklist is the private counterpart of the quality report: one row per quarantined row and
failed rule with the file, the line, the raw key, the raw person id, the value and the whole
message, for the council's data team to fix records at source.
"""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import duckdb
import pytest

from dagster_project.ingest.load import ExtractRejected, load_extract
from dagster_project.ingest.worklist import WORKLIST_COLUMNS
from dagster_project.settings import HomePaths
from tests.pipeline_helpers import cli
from tests.test_ingest import JULY, TODAY, Month

MULTILINE_JSON = '{"NFA_FLAG": "Y",\n"COMMENTS": "two lines"}'  # a line break between JSON tokens


def worklist_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == WORKLIST_COLUMNS
        return list(reader)


def broken_month() -> Month:
    """Failures with raw values worth fixing: a contact whose person is unknown, two lines below
    a contact whose JSON spans two lines; a date of birth that is not a date; a formula id."""
    return (
        Month()
        .set("ssd_contacts", "C1", cont_contact_outcome_json=MULTILINE_JSON)
        .add("ssd_contacts", cont_contact_id="C2", cont_person_id="P404")
        .add("ssd_contacts", cont_contact_id="=1+1", cont_contact_source_code="[red]X[/red]")
        .set("ssd_person", "P2", pers_dob="31.01.2015")
        .duplicate("ssd_missing", "M1")
    )


@pytest.fixture
def loaded(tmp_path: Path) -> tuple[duckdb.DuckDBPyConnection, Path, Path]:
    """The broken month loaded into a home's private warehouse, its worklist written."""
    paths = HomePaths(tmp_path / "home")
    paths.private_dir.mkdir(parents=True)
    con = duckdb.connect(str(paths.work_db))
    folder = broken_month().write(tmp_path / "extracts")
    load_extract(con, folder, JULY, run_id="t", today=TODAY, worklist=paths.worklist(JULY))
    yield con, folder, paths.home
    con.close()


def test_one_row_per_failure_with_file_line_person_and_raw_values(loaded) -> None:
    con, folder, home = loaded
    path = HomePaths(home).worklist(JULY)
    rows = worklist_rows(path)
    assert len(rows) == con.execute("select count(*) from raw.quarantine").fetchone()[0] == 5
    got = {(r["table_name"], r["rule"], r["column_name"], r["record_key"]): r for r in rows}
    fk = got["ssd_contacts", "FK", "cont_person_id", "C2"]
    assert fk == {
        "table_name": "ssd_contacts", "file_name": "ssd_contacts.csv", "line_number": "4", "record_key": "C2",
        "person_id": "P404", "rule": "FK", "column_name": "cont_person_id", "value": "P404",
        "message": "cont_person_id P404 is not found in ssd_person.pers_person_id",
    }  # fmt: skip
    # a formula stays text for a spreadsheet: the id as sent, with a quote in front
    formula = got["ssd_contacts", "format", "cont_contact_id", "'=1+1"]
    assert (formula["line_number"], formula["value"], formula["person_id"]) == ("5", "'=1+1", "P1")
    codes = got["ssd_contacts", "codes", "cont_contact_source_code", "'=1+1"]
    assert codes["value"] == "[red]X[/red]"
    dob = got["ssd_person", "format", "pers_dob", "P2"]
    assert (dob["person_id"], dob["value"], dob["line_number"]) == ("P2", "31.01.2015", "3")
    duplicate = got["ssd_missing", "key", "miss_table_id", "M1"]
    assert (duplicate["line_number"], duplicate["message"]) == ("3", "exact duplicate row dropped")
    # every line number points at the line of the file where that record starts
    for r in rows:
        lines = (folder / r["file_name"]).read_text(encoding="utf-8").split("\n")
        assert lines[int(r["line_number"]) - 1].startswith(r["record_key"].removeprefix("'") + ","), r
    # the raw layer keeps the same line of every row, failing or not
    assert con.execute("select _row_number, _line_number from raw.ssd_contacts order by 1").fetchall() == [
        (1, 2), (2, 4), (3, 5),
    ]  # fmt: skip


def test_the_worklist_is_private(loaded) -> None:
    path = HomePaths(loaded[2]).worklist(JULY)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no staged copy left behind


def test_a_clean_month_has_an_empty_worklist(tmp_path: Path) -> None:
    con = duckdb.connect()
    worklist = tmp_path / "worklists" / "2023-07.csv"
    load_extract(con, Month().write(tmp_path), JULY, today=TODAY, worklist=worklist)
    assert worklist.read_text() == ",".join(WORKLIST_COLUMNS) + "\n"


def test_a_rejected_load_leaves_the_previous_worklist(loaded, tmp_path: Path) -> None:
    con, _, home = loaded
    path = HomePaths(home).worklist(JULY)
    before = path.read_bytes()
    folder = Month().write(tmp_path / "again")
    (folder / "ssd_missing.csv").write_bytes(b"miss_table_id,miss_person_id\r\nM1,P1\n")
    with pytest.raises(ExtractRejected):
        load_extract(con, folder, JULY, today=TODAY, worklist=path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


# ---- csc-warehouse worklist ----------------------------------------------------------------------


def test_cli_prints_the_worklist_as_a_table(loaded) -> None:
    res = cli("worklist", "--month", "2023-07", "--home", str(loaded[2]), env={"COLUMNS": "400"})
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "Data-quality worklist 2023-07" in out
    assert "cont_person_id P404 is not found in ssd_person.pers_person_id" in out
    assert "[red]X[/red]" in out  # shown as sent, never read as console markup
    assert "5 failures" in out


def test_cli_table_is_one_per_file_and_rule_and_fits_a_terminal(loaded) -> None:
    """On an 80-column terminal: a table per file, rule and column, every line within the width,
    ids and line numbers whole; --limit counts the rows of each rule, so every rule shows."""
    worklist = HomePaths(loaded[2]).worklist(JULY)
    with worklist.open(encoding="utf-8", newline="") as f:
        records = list(csv.DictReader(f))
    res = cli("worklist", "--month", "2023-07", "--home", str(loaded[2]), "--limit", "1", env={"COLUMNS": "80"})
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    for r in records:
        assert f"{r['file_name']}: rule {r['rule']}" in out  # each rule has its table, with its rows
    first = records[0]
    assert first["record_key"] in out and first["person_id"] in out and first["line_number"] in out
    assert f"{len(records)} failures" in out


def test_cli_csv_is_the_file(loaded) -> None:
    res = cli("worklist", "--month", "2023-07", "--home", str(loaded[2]), "--csv")
    assert res.returncode == 0, res.stderr
    assert res.stdout.encode() == HomePaths(loaded[2]).worklist(JULY).read_bytes()


def test_cli_shows_control_characters_instead_of_sending_them(tmp_path: Path) -> None:
    paths = HomePaths(tmp_path)
    paths.worklist(JULY).parent.mkdir(parents=True)
    with paths.worklist(JULY).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(WORKLIST_COLUMNS)
        w.writerow(["ssd_contacts", "ssd_contacts.csv", "2", "C1", "P1", "codes", "cont_contact_source_code",
                    "\x1b[2J\x07", "cont_contact_source_code \x1b[2J\x07 is not a contact_source code"])
    res = cli("worklist", "--month", "2023-07", "--home", str(tmp_path), env={"COLUMNS": "400"})
    assert res.returncode == 0, res.stderr
    assert "\x1b" not in res.stdout and "\x07" not in res.stdout
    assert "\\x1b[2J\\x07" in res.stdout


def test_cli_month_without_worklist_names_the_months_that_have_one(loaded) -> None:
    res = cli("worklist", "--month", "2023-08", "--home", str(loaded[2]))
    assert res.returncode == 2
    message = " ".join(res.stderr.split())
    assert "no worklist for 2023-08" in message and "months with one: 2023-07" in message


@pytest.mark.parametrize("month", ["2023-13", "July"])
def test_cli_bad_month_exits_2(tmp_path: Path, month: str) -> None:
    res = cli("worklist", "--month", month, "--home", str(tmp_path))
    assert res.returncode == 2
    assert "not a month in the form YYYY-MM" in res.stderr


def test_cli_no_worklist_at_all(tmp_path: Path) -> None:
    res = cli("worklist", "--month", "2023-07", "--home", str(tmp_path))
    assert res.returncode == 2
    assert "no month has one yet" in " ".join(res.stderr.split())
