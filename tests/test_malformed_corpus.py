"""Malformed extract files never crash the pipeline: tests/fixtures/malformed/ (its README says
what is wrong with each file and why it is rejected).

For every file of the corpus:

* the reader rejects it (ExtractRejected) naming the file, the line and the reason, and quoting
  none of the file's values (fast);
* ``csc-warehouse run`` on a home that already published a month, with the file in place of
  the table's file of the next month, exits 2 with that message and no backtrace, loads nothing
  of the month, leaves every published file as it was, and the load log still reconciles (e2e).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest

from dagster_project.contract import TABLES_BY_NAME
from dagster_project.extracts.reader import ExtractRejected, open_table_file, read_table
from tests.pipeline_helpers import copy_home, generate, published_hashes, run

CORPUS = Path(__file__).parent / "fixtures" / "malformed"
JULY = date(2023, 7, 1)
FIRST, SECOND = "2023-06", "2023-07"
KEY_ENV = {"CSC_PSEUDONYM_KEY": "malformed-corpus-test-key-0123456789abcdef", "COLUMNS": "250"}

# file -> (line named in the message, what the message says)
EXPECTED: dict[str, tuple[int, str]] = {
    "stray_cr_in_row.ssd_missing.csv": (3, r"carriage return \(CR\) without a line feed"),
    "stray_cr_in_header.ssd_missing.csv": (1, r"carriage return \(CR\) without a line feed"),
    "cr_line_endings.ssd_missing.csv": (1, r"carriage return \(CR\) without a line feed.*old Mac line endings"),
    "mixed_line_endings.ssd_missing.csv": (3, r"ends with LF but the header line with CRLF: mixed line endings"),
    "truncated_last_row.ssd_missing.csv": (4, r"\(the last\) has 4 fields but the header has 7.*truncated"),
    "truncated_in_quoted_field.ssd_contacts.csv": (3, r"quoted field that never closes.*truncated"),
    "short_row.ssd_missing.csv": (3, r"has 4 fields but the header has 7"),
    "long_row.ssd_missing.csv": (3, r"has 8 fields but the header has 7"),
    "unbalanced_quote.ssd_missing.csv": (3, r"quoted field that never closes: an unbalanced double quote"),
    "quote_inside_field.ssd_missing.csv": (3, r"double quote inside a field that is not quoted"),
    "text_after_closing_quote.ssd_missing.csv": (3, r"text after the closing double quote"),
    "nul_byte.ssd_missing.csv": (3, r"NUL byte"),
    "latin1_encoding.ssd_missing.csv": (3, r"is not valid UTF-8"),
    "utf16_encoding.ssd_missing.csv": (1, r"UTF-16"),
    "bom_mid_file.ssd_missing.csv": (3, r"byte-order mark \(BOM\) after the start of the file"),
    "header_only.ssd_contacts.csv": (1, r"only its header .* no data rows"),
    "empty_file.ssd_missing.csv": (1, r"the file is empty"),
    "blank_first_line.ssd_missing.csv": (1, r"is blank: the first line must be the header"),
    "duplicate_header_names.ssd_missing.csv": (1, r"column miss_table_id appears more than once"),
    "semicolon_separated.ssd_missing.csv": (1, r"not comma-separated"),
    "month_first_dates.ssd_missing.csv": (3, r"miss_missing_episode_start_date holds a date valid only month first"),
}
CASES = sorted(EXPECTED)
# values of the corpus files that no message may quote
VALUES = ("P1", "P2", "M1", "M2", "M3", "C1", "C2", "2023-07", "07/25/2023")


def table_of(name: str) -> str:
    return name.split(".")[1]


def assert_message(message: str, name: str) -> None:
    line, reason = EXPECTED[name]
    target = f"ssd_{table_of(name).removeprefix('ssd_')}.csv"
    assert f"{SECOND}/{target}: " in message, message
    assert re.search(rf"\bline {line}\b", message), message
    assert re.search(reason, message), message
    quoted = message.split(f"{target}: ", 1)[1]
    assert not any(v in quoted for v in VALUES), message  # no value of the file


def test_the_corpus_is_documented():
    files = {p.name for p in CORPUS.glob("*.csv")}
    assert files == set(EXPECTED)
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in files)


@pytest.mark.parametrize("name", CASES)
def test_the_reader_rejects_each_file_naming_line_and_reason(tmp_path: Path, name: str) -> None:
    table = table_of(name)
    path = tmp_path / f"{table}.csv"
    shutil.copy(CORPUS / name, path)
    with pytest.raises(ExtractRejected) as info:
        read_table(open_table_file(TABLES_BY_NAME[table], path, JULY))
    rejected = info.value
    assert (rejected.file, rejected.month) == (path.name, JULY)
    assert rejected.line == EXPECTED[name][0]
    assert_message(str(rejected), name)
    assert rejected.__cause__ is None or isinstance(rejected.__cause__, OSError)  # no parser text chained


# ---- the real CLI ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Base:
    extracts: Path
    home: Path


def build_base(root: Path) -> Base:
    """June published from generated extracts of June and July (scale 0.05)."""
    extracts, home = root / "extracts", root / "home"
    generate(extracts, FIRST, SECOND, scale=0.05, seed=7)
    first = run(extracts, home, "--month", FIRST, env=KEY_ENV)
    assert first.returncode == 0, first.stderr[-5000:]
    return Base(extracts, home)


def published_tree(home: Path) -> dict[str, str]:
    """Every entry under published/: file hashes and symlink targets (the stable paths included)."""
    root = home / "published"
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "-> " + os.readlink(p)
            elif p.is_file():
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def load_log(home: Path) -> list[tuple]:
    con = duckdb.connect(str(home / "private" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(
            "select extract_month, table_name, rows_read, rows_loaded + rows_quarantined + duplicates_dropped "
            "from raw.load_log order by all"
        ).fetchall()
    finally:
        con.close()


@pytest.mark.e2e
@pytest.mark.xdist_group("malformed")
@pytest.mark.parametrize("name", CASES)
def test_run_rejects_each_file_with_exit_2(malformed_base: Base, tmp_path: Path, name: str) -> None:
    extracts = tmp_path / "extracts"
    shutil.copytree(malformed_base.extracts, extracts)
    home = copy_home(malformed_base.home, tmp_path / "home")
    month_dir = extracts / SECOND
    (month_dir / "manifest.json").unlink()  # what the file says is judged, not its checksum
    shutil.copy(CORPUS / name, month_dir / f"{table_of(name)}.csv")
    before, tree_before, log_before = published_hashes(home), published_tree(home), load_log(home)
    assert before and log_before

    result = run(extracts, home, "--month", SECOND, env=KEY_ENV)

    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "panicked" not in result.stderr, result.stderr[-3000:]
    failed = re.search(r"ingest: FAILED - Extract 2023-07 rejected: (.*)", result.stderr)  # the progress line
    assert failed, result.stderr[-3000:]
    assert result.stderr.count("ingest: FAILED") == 1, result.stderr[-3000:]
    assert_message(failed.group(1), name)
    assert "nothing was published by this run" in " ".join(result.stderr.split())  # before where it is
    assert published_hashes(home) == before and published_tree(home) == tree_before
    assert load_log(home) == log_before  # nothing of July loaded
    assert all(read == accounted for _, _, read, accounted in log_before)
    assert not (home / "private" / "worklists" / f"{SECOND}.csv").exists()
