"""The demo generator's newer faults (dagster_project/extracts/faults.py): each injected into the
last of two generated months, asserted on that month's CSV files against a clean run with the same
seed, with the earlier month left byte for byte as the clean run wrote it.

Faults that do not change file bytes alone are compared row by row with the clean run (same ids).
Every run here is small (scale 0.1, two months: well under a second each).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from dagster_project.contract import CONTACT_OUTCOME_KEYS, code_descriptions, code_lists
from dagster_project.extracts.faults import (
    FAULTS,
    FRAME_FAULTS,
    LOST_OUTCOME_KEY,
    check_faults,
    inject_into_manifest,
    inject_into_tables,
)
from dagster_project.extracts.generator import generate

FIRST, LAST = date(2023, 1, 1), date(2023, 2, 1)
EARLIER, FAULTY = "2023-01", "2023-02"
SEED, SCALE = 7, 0.1
NEW_FAULTS = (
    "resent_previous_extract",
    "day_month_swapped",
    "codes_as_descriptions",
    "placement_end_dates_lost",
    "missing_episodes_half_lost",
    "contact_outcome_flag_lost",
    "police_contacts_missing",
    "contacts_dated_first_of_month",
    "assessment_completions_lost",
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A clean run and one run per new fault (same seed and months): label -> extracts root."""
    root = tmp_path_factory.mktemp("new_faults")
    out = {}
    for label in ("clean", *NEW_FAULTS):
        out[label] = root / label
        generate(out[label], FIRST, LAST, seed=SEED, scale=SCALE, inject=[] if label == "clean" else [label])
    return out


def read_table(folder: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(folder / f"{name}.csv", infer_schema=False)


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Pair:
    """One table of the faulty month, as the clean run and the faulty run wrote it."""

    clean: pl.DataFrame
    faulty: pl.DataFrame


def pair(runs: dict[str, Path], fault: str, table: str) -> Pair:
    return Pair(read_table(runs["clean"] / FAULTY, table), read_table(runs[fault] / FAULTY, table))


def in_month(column: str, month: str = FAULTY) -> pl.Expr:
    return pl.col(column).str.starts_with(month)


def test_new_faults_are_listed_with_a_description() -> None:
    assert set(NEW_FAULTS) <= set(FAULTS)
    assert all(FAULTS[name] and "\n" not in FAULTS[name] for name in NEW_FAULTS)
    assert set(NEW_FAULTS) - {"resent_previous_extract"} <= set(FRAME_FAULTS)


@pytest.mark.parametrize("fault", NEW_FAULTS)
def test_earlier_month_untouched_and_last_month_changed(runs: dict[str, Path], fault: str) -> None:
    clean, faulty = runs["clean"], runs[fault]
    earlier = sorted(p.name for p in (clean / EARLIER).iterdir())
    assert sorted(p.name for p in (faulty / EARLIER).iterdir()) == earlier
    for name in earlier:
        assert (faulty / EARLIER / name).read_bytes() == (clean / EARLIER / name).read_bytes(), name
    changed = [
        p.name for p in (clean / FAULTY).glob("*.csv") if (faulty / FAULTY / p.name).read_bytes() != p.read_bytes()
    ]
    assert changed


def test_manifests_match_the_written_files(runs: dict[str, Path]) -> None:
    """Every new fault leaves a manifest that verifies (only manifest_row_count breaks it)."""
    for fault in NEW_FAULTS:
        folder = runs[fault] / FAULTY
        for name, entry in manifest_of(folder)["files"].items():
            assert entry["sha256"] == hashlib.sha256((folder / name).read_bytes()).hexdigest(), (fault, name)
            assert entry["rows"] == read_table(folder, name.removesuffix(".csv")).height, (fault, name)


# ---------------------------------------------------------------------------------------------
# one test per fault (test_generator.test_every_fault_is_tested counts these names too)


def test_resent_previous_extract(runs: dict[str, Path]) -> None:
    root = runs["resent_previous_extract"]
    sent = sorted(p.name for p in (root / FAULTY).glob("*.csv"))
    assert sent == sorted(p.name for p in (root / EARLIER).glob("*.csv"))
    for name in sent:
        assert (root / FAULTY / name).read_bytes() == (root / EARLIER / name).read_bytes(), name
    content, previous, clean = (manifest_of(f) for f in (root / FAULTY, root / EARLIER, runs["clean"] / FAULTY))
    # this month's period and extract date, the copied files' rows and checksums
    assert (content["period_end"], content["extract_date"]) == (clean["period_end"], clean["extract_date"])
    assert content["period_end"] == "2023-02-28"
    assert content["files"] == previous["files"]
    assert content["files"] != clean["files"]
    # the newest contact is from the previous extract's date, days into the month it claims to cover
    newest = read_table(root / FAULTY, "ssd_contacts")["cont_contact_date"].max()
    assert newest <= previous["extract_date"] < content["period_end"]
    assert newest < read_table(runs["clean"] / FAULTY, "ssd_contacts")["cont_contact_date"].max()


def test_resent_previous_extract_needs_two_months(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least two months"):
        check_faults(["resent_previous_extract"], date(2023, 2, 1), date(2023, 2, 1))
    with pytest.raises(ValueError, match="resent_previous_extract .* at least two months"):
        generate(tmp_path / "one", LAST, LAST, seed=SEED, scale=SCALE, inject=["resent_previous_extract"])
    assert not (tmp_path / "one").exists()  # refused before anything is simulated or written
    assert check_faults(["resent_previous_extract"], FIRST, LAST) == ("resent_previous_extract",)


def _swapped(column: str) -> pl.Expr:
    day = pl.col(column).str.to_date("%Y-%m-%d")
    return pl.when(day.dt.day() <= 12).then(pl.date(day.dt.year(), day.dt.day(), day.dt.month())).otherwise(day)


def test_day_month_swapped(runs: dict[str, Path]) -> None:
    tables = pair(runs, "day_month_swapped", "ssd_contacts")
    dates = ["cont_contact_date", "cont_contact_decision_date"]
    expected = tables.clean.select("cont_contact_id", *(_swapped(c).dt.strftime("%Y-%m-%d").alias(c) for c in dates))
    assert tables.faulty.select("cont_contact_id", *dates).equals(expected)
    others = [c for c in tables.clean.columns if c not in dates]
    assert tables.faulty.select(others).equals(tables.clean.select(others))
    day = tables.clean["cont_contact_date"].str.to_date("%Y-%m-%d")
    moved = (day.dt.day() <= 12) & (day.dt.day() != day.dt.month())
    assert (tables.faulty["cont_contact_date"] != tables.clean["cont_contact_date"]).sum() == moved.sum() > 0
    # e.g. contacts of early February 2023 now read as dated in the future (after the extract)
    extract_date = date.fromisoformat(manifest_of(runs["day_month_swapped"] / FAULTY)["extract_date"])
    assert (tables.faulty["cont_contact_date"].str.to_date("%Y-%m-%d") > extract_date).any()


def test_codes_as_descriptions(runs: dict[str, Path]) -> None:
    tables = pair(runs, "codes_as_descriptions", "ssd_contacts")
    described = code_descriptions()["contact_source"]
    assert described["6"] == "Police" and described["2A"] == "Schools"
    expected = tables.clean["cont_contact_source_code"].replace_strict(described)
    assert tables.faulty["cont_contact_source_code"].equals(expected, check_names=False)
    assert not tables.faulty["cont_contact_source_code"].is_in(list(code_lists()["contact_source"])).any()
    police = (tables.clean["cont_contact_source_code"] == "6").sum()
    assert (tables.faulty["cont_contact_source_code"] == "Police").sum() == police > 0
    others = [c for c in tables.clean.columns if c != "cont_contact_source_code"]
    assert tables.faulty.select(others).equals(tables.clean.select(others))
    # the description with a comma is quoted (RFC 4180), so the file still reads
    assert tables.faulty["cont_contact_source_code"].str.contains(",").any()


def test_placement_end_dates_lost(runs: dict[str, Path]) -> None:
    tables = pair(runs, "placement_end_dates_lost", "ssd_cla_placement")
    end, reason = "clap_cla_placement_end_date", "clap_cla_placement_change_reason"
    assert tables.faulty.height == tables.clean.height
    ended = tables.clean[end].is_not_null()
    lost = ended & tables.faulty[end].is_null()
    assert lost.sum() == round(0.5 * ended.sum()) > 0
    assert tables.faulty.filter(lost)[reason].is_null().all()  # the change reason goes with it
    kept = ~lost
    assert tables.faulty.filter(kept).equals(tables.clean.filter(kept))
    others = [c for c in tables.clean.columns if c not in (end, reason)]
    assert tables.faulty.select(others).equals(tables.clean.select(others))


def test_missing_episodes_half_lost(runs: dict[str, Path]) -> None:
    tables = pair(runs, "missing_episodes_half_lost", "ssd_missing")
    start = "miss_missing_episode_start_date"
    gone = tables.clean.join(tables.faulty, on="miss_table_id", how="anti")
    month = tables.clean.filter(in_month(start))
    assert gone.height == round(0.5 * month.height) > 0
    assert gone[start].str.starts_with(FAULTY).all()
    assert tables.faulty.equals(tables.clean.join(gone, on="miss_table_id", how="anti"))


def test_contact_outcome_flag_lost(runs: dict[str, Path]) -> None:
    tables = pair(runs, "contact_outcome_flag_lost", "ssd_contacts")
    assert LOST_OUTCOME_KEY == "NEW_REFERRAL_FLAG"
    assert (
        tables.clean.filter(in_month("cont_contact_date"))["cont_contact_outcome_json"]
        .str.contains('"NEW_REFERRAL_FLAG":"Y"', literal=True)
        .any()
    )
    pairs = tables.clean.select("cont_contact_outcome_json").with_columns(
        faulty=tables.faulty["cont_contact_outcome_json"]
    )
    for clean_text, faulty_text in pairs.unique().iter_rows():  # a few hundred distinct outcome texts
        clean, faulty = json.loads(clean_text), json.loads(faulty_text)
        assert LOST_OUTCOME_KEY not in faulty
        assert faulty == {k: v for k, v in clean.items() if k != LOST_OUTCOME_KEY}
        assert list(faulty) == [k for k in CONTACT_OUTCOME_KEYS if k != LOST_OUTCOME_KEY]
    others = [c for c in tables.clean.columns if c != "cont_contact_outcome_json"]
    assert tables.faulty.select(others).equals(tables.clean.select(others))


def test_police_contacts_missing(runs: dict[str, Path]) -> None:
    tables = pair(runs, "police_contacts_missing", "ssd_contacts")
    police_in_month = (pl.col("cont_contact_source_code") == "6") & in_month("cont_contact_date")
    assert tables.clean.filter(police_in_month).height > 0
    assert tables.faulty.equals(tables.clean.filter(~police_in_month))
    # police contacts of earlier months are still there
    earlier = (pl.col("cont_contact_source_code") == "6") & in_month("cont_contact_date", EARLIER)
    assert tables.faulty.filter(earlier).height == tables.clean.filter(earlier).height > 0


def test_contacts_dated_first_of_month(runs: dict[str, Path]) -> None:
    tables = pair(runs, "contacts_dated_first_of_month", "ssd_contacts")
    received = in_month("cont_contact_date")
    month = tables.clean.filter(received)
    assert month["cont_contact_date"].n_unique() > 1
    assert tables.faulty.filter(received)["cont_contact_date"].unique().to_list() == [f"{FAULTY}-01"]
    assert tables.faulty.filter(received)["cont_contact_id"].equals(month["cont_contact_id"])
    others = [c for c in tables.clean.columns if c != "cont_contact_date"]
    assert tables.faulty.select(others).equals(tables.clean.select(others))
    assert tables.faulty.filter(~received).equals(tables.clean.filter(~received))


# ---------------------------------------------------------------------------------------------
# every council's style: manifests without rows or without a manifest, optional columns absent


def test_manifest_row_count_in_every_manifest_style() -> None:
    @dataclass(frozen=True)
    class Written:
        rows: int
        sha256: str

    files = {"ssd_contacts.csv": Written(1000, "ab" * 32), "ssd_person.csv": Written(10, "cd" * 32)}
    full = {"period_end": "2023-02-28", "files": {n: {"rows": f.rows, "sha256": f.sha256} for n, f in files.items()}}
    assert inject_into_manifest(full, ["manifest_row_count"], files)["files"]["ssd_contacts.csv"]["rows"] == 1020
    rows_only = {"files": {"ssd_contacts.csv": {"rows": 7}}}
    assert inject_into_manifest(rows_only, ["manifest_row_count"])["files"]["ssd_contacts.csv"] == {"rows": 8}
    checksum_only = {"files": {"ssd_contacts.csv": {"sha256": "ab" * 32}}}
    entry = inject_into_manifest(checksum_only, ["manifest_row_count"], files)["files"]["ssd_contacts.csv"]
    assert entry == {"sha256": "ab" * 32, "rows": 1020}
    # no manifest at all: one holding only the wrong count for ssd_contacts.csv
    assert inject_into_manifest(None, ["manifest_row_count"], files) == {"files": {"ssd_contacts.csv": {"rows": 1020}}}
    assert inject_into_manifest(None, ["duplicate_contacts"], files) is None  # no manifest fault: none written
    with pytest.raises(ValueError, match="no row count"):
        inject_into_manifest(None, ["manifest_row_count"])


def _contacts(**columns: pl.Series) -> dict[str, pl.DataFrame]:
    day = pl.Series([date(2023, 2, 5), date(2023, 2, 20), date(2023, 1, 3), None], dtype=pl.Date)
    sources = code_lists()["contact_source"]
    frame = pl.DataFrame(
        {
            "cont_contact_id": [1, 2, 3, 4],
            "cont_person_id": [1, 1, 2, 2],
            "cont_contact_date": day,
            "cont_contact_source_code": pl.Series(["6", "2A", "6", "1A"], dtype=pl.Enum(list(sources))),
            "cont_contact_outcome_json": pl.Series(
                ['{"NEW_REFERRAL_FLAG":"Y","NFA_FLAG":"N"}', '{"NFA_FLAG":"Y","NEW_REFERRAL_FLAG":"N"}'] * 2,
                dtype=pl.Enum(['{"NEW_REFERRAL_FLAG":"Y","NFA_FLAG":"N"}', '{"NFA_FLAG":"Y","NEW_REFERRAL_FLAG":"N"}']),
            ),
        }
    )
    referrals = pl.DataFrame(
        {"cine_referral_id": [9], "cine_referral_source_code": pl.Series(["6"], dtype=pl.Enum(list(sources)))}
    )
    return {"ssd_contacts": frame.with_columns(**columns), "ssd_cin_episodes": referrals}


MONTH = (date(2023, 2, 1), date(2023, 2, 28))


def test_faults_keep_typed_columns_and_optional_columns_fall_back() -> None:
    """Table faults act on typed frames (before the writer renders a council's styles): dates stay
    dates and code/JSON columns stay Enums; an absent optional column (the decision date) is
    simply not there to change."""
    frames = _contacts()  # no cont_contact_decision_date: a council without the local extension
    swapped = inject_into_tables(frames, ["day_month_swapped"], MONTH, SEED)["ssd_contacts"]
    assert swapped.schema == frames["ssd_contacts"].schema
    assert swapped["cont_contact_date"].to_list() == [date(2023, 5, 2), date(2023, 2, 20), date(2023, 3, 1), None]
    described = inject_into_tables(frames, ["codes_as_descriptions"], MONTH, SEED)["ssd_contacts"]
    assert isinstance(described["cont_contact_source_code"].dtype, pl.Enum)
    assert described["cont_contact_source_code"].to_list() == [
        "Police",
        "Schools",
        "Police",
        "Individual: family, relative or carer",
    ]
    lost = inject_into_tables(frames, ["contact_outcome_flag_lost"], MONTH, SEED)["ssd_contacts"]
    assert isinstance(lost["cont_contact_outcome_json"].dtype, pl.Enum)
    assert lost["cont_contact_outcome_json"].to_list() == ['{"NFA_FLAG":"N"}', '{"NFA_FLAG":"Y"}'] * 2
    first = inject_into_tables(frames, ["contacts_dated_first_of_month"], MONTH, SEED)["ssd_contacts"]
    assert first["cont_contact_date"].to_list() == [date(2023, 2, 1), date(2023, 2, 1), date(2023, 1, 3), None]
    police = inject_into_tables(frames, ["police_contacts_missing"], MONTH, SEED)["ssd_contacts"]
    assert police["cont_contact_id"].to_list() == [2, 3, 4]


def test_faults_combined_with_faults_that_remove_or_rewrite_their_columns() -> None:
    """missing_column removes the source code: codes_as_descriptions then hits the referrals'
    source code and police_contacts_missing has nothing to go by; unparseable_dates turns the
    contact date into text: the date faults still apply to the readable dates."""
    frames = _contacts()
    out = inject_into_tables(frames, ["missing_column", "codes_as_descriptions", "police_contacts_missing"], MONTH, 1)
    assert "cont_contact_source_code" not in out["ssd_contacts"].columns
    assert out["ssd_contacts"].height == 4
    assert out["ssd_cin_episodes"]["cine_referral_source_code"].to_list() == ["Police"]
    text = {"ssd_contacts": frames["ssd_contacts"].with_columns(pl.col("cont_contact_date").dt.strftime("%Y-%m-%d"))}
    text["ssd_contacts"] = text["ssd_contacts"].with_columns(
        pl.when(pl.col("cont_contact_id") == 2).then(pl.lit("not a date")).otherwise(pl.col("cont_contact_date"))
        .alias("cont_contact_date")
    )  # fmt: skip
    swapped = inject_into_tables(text, ["day_month_swapped"], MONTH, 1)["ssd_contacts"]
    assert swapped["cont_contact_date"].to_list() == ["2023-05-02", "not a date", "2023-03-01", None]
    first = inject_into_tables(text, ["contacts_dated_first_of_month"], MONTH, 1)["ssd_contacts"]
    assert first["cont_contact_date"].to_list() == ["2023-02-01", "not a date", "2023-01-03", None]
    police = inject_into_tables(text, ["police_contacts_missing"], MONTH, 1)["ssd_contacts"]
    assert police["cont_contact_id"].to_list() == [2, 3, 4]


def test_every_fault_at_once_on_a_generated_month(tmp_path: Path) -> None:
    """All faults in one run (resent last: it resends the clean previous month over the rest)."""
    report = generate(tmp_path, FIRST, LAST, seed=SEED, scale=0.05, inject=list(FAULTS))
    assert report.faults == tuple(FAULTS)
    for name in (p.name for p in (tmp_path / EARLIER).glob("*.csv")):
        assert (tmp_path / FAULTY / name).read_bytes() == (tmp_path / EARLIER / name).read_bytes()
    content = manifest_of(tmp_path / FAULTY)
    assert content["files"]["ssd_contacts.csv"]["rows"] != read_table(tmp_path / FAULTY, "ssd_contacts").height
    without_resend = [f for f in FAULTS if f != "resent_previous_extract"]
    generate(tmp_path / "b", FIRST, LAST, seed=SEED, scale=0.05, inject=without_resend)
    contacts = read_table(tmp_path / "b" / FAULTY, "ssd_contacts")
    assert "cont_contact_source_code" not in contacts.columns


def test_generate_help_still_works() -> None:
    cli = Path(sys.executable).parent / "csc-warehouse"
    res = subprocess.run([str(cli), "generate", "--help"], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "--inject" in res.stdout


# ---------------------------------------------------------------------------------------------
# every demo council: other file styles, manifests with rows only or none, optional parts absent


def _councils() -> list[str]:
    try:
        from dagster_project.extracts.generator.councils import COUNCILS
    except ImportError:  # the generator without council profiles: Bradford's style only
        return []
    return list(COUNCILS)


def read_styled(folder: Path, name: str) -> pl.DataFrame:
    """A CSV in any council's style, with the contract's column names (case, padding, BOM undone)."""
    frame = pl.read_csv(folder / f"{name}.csv", infer_schema=False, encoding="utf8-lossy")
    return frame.rename({c: c.lstrip("\ufeff").strip().lower() for c in frame.columns})


ROW_FAULTS = (
    "day_month_swapped",
    "codes_as_descriptions",
    "placement_end_dates_lost",
    "missing_episodes_half_lost",
    "contact_outcome_flag_lost",
    "manifest_row_count",
)


@pytest.mark.parametrize("council", _councils())
def test_faults_apply_to_every_council(tmp_path: Path, council: str) -> None:
    runs = {}
    for label, inject in (("clean", ()), ("rows", ROW_FAULTS), ("resent", ("resent_previous_extract",))):
        runs[label] = tmp_path / label
        generate(runs[label], FIRST, LAST, seed=SEED, scale=0.05, inject=inject, council=council)
    for label in ("rows", "resent"):
        for path in (runs["clean"] / EARLIER).iterdir():
            assert (runs[label] / EARLIER / path.name).read_bytes() == path.read_bytes(), (label, path.name)
    clean_manifest = runs["clean"] / FAULTY / "manifest.json"
    # table faults, rendered in the council's style
    faulty, clean = runs["rows"] / FAULTY, runs["clean"] / FAULTY
    contacts, clean_contacts = read_styled(faulty, "ssd_contacts"), read_styled(clean, "ssd_contacts")
    assert (
        (contacts["cont_contact_source_code"] == "Police").sum()
        == (clean_contacts["cont_contact_source_code"] == "6").sum()
        > 0
    )
    assert not contacts["cont_contact_outcome_json"].str.contains(LOST_OUTCOME_KEY, literal=True).any()
    assert clean_contacts["cont_contact_outcome_json"].str.contains(LOST_OUTCOME_KEY, literal=True).all()
    assert (contacts["cont_contact_date"] != clean_contacts["cont_contact_date"]).any()
    assert read_styled(faulty, "ssd_missing").height < read_styled(clean, "ssd_missing").height
    # manifest_row_count: a wrong count for ssd_contacts.csv whatever the council's manifest style
    content = manifest_of(faulty)
    assert content["files"]["ssd_contacts.csv"]["rows"] != contacts.height
    if clean_manifest.exists():
        assert set(content) == set(manifest_of(clean))
    else:
        assert content == {"files": {"ssd_contacts.csv": {"rows": contacts.height + max(1, contacts.height // 50)}}}
    # resent: the previous month's bytes; a manifest only where the council writes one, built from them
    resent = runs["resent"]
    for path in (resent / EARLIER).glob("*.csv"):
        assert (resent / FAULTY / path.name).read_bytes() == path.read_bytes(), path.name
    assert (resent / FAULTY / "manifest.json").exists() == clean_manifest.exists()
    if clean_manifest.exists():
        assert manifest_of(resent / FAULTY)["files"] == manifest_of(resent / EARLIER)["files"]
        assert manifest_of(resent / FAULTY)["period_end"] == "2023-02-28"


def test_assessment_completions_lost(runs: dict[str, Path]) -> None:
    p = pair(runs, "assessment_completions_lost", "ssd_cin_assessments")
    key = "cina_assessment_id"
    assert p.clean.filter(in_month("cina_assessment_auth_date")).height > 0
    assert p.faulty.filter(in_month("cina_assessment_auth_date")).height == 0
    assert p.faulty.height == p.clean.height
    lost = set(p.clean.filter(in_month("cina_assessment_auth_date"))[key])
    unchanged = p.clean.filter(~pl.col(key).is_in(list(lost)))
    assert unchanged.sort(key).equals(p.faulty.filter(~pl.col(key).is_in(list(lost))).sort(key))
    assert p.faulty.filter(pl.col(key).is_in(list(lost)))["cina_assessment_auth_date"].is_null().all()
