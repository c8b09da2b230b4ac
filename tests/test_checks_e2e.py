"""End to end: every fault the generator can inject is stopped, and nothing published moves.

Two clean months (2023-01, 2023-02; seed 42, scale 0.2) are run and published once; each fault is
then injected into 2023-03 (the generator's faults apply to its last month only) and run on a copy
of that home. The run must exit 3 (blocked by the quality gate) or 2 (rejected at ingest, for the
file-level faults), name the check and its figures, and leave every file under
``<home>/published`` byte for byte as it was. A held month publishes once a named person signs it
off.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

pytestmark = [pytest.mark.xdist_group("checks_e2e"), pytest.mark.e2e]  # every test runs the real CLI

CLI = str(Path(sys.executable).parent / "csc-warehouse")
FIRST, CLEAN_LAST, FAULTY = "2023-01", "2023-02", "2023-03"
SCALE, SEED = "0.2", "42"


def cli(*args: object, timeout: int = 1800) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout)


def generate(out: Path, inject: str | None = None) -> Path:
    extra = ["--inject", inject] if inject else []
    res = cli(
        "generate", "--out", out, "--first", FIRST, "--last", FAULTY, "--seed", SEED, "--scale", SCALE, *extra
    )
    assert res.returncode == 0, res.stderr
    return out


def hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@dataclass(frozen=True)
class Base:
    extracts: Path
    home: Path


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Base:
    root = tmp_path_factory.mktemp("gate")
    extracts = generate(root / "clean")
    home = root / "home"
    res = cli("run", "--extracts", extracts, "--home", home, "--from", FIRST, "--to", CLEAN_LAST)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (home / "published" / CLEAN_LAST / "scorecard.csv").exists()
    return Base(extracts, home)


def faulty_home(base: Base, tmp_path: Path, fault: str) -> tuple[Path, Path, dict[str, str]]:
    extracts = generate(tmp_path / "extracts", fault)
    # the faulty extracts' clean months are the months the base home published
    for month in (FIRST, CLEAN_LAST):
        assert hashes(extracts / month) == hashes(base.extracts / month)
    home = tmp_path / "home"
    shutil.copytree(base.home, home, symlinks=True)  # the published zone is links to its current version
    return extracts, home, hashes(home / "published")


CASES = [
    # fault, exit code, what the message must name (the check and its figures)
    # month 3 of a council's life: two accepted extracts are not yet a volume baseline, but the
    # same extract's own twelve months are (history), and a file cut short stops years early
    ("duplicate_contacts", 3,
     [r"history\.contacts", r"contacts 2023-03: [\d,]+ against a median of [\d,]+ over the previous 11 months"]),
    ("truncated_table", 3,
     [r"freshness\.ssd_contacts", r"ssd_contacts: newest cont_contact_date [\d-]+, \d+ days before the extract date"]),
    ("unparseable_dates", 3,
     [r"quarantine_rate\.ssd_contacts", r"[\d,]+ of [\d,]+ rows quarantined or dropped \([\d.]+%",
      r"format \([\d,]+ rows\)"]),
    ("overlapping_placements", 3,
     [r"quarantine_rate\.ssd_cla_placement", r"[\d,]+ of [\d,]+ rows quarantined", r"501/574 \([\d,]+ rows\)"]),
    ("missing_end_before_start", 3,
     [r"quarantine_rate\.ssd_missing", r"[\d,]+ of [\d,]+ rows quarantined",
      r"356/8608/8630/8925/567 \([\d,]+ rows\)"]),
    ("missing_column", 2, [r"cont_contact_source_code"]),
    ("manifest_row_count", 2, [r"manifest", r"ssd_contacts\.csv"]),
]  # fmt: skip


@pytest.mark.parametrize("fault, code, patterns", CASES, ids=[c[0] for c in CASES])
def test_each_fault_is_stopped_and_nothing_published_moves(base, tmp_path, fault, code, patterns):
    extracts, home, before = faulty_home(base, tmp_path, fault)
    res = cli("run", "--extracts", extracts, "--home", home, "--month", FAULTY)
    out = res.stdout + res.stderr
    assert res.returncode == code, out
    for pattern in patterns:
        assert re.search(pattern, out), f"{pattern!r} not in the run's output:\n{out}"
    assert hashes(home / "published") == before
    assert not (home / "published" / FAULTY).exists()
    if code == 3:  # the gate's report of the blocked run stays in the working area
        report = (home / "private" / "runs" / FAULTY / "quality_report.html").read_text()
        assert re.search(patterns[0], report)


def test_a_held_month_publishes_once_signed_off(base, tmp_path):
    """all_rhi_accepted: every RHI accepted (Bradford's 39 % -> 83 % in one month, taken to 100 %)."""
    extracts, home, before = faulty_home(base, tmp_path, "all_rhi_accepted")
    res = cli("run", "--extracts", extracts, "--home", home, "--month", FAULTY)
    out = res.stdout + res.stderr
    assert res.returncode == 3, out
    figures = re.search(
        r"history\.rhi_accepted_pct \[hold, failed\]: rhi_accepted_pct 2023-03: "
        r"100\.0% \((\d+)/\1\) against a median of \d+\.\d% over the previous 11 months",
        out,
    )
    assert figures, out
    assert re.search(r"if the figures are right: csc-warehouse signoff --home \S+ --month 2023-03 "
                     r"--check history\.rhi_accepted_pct", out), out
    assert hashes(home / "published") == before

    held = re.findall(r"BLOCKED by (\S+) \[hold, failed\]", out)
    assert "history.rhi_accepted_pct" in held
    for check in held:
        res = cli(
            "signoff",
            "--home",
            home,
            "--month",
            FAULTY,
            "--check",
            check,
            "--by",
            "Jo Bloggs",
            "--reason",
            "Missing team confirmed: the new RHI service reached every child",
        )
        assert res.returncode == 0, res.stdout + res.stderr
    res = cli(
        "signoff",
        "--home",
        home,
        "--month",
        FAULTY,
        "--check",
        "bounds.contacts",
        "--by",
        "Jo Bloggs",
        "--reason",
        "an error check cannot be signed off",
    )
    assert res.returncode == 2 and "cannot be signed off" in res.stderr

    res = cli("run", "--extracts", extracts, "--home", home, "--month", FAULTY)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (home / "published" / FAULTY / "scorecard.csv").exists()
    con = duckdb.connect(str(home / "private" / "warehouse.duckdb"), read_only=True)
    try:
        signed = con.execute("""select check_id, status from quality.check_results
                                where month = '2023-03-01' and status = 'signed_off'
                                qualify checked_at = max(checked_at) over ()""").fetchall()
        recorded = con.execute("select signed_by, summary from quality.signoffs").fetchall()
    finally:
        con.close()
    assert {c for c, _ in signed} == set(held)
    assert all(by == "Jo Bloggs" and "100.0%" in summary for by, summary in recorded)
    # the sign-off is printed in the published outputs beside the figure
    published = "".join(p.read_text(errors="ignore") for p in (home / "published" / FAULTY).rglob("*.html"))
    assert "Jo Bloggs" in published


@pytest.mark.parametrize(
    "council, fault, pattern",
    [
        # no manifest, DD/MM/YYYY dates, TRUE/FALSE flags, a BOM, no CP reviews; 0.35 x Bradford
        ("eastborough", "codes_as_descriptions", r"quarantine_rate\.ssd_contacts \[hold, failed\]"),
        # a rows-only manifest, Yes/No flags, upper-case headers, neither optional feature
        ("midvale", "resent_previous_extract", r"resent\.extract \[error, failed\]: extract 2023-03: \d+ of \d+ files"),
    ],
)
def test_a_council_unlike_bradford_publishes_its_clean_months_and_its_fault_is_held(tmp_path, council, fault, pattern):
    def generate_for(out: Path, *extra: str) -> Path:
        res = cli("generate", "--out", out, "--first", FIRST, "--last", FAULTY, "--seed", SEED, "--scale", SCALE,
                  "--council", council, *extra)
        assert res.returncode == 0, res.stderr
        return out

    clean, faulty = generate_for(tmp_path / "clean"), generate_for(tmp_path / "faulty", "--inject", fault)
    home, held = tmp_path / "home", tmp_path / "held"
    res = cli("run", "--extracts", clean, "--home", home, "--from", FIRST, "--to", CLEAN_LAST)
    assert res.returncode == 0, res.stdout + res.stderr
    shutil.copytree(home, held, symlinks=True)
    res = cli("run", "--extracts", clean, "--home", home, "--month", FAULTY)  # the clean third month
    assert res.returncode == 0, res.stdout + res.stderr
    assert (home / "published" / FAULTY / "scorecard.csv").exists()

    for month in (FIRST, CLEAN_LAST):
        assert hashes(faulty / month) == hashes(clean / month)
    before = hashes(held / "published")
    res = cli("run", "--extracts", faulty, "--home", held, "--month", FAULTY)
    out = res.stdout + res.stderr
    assert res.returncode == 3, out
    assert re.search(pattern, out), out
    assert hashes(held / "published") == before
