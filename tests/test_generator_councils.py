"""Demo councils (dagster_project/extracts/generator/councils.py): profiles, how the councils'
extracts differ (measured from the generated files), each council's file styles, optional
features and manifest, determinism, loading through the real ingest, and unknown names.

Every council is generated once at scale 0.1 over two months (a few seconds); files are read back
with the warehouse's own reader (dagster_project.extracts.reader), so every date, flag and header
style is read as the ingest reads it.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from dagster_project.contract import DATE_KINDS, FLAG, TABLES, TABLES_BY_NAME
from dagster_project.councils import councils as english_councils
from dagster_project.extracts import reader
from dagster_project.extracts.generator import generate, params
from dagster_project.extracts.generator.councils import (
    BRADFORD_STYLE,
    COUNCILS,
    DATE_FORMATS,
    DEFAULT_COUNCIL,
    CouncilProfile,
    FileStyle,
    council_profile,
)
from dagster_project.extracts.generator.sampled import (
    FIRST_SAMPLED_CODE,
    SAMPLED_COUNT,
    sampled_council,
    sampled_councils,
)
from dagster_project.ingest.load import load_extract

FIRST, LAST = date(2023, 1, 1), date(2023, 2, 1)
MONTHS = ("2023-01", "2023-02")
SEED, SCALE = 11, 0.1
YEAR = (date(2022, 3, 1), date(2023, 2, 28))  # the last twelve months of the second extract
DATE_PATTERNS = {
    "iso": r"\d{4}-\d{2}-\d{2}",
    "iso_time": r"\d{4}-\d{2}-\d{2} 00:00:00",
    "iso_millis": r"\d{4}-\d{2}-\d{2} 00:00:00\.000",
    "uk": r"\d{2}/\d{2}/\d{4}",
}
CLI = [str(Path(sys.executable).parent / "csc-warehouse")]
# three sampled councils beside the hand-written ones: both optional features absent, placeholder
# dates and DD/MM/YYYY; 0.2 x Bradford with no manifest; row counts only, 1/0 flags
SAMPLED = ("sampled-12", "sampled-13", "sampled-25")
NAMES = [*COUNCILS, *SAMPLED]


# ---------------------------------------------------------------------------------------------
# fixtures and helpers


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """council -> extracts root (months 2023-01 and 2023-02)."""
    root = tmp_path_factory.mktemp("councils")
    out = {}
    for name in NAMES:
        report = generate(root / name, FIRST, LAST, seed=SEED, scale=SCALE, council=name)
        assert report.council == name and report.months == MONTHS
        out[name] = root / name
    return out


def read(folder: Path, name: str) -> pl.DataFrame:
    """One table in the ingest's staging shape (typed columns, ``_bad_<column>`` texts)."""
    table = TABLES_BY_NAME[name]
    return reader.read_table(reader.open_table_file(table, folder / table.file_name, date(2023, 1, 1)))


def in_year(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    return frame.filter(pl.col(column).is_between(*YEAR))


def measures(root: Path) -> dict[str, float]:
    """What distinguishes the councils, measured from the second month's files."""
    folder = root / MONTHS[-1]
    contacts = in_year(read(folder, "ssd_contacts"), "cont_contact_date")
    referrals = in_year(read(folder, "ssd_cin_episodes"), "cine_referral_date")
    placements = read(folder, "ssd_cla_placement")
    kind = placements["clap_cla_placement_type"]
    foster = kind.is_in(["U4", "U5", "U6"])
    agency = foster & placements["clap_cla_placement_provider"].is_in(["PR4", "PR5"])
    missing = in_year(read(folder, "ssd_missing"), "miss_missing_episode_start_date")
    episode_type = missing["miss_missing_episode_type"]
    return {
        "contacts_per_month": contacts.height / 12,
        "police": float((contacts["cont_contact_source_code"] == "6").mean()),
        "referral_nfa": float(referrals["cine_referral_nfa"].mean()),
        "agency_foster": agency.sum() / foster.sum(),
        "kinship": float(kind.is_in(["U1", "U2", "U3"]).mean()),
        "childrens_home": float((kind == "K2").mean()),
        "away_per_missing": (episode_type == "A").sum() / (episode_type == "M").sum(),
    }


@pytest.fixture(scope="module")
def measured(generated: dict[str, Path]) -> dict[str, dict[str, float]]:
    return {name: measures(generated[name]) for name in COUNCILS}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def data_rows(path: Path) -> int:
    return path.read_bytes().count(b"\n") - 1


# ---------------------------------------------------------------------------------------------
# the profiles


def test_profiles_cover_the_range_and_bradford_changes_nothing() -> None:
    assert DEFAULT_COUNCIL == "bradford" and len(COUNCILS) >= 6
    bradford = COUNCILS[DEFAULT_COUNCIL]
    assert bradford.calibration() is params.BRADFORD
    assert bradford.style == BRADFORD_STYLE == FileStyle()
    assert bradford.absent_features == frozenset()
    assert (bradford.la_code, bradford.volume, bradford.simulation_seed(42)) == ("380", 1.0, 42)
    others = [p for name, p in COUNCILS.items() if name != DEFAULT_COUNCIL]
    codes = [p.la_code for p in others]
    assert all(re.fullmatch(r"\d{3}", c) for c in codes) and "380" not in codes and len(set(codes)) == len(codes)
    volumes = [p.volume for p in others]
    assert min(volumes) <= 0.4 and max(volumes) >= 1.9 and all(0.3 <= v <= 2.0 for v in volumes)
    police = [p.police_share for p in others if p.police_share is not None]
    assert min(police) <= 0.13 and max(police) >= 0.44
    assert {p.style.manifest for p in others} == {"full", "rows", "none"}
    assert {p.style.date for p in COUNCILS.values()} == set(DATE_FORMATS)
    assert {p.style.flags[0].upper() for p in COUNCILS.values()} == {"Y", "YES", "TRUE", "1"}
    assert {p.style.bom for p in others} == {True, False} and {p.style.line_end for p in others} == {"\r\n", "\n"}
    assert any(not p.cp_reviews for p in others) and any(not p.decision_date for p in others)
    assert len({p.simulation_seed(42) for p in COUNCILS.values()}) == len(COUNCILS)


def test_calibrations_are_derived_never_mutated() -> None:
    before = (params.SOURCE_GROUPS, params.FRONT_DOOR, params.PROTECTION, params.CARE, params.MISSING)
    before += (params.LEAVERS, params.PLACEMENT_KIND_WEIGHTS)
    calibrations = {name: p.calibration() for name, p in COUNCILS.items()}
    after = (params.SOURCE_GROUPS, params.FRONT_DOOR, params.PROTECTION, params.CARE, params.MISSING)
    after += (params.LEAVERS, params.PLACEMENT_KIND_WEIGHTS)
    assert after == before and params.Calibration() == params.BRADFORD
    westmoor, eastborough = calibrations["westmoor"], calibrations["eastborough"]
    assert westmoor.front_door.late_share == COUNCILS["westmoor"].late_share
    assert westmoor.protection.p_referral_nfa == COUNCILS["westmoor"].referral_nfa
    kinship = [k.name for k in params.PLACEMENT_KINDS].index("relative")
    assert westmoor.placement_kind_weights[0][kinship] > params.PLACEMENT_KIND_WEIGHTS[0][kinship]
    assert eastborough.source_groups[0].share > params.SOURCE_GROUPS[0].share
    assert sum(g.share for g in eastborough.source_groups) == pytest.approx(sum(g.share for g in params.SOURCE_GROUPS))


def test_invalid_profiles_are_refused() -> None:
    base = COUNCILS["northshire"]
    for change in (
        {"la_code": "38"},
        {"volume": 0.0},
        {"police_share": 1.2},
        {"placement_mix": {"castle": 2.0}},
    ):
        with pytest.raises(ValueError):
            replace(base, **change)
    for style in ({"date": "MM/DD/YYYY"}, {"flags": ("J", "N")}, {"manifest": "some"}, {"line_end": "\r"}):
        with pytest.raises(ValueError):
            FileStyle(**style)
    assert isinstance(base, CouncilProfile)


def test_sampled_councils_are_fixed_fictional_and_unlike_each_other() -> None:
    sampled = sampled_councils()
    assert len(sampled) == SAMPLED_COUNT and sampled == sampled_councils()  # drawn from their names alone
    assert council_profile("Sampled-7") == sampled_council(7) == sampled[6]
    assert [p.la_code for p in sampled] == [str(FIRST_SAMPLED_CODE + i) for i in range(SAMPLED_COUNT)]
    demo = {p.la_code for p in COUNCILS.values()}
    assert not {p.la_code for p in sampled} & (set(english_councils()) | demo)
    assert len({p.simulation_seed(42) for p in (*sampled, *COUNCILS.values())}) == SAMPLED_COUNT + len(COUNCILS)
    volumes = [p.volume for p in sampled]
    assert min(volumes) < 0.3 and max(volumes) > 2.0
    police = [p.police_share for p in sampled]
    assert min(police) < 0.12 and max(police) > 0.45
    for kind in ("foster_agency", "relative", "residential_purchased"):
        mix = [p.placement_mix[kind] for p in sampled]
        assert min(mix) < 0.6 and max(mix) > 1.8, kind
    assert sum(not p.cp_reviews for p in sampled) > 10 and sum(not p.decision_date for p in sampled) > 10
    styles = [p.style for p in sampled]
    assert {s.date for s in styles} == set(DATE_FORMATS) and {s.manifest for s in styles} == {"full", "rows", "none"}
    assert {s.flags[0].upper() for s in styles} == {"Y", "YES", "TRUE", "1"}
    assert any(s.placeholder_dates for s in styles) and any(s.header_padding for s in styles)
    assert len(set(styles)) > SAMPLED_COUNT // 2
    assert len({(p.volume, p.police_share, p.referral_nfa) for p in sampled}) == SAMPLED_COUNT
    for name in ("sampled-0", f"sampled-{SAMPLED_COUNT + 1}", "sampled-07", "sampled-"):
        with pytest.raises(ValueError, match="sampled-1 .. sampled-90"):
            council_profile(name)


def test_unknown_council_names_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown council 'atlantis'") as error:
        generate(tmp_path, FIRST, FIRST, scale=0.05, council="atlantis")
    assert all(name in str(error.value) for name in COUNCILS)
    assert not any(tmp_path.iterdir())  # refused before anything is written
    assert council_profile(" Westmoor ") is COUNCILS["westmoor"]


def test_cli_lists_the_councils_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    helped = subprocess.run([*CLI, "generate", "--help"], capture_output=True, text=True, timeout=120)
    assert helped.returncode == 0
    lines = helped.stdout.splitlines()
    for name, profile in COUNCILS.items():
        assert any(name in line and profile.la_code in line for line in lines), name
    assert any("sampled-1..90" in line and "710..799" in line for line in lines)
    refused = subprocess.run(
        [*CLI, "generate", "--out", "x", "--first", "2023-01", "--last", "2023-01", "--council", "atlantis"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    message = " ".join((refused.stderr + refused.stdout).split())
    assert refused.returncode == 2 and "unknown council 'atlantis'" in message
    assert all(name in message for name in COUNCILS)
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------------------------------------
# the councils differ as their profiles say


def test_police_share_and_volume_follow_the_profiles(measured: dict[str, dict[str, float]]) -> None:
    bradford = measured[DEFAULT_COUNCIL]
    for name, profile in COUNCILS.items():
        m = measured[name]
        if profile.police_share is not None:
            assert m["police"] == pytest.approx(profile.police_share, abs=0.05), name
        ratio = m["contacts_per_month"] / bradford["contacts_per_month"]
        assert ratio == pytest.approx(profile.volume, rel=0.3), name
    police = [m["police"] for m in measured.values()]
    assert min(police) < 0.16 and max(police) > 0.4
    ordered = sorted(COUNCILS, key=lambda n: COUNCILS[n].volume)
    assert measured[ordered[0]]["contacts_per_month"] < measured[ordered[-1]]["contacts_per_month"] / 4


def test_placement_mix_differs(measured: dict[str, dict[str, float]]) -> None:
    m = measured
    assert m["eastborough"]["agency_foster"] > m["bradford"]["agency_foster"] > m["westmoor"]["agency_foster"]
    assert m["westmoor"]["kinship"] > 1.3 * m["bradford"]["kinship"]
    assert m["kingsbay-on-sea"]["childrens_home"] > 1.3 * m["bradford"]["childrens_home"]
    assert m["westmoor"]["childrens_home"] < m["bradford"]["childrens_home"]


def test_referral_closures_and_missing_episodes_differ(measured: dict[str, dict[str, float]]) -> None:
    m = measured
    assert m["midvale"]["referral_nfa"] > m["bradford"]["referral_nfa"] > m["westmoor"]["referral_nfa"]
    assert m["midvale"]["away_per_missing"] > 1.5 * m["bradford"]["away_per_missing"]
    assert m["westmoor"]["away_per_missing"] < 0.7 * m["bradford"]["away_per_missing"]


def test_late_records_grow_a_month_and_merged_duplicates_vanish(generated: dict[str, Path]) -> None:
    """A month's contacts grow in the next extract by a few per cent (late recording); some rows of
    the first extract are gone from the second (duplicate children merged)."""
    first_count = later_count = vanished = 0
    for name in COUNCILS:
        if name == DEFAULT_COUNCIL:
            continue
        root = generated[name]
        first, second = (read(root / m, "ssd_contacts") for m in MONTHS)
        january = [f.filter(pl.col("cont_contact_date").is_between(FIRST, date(2023, 1, 31))) for f in (first, second)]
        first_count += january[0].height
        later_count += january[1].height
        vanished += first.filter(~pl.col("cont_contact_id").is_in(second["cont_contact_id"].implode())).height
    assert 0.02 < later_count / first_count - 1 < 0.1
    assert vanished > 0


# ---------------------------------------------------------------------------------------------
# each council's files are in its own style


@pytest.mark.parametrize("name", NAMES)
def test_files_are_in_the_councils_style(generated: dict[str, Path], name: str) -> None:
    profile = council_profile(name)
    style = profile.style
    folder = generated[name] / MONTHS[-1]
    expected_tables = {t.name for t in TABLES} - ({"ssd_cp_reviews"} if not profile.cp_reviews else set())
    assert {p.stem for p in folder.glob("*.csv")} == expected_tables
    for table in TABLES:
        if table.name not in expected_tables:
            continue
        data = (folder / table.file_name).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf") == style.bom, table.name
        crlf = data.count(b"\r\n")
        assert crlf == (data.count(b"\n") if style.line_end == "\r\n" else 0), table.name
        header = data.decode("utf-8-sig").split(style.line_end, 1)[0].split(",")
        names = [h.strip().lower() for h in header]
        assert header == [style.header_name(n) for n in names], table.name
        contract = [c.name for c in table.columns if c.name in names]
        assert names[: len(contract)] == contract and len(contract) >= len(table.required_columns)
        raw = pl.read_csv(folder / table.file_name, infer_schema=False, encoding="utf8")
        raw.columns = [c.lstrip("\ufeff").strip().lower() for c in raw.columns]
        for column in table.columns:
            if column.name not in raw.columns:
                assert column.optional and name != DEFAULT_COUNCIL, column.name
                continue
            values = raw[column.name].drop_nulls()
            if column.kind in DATE_KINDS:
                assert values.str.contains(f"^{DATE_PATTERNS[style.date]}$").all(), column.name
            if column.kind == FLAG:
                assert set(values.unique()) <= set(style.flags), column.name
        staged = read(folder, table.name)
        bad = [c for c in staged.columns if c.startswith(reader.BAD_PREFIX) and staged[c].is_not_null().any()]
        assert not bad, f"{table.name}: unreadable values in {bad}"
    contacts = pl.read_csv(folder / "ssd_contacts.csv", infer_schema=False, encoding="utf8")
    contacts.columns = [c.lstrip("\ufeff").strip().lower() for c in contacts.columns]
    assert ("cont_contact_decision_date" in contacts.columns) == profile.decision_date
    outcome = json.loads(contacts["cont_contact_outcome_json"][0])
    assert outcome["NFA_FLAG"] in style.flags
    for column in style.placeholder_dates:
        table = next(t for t in TABLES if column in {c.name for c in t.columns})
        written = pl.read_csv(folder / table.file_name, infer_schema=False, encoding="utf8")
        written.columns = [c.strip().lower() for c in written.columns]
        assert written[column].null_count() == 0  # 1900-01-01 where the date is unknown
        assert read(folder, table.name)[column].null_count() > 0  # ... which the reader reads as NULL


@pytest.mark.parametrize("name", NAMES)
def test_manifest_is_in_the_councils_mode(generated: dict[str, Path], name: str) -> None:
    profile = council_profile(name)
    for month in MONTHS:
        folder = generated[name] / month
        path = folder / "manifest.json"
        if profile.style.manifest == "none":
            assert not path.exists()
            continue
        content = json.loads(path.read_text(encoding="utf-8"))
        assert (content["la_code"], content["source_system"]) == (profile.la_code, profile.source_system)
        assert content["period_end"].startswith(month)
        assert set(content["files"]) == {p.name for p in folder.glob("*.csv")}
        for file_name, entry in content["files"].items():
            assert entry["rows"] == data_rows(folder / file_name)
            if profile.style.manifest == "full":
                assert entry["sha256"] == sha256(folder / file_name)
            else:
                assert "sha256" not in entry


# ---------------------------------------------------------------------------------------------
# determinism and the row cache


def test_same_arguments_same_bytes(tmp_path: Path, generated: dict[str, Path]) -> None:
    again = generate(tmp_path / "again", FIRST, LAST, seed=SEED, scale=SCALE, council="eastborough")
    for month in MONTHS:
        files = sorted(p.name for p in (generated["eastborough"] / month).iterdir())
        assert files == sorted(p.name for p in (again.out_dir / month).iterdir())
        for file_name in files:
            assert sha256(generated["eastborough"] / month / file_name) == sha256(again.out_dir / month / file_name), (
                file_name
            )
    other_seed = generate(tmp_path / "other", FIRST, FIRST, seed=SEED + 1, scale=SCALE, council="eastborough")
    first = "2023-01/ssd_contacts.csv"
    assert sha256(other_seed.out_dir / first) != sha256(generated["eastborough"] / first)


def test_default_is_bradford(tmp_path: Path) -> None:
    default = generate(tmp_path / "default", FIRST, FIRST, seed=3, scale=0.05)
    named = generate(tmp_path / "named", FIRST, FIRST, seed=3, scale=0.05, council="bradford")
    assert default.council == named.council == DEFAULT_COUNCIL
    for path in sorted((default.out_dir / "2023-01").iterdir()):
        assert path.read_bytes() == (named.out_dir / "2023-01" / path.name).read_bytes(), path.name


@pytest.mark.parametrize("name", ["kingsbay-on-sea", "midvale"])
def test_cached_rendering_matches_direct_rendering_in_every_style(tmp_path: Path, name: str) -> None:
    """Months after the first are assembled from a once-rendered history; in a council's style the
    bytes must still equal a direct render of the month's rows."""
    from dagster_project.extracts.generator.history import simulate_history
    from dagster_project.extracts.generator.randomness import Streams
    from dagster_project.extracts.generator.rowcache import CHANGED, ROW
    from dagster_project.extracts.generator.timeline import build_timeline
    from dagster_project.extracts.generator.writer import render_csv

    profile = COUNCILS[name]
    generate(tmp_path, FIRST, LAST, seed=5, scale=0.05, council=name)
    seed = profile.simulation_seed(5)
    timeline = build_timeline(FIRST, LAST, Streams(seed))
    history = simulate_history(timeline, seed, 0.05 * profile.volume, profile.calibration(), profile.absent_features)
    for extract in timeline.extracts:
        snapshot = history.snapshot(extract)
        for table in ("ssd_contacts", "ssd_person", "ssd_cin_assessments"):
            frame = snapshot[table]
            direct = render_csv(frame.drop(ROW, CHANGED), header=True, style=profile.style)
            assert (tmp_path / extract.folder / f"{table}.csv").read_bytes() == direct, table


def test_a_council_without_an_optional_table_removes_a_stale_file(tmp_path: Path) -> None:
    generate(tmp_path, FIRST, FIRST, seed=3, scale=0.05)
    assert (tmp_path / "2023-01" / "ssd_cp_reviews.csv").exists()
    generate(tmp_path, FIRST, FIRST, seed=3, scale=0.05, council="eastborough")
    assert not (tmp_path / "2023-01" / "ssd_cp_reviews.csv").exists()
    assert not (tmp_path / "2023-01" / "manifest.json").exists()


# ---------------------------------------------------------------------------------------------
# every council loads through the real ingest


@pytest.mark.parametrize("name", NAMES)
def test_every_council_loads_cleanly_through_the_ingest(generated: dict[str, Path], name: str) -> None:
    profile = council_profile(name)
    month = date(2023, 2, 1)
    with duckdb.connect() as con:
        result = load_extract(con, generated[name] / MONTHS[-1], month, run_id="councils", today=date(2023, 3, 10))
    assert result.quarantine_counts == {}, f"{name}: generated data broke validity rules"
    assert all(t.reconciles and t.rows_read == t.rows_loaded > 0 for t in result.tables.values())
    assert {f for f, available in result.features.items() if not available} == profile.absent_features
    assert result.manifest.has_manifest == (profile.style.manifest != "none")
    if result.manifest.has_manifest:
        assert result.manifest.la_code == profile.la_code
