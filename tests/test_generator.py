"""The demo-extract generator: determinism, contract conformance, manifest, history and faults.

Generations are small (scale 0.05-0.2, two or three months) so the module runs in seconds. The
conformance checks re-implement the contract's validity rules independently of the warehouse's
own validity SQL, straight from ``dagster_project.contract``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from dagster_project.contract import (
    CODE_REQUIRED_WHEN,
    CONTACT_OUTCOME_KEYS,
    DATE_KINDS,
    EARLIEST_EVENT,
    EVENT,
    FLAG,
    JSON,
    TABLES,
    TABLES_BY_NAME,
    code_lists,
    month_end,
)
from dagster_project.extracts.faults import FAULTS, check_faults
from dagster_project.extracts.generator import GenerateReport, generate

FIRST, LAST = date(2023, 10, 1), date(2023, 12, 1)
MONTHS = ("2023-10", "2023-11", "2023-12")
PERSON_EXTRAS = ["pers_forename", "pers_surname", "pers_upn"]
START_FIELDS = {  # episodic tables: start, end
    t.name: t.start_end for t in TABLES if t.episodic
}


# ---------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateReport]:
    out = tmp_path_factory.mktemp("extracts")
    return out, generate(out, FIRST, LAST, seed=7, scale=0.2)


@pytest.fixture(scope="module")
def tables(extracts: tuple[Path, GenerateReport]) -> dict[str, dict[str, pl.DataFrame]]:
    """month -> table -> frame of strings."""
    root, _ = extracts
    return {m: {t.name: read_table(root / m, t.name) for t in TABLES} for m in MONTHS}


def read_table(folder: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(folder / f"{name}.csv", infer_schema=False)


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def as_date(col: str) -> pl.Expr:
    return pl.col(col).str.to_date("%Y-%m-%d", strict=True)


# ---------------------------------------------------------------------------------------------
# an independent check of every validity rule of the contract


def violations(folder: Path) -> list[str]:
    """Every validity-rule failure in one extract folder (empty when the extract is clean)."""
    extract_date = date.fromisoformat(manifest_of(folder)["extract_date"])
    frames = {t.name: read_table(folder, t.name) for t in TABLES}
    found: list[str] = []
    for table in TABLES:
        found += _file_rules(table.name, frames[table.name], extract_date)
    found += _reference_rules(frames)
    found += _journey_rules(frames)
    found += _episodic_rules(frames)
    return found


def _file_rules(name: str, frame: pl.DataFrame, extract_date: date) -> list[str]:
    table = TABLES_BY_NAME[name]
    out = []
    expected = [c.name for c in table.columns] + (PERSON_EXTRAS if name == "ssd_person" else [])
    if frame.columns != expected:
        out.append(f"{name}: columns {frame.columns} != {expected}")
        return out
    keys = frame[table.key]
    if keys.null_count() or keys.n_unique() != frame.height:
        out.append(f"{name}: key not unique/present")
    lists = code_lists()
    for col in table.columns:
        values = frame[col.name]
        if col.codes:
            bad = values.drop_nulls().filter(~values.drop_nulls().is_in(list(lists[col.codes])))
            if bad.len():
                out.append(f"{name}.{col.name}: unlisted codes {bad.unique().to_list()[:5]}")
            if col.code_required and values.null_count():
                out.append(f"{name}.{col.name}: required code missing")
        if col.kind in DATE_KINDS:
            parsed = frame.select(as_date(col.name))[col.name]  # raises when unparseable
            if col.kind == EVENT:
                if (parsed > extract_date).any():
                    out.append(f"{name}.{col.name}: event after the extract date")
                if (parsed < EARLIEST_EVENT).any():
                    out.append(f"{name}.{col.name}: event before {EARLIEST_EVENT}")
        if col.kind == FLAG and not values.drop_nulls().is_in(["Y", "N"]).all():
            out.append(f"{name}.{col.name}: bad flag")
        if col.kind == JSON:
            for text in values.drop_nulls().unique().to_list():
                if set(json.loads(text)) != set(CONTACT_OUTCOME_KEYS):
                    out.append(f"{name}.{col.name}: JSON keys")
    for (tname, col), when in CODE_REQUIRED_WHEN.items():
        if tname == name and frame.filter(pl.col(when).is_not_null() & pl.col(col).is_null()).height:
            out.append(f"{name}.{col}: missing once {when} is set")
    if table.start_end:
        start, end = table.start_end
        if frame.filter(as_date(end) < as_date(start)).height:
            out.append(f"{name}: end before start")
    return out


def _reference_rules(frames: dict[str, pl.DataFrame]) -> list[str]:
    out = []
    for table in TABLES:
        for ref in table.references:
            values = frames[table.name][ref.column].drop_nulls()
            missing = values.filter(~values.is_in(frames[ref.to_table][ref.to_column].implode()))
            if missing.len():
                out.append(f"{table.name}.{ref.column}: {missing.len()} references not in {ref.to_table}")
    return out


def _journey_rules(frames: dict[str, pl.DataFrame]) -> list[str]:
    out = []
    referrals = frames["ssd_cin_episodes"].select("cine_referral_id", ref=as_date("cine_referral_date"))
    for name, ref_col, start_col in (
        ("ssd_cin_assessments", "cina_referral_id", "cina_assessment_start_date"),
        ("ssd_s47_enquiry", "s47e_referral_id", "s47e_s47_start_date"),
    ):
        joined = frames[name].join(referrals, left_on=ref_col, right_on="cine_referral_id")
        if joined.filter(as_date(start_col) < pl.col("ref")).height:
            out.append(f"{name}: starts before its referral (1103/2889)")
    icpc = frames["ssd_initial_cp_conference"].join(
        frames["ssd_s47_enquiry"], left_on="icpc_s47_enquiry_id", right_on="s47e_s47_enquiry_id"
    )
    if icpc.filter(as_date("icpc_icpc_date") < as_date("s47e_s47_start_date")).height:
        out.append("ICPC before its S47 (8615)")
    weekday = frames["ssd_initial_cp_conference"].select(as_date("icpc_icpc_date").dt.weekday())["icpc_icpc_date"]
    if (weekday > 5).any():
        out.append("ICPC on a weekend (8875)")
    return out


def _episodic_rules(frames: dict[str, pl.DataFrame]) -> list[str]:
    out = []
    dob = frames["ssd_person"].select("pers_person_id", dob=as_date("pers_dob"))
    for name, (start, end) in START_FIELDS.items():
        person = TABLES_BY_NAME[name].person_column
        rows = frames[name].select(person, s=as_date(start), e=as_date(end))
        born = rows.join(dob, left_on=person, right_on="pers_person_id")
        if born.filter(pl.col("s") < pl.col("dob")).height:
            out.append(f"{name}: before date of birth (302/586)")
        ordered = rows.sort([person, "s", "e"], nulls_last=True).with_columns(
            prev_end=pl.col("e").shift(1).over(person),
            has_prev=pl.col("s").shift(1).over(person).is_not_null(),
        )
        overlap = ordered.filter(
            pl.col("has_prev") & (pl.col("prev_end").is_null() | (pl.col("s") < pl.col("prev_end")))
        )
        if overlap.height:
            out.append(f"{name}: {overlap.height} overlapping or second open rows (501/574)")
    return out


# ---------------------------------------------------------------------------------------------
# tests


def test_every_month_conforms_to_the_contract(extracts: tuple[Path, GenerateReport]) -> None:
    root, _ = extracts
    for month in MONTHS:
        assert violations(root / month) == [], month


def test_every_table_has_rows_and_codes_cover_the_lists(tables: dict[str, dict[str, pl.DataFrame]]) -> None:
    last = tables[MONTHS[-1]]
    for table in TABLES:
        assert last[table.name].height > 0, table.name
    placement_types = set(last["ssd_cla_placement"]["clap_cla_placement_type"].to_list())
    assert {"K2", "R1", "U4", "U6", "P1"} <= placement_types
    assert placement_types & {"A3", "A5"} and placement_types & {"T0", "T1", "T2", "T3", "T4"}
    providers = last["ssd_cla_placement"].filter(pl.col("clap_cla_placement_type") == "K2")[
        "clap_cla_placement_provider"
    ]
    assert providers.is_in(["PR4", "PR5"]).any()
    assert {"S", "L", "P", "T", "B"} <= set(last["ssd_cla_episodes"]["clae_cla_episode_start_reason"].to_list())
    assert "X1" in last["ssd_cla_episodes"]["clae_cla_episode_ceased_reason"].to_list()
    statuses = set(last["ssd_legal_status"]["lega_legal_status"].to_list())
    assert statuses & {"V3", "V4"} and {"C1", "C2", "V2"} <= statuses
    assert {"M", "A"} == set(last["ssd_missing"]["miss_missing_episode_type"].to_list())


def test_temporary_placements_return_to_the_same_placement(
    tables: dict[str, dict[str, pl.DataFrame]],
) -> None:
    placements = tables[MONTHS[-1]]["ssd_cla_placement"].sort(["clap_person_id", "clap_cla_placement_start_date"])
    around = placements.with_columns(
        before=pl.col("clap_cla_placement_urn").shift(1).over("clap_person_id"),
        after=pl.col("clap_cla_placement_urn").shift(-1).over("clap_person_id"),
        before_type=pl.col("clap_cla_placement_type").shift(1).over("clap_person_id"),
        after_type=pl.col("clap_cla_placement_type").shift(-1).over("clap_person_id"),
    ).filter(pl.col("clap_cla_placement_type").str.starts_with("T") & pl.col("after").is_not_null())
    assert around.height > 0
    assert around["before"].eq_missing(around["after"]).all()
    assert around["before_type"].eq_missing(around["after_type"]).all()


def test_identifying_extras_are_present_and_synthetic(tables: dict[str, dict[str, pl.DataFrame]]) -> None:
    last = tables[MONTHS[-1]]
    persons = last["ssd_person"]
    assert persons["pers_upn"].drop_nulls().str.contains(r"^[A-Z]\d{12}$").all()
    assert persons["pers_forename"].null_count() == 0 and persons["pers_surname"].null_count() == 0
    postcodes = last["ssd_cla_placement"]["clap_cla_placement_postcode"].drop_nulls()
    assert postcodes.str.contains(r"^[A-Z]{1,2}\d{1,2} \d[A-Z]{2}$").all() and postcodes.str.starts_with("BD").any()
    comments = last["ssd_contacts"]["cont_contact_outcome_json"].map_elements(
        lambda text: json.loads(text)["COMMENTS"], return_dtype=pl.String
    )
    assert comments.str.contains(",").any() and comments.str.contains('"').any()


def test_manifest_matches_the_files(extracts: tuple[Path, GenerateReport]) -> None:
    root, report = extracts
    assert report.months == MONTHS
    total = 0
    for month in MONTHS:
        folder = root / month
        content = manifest_of(folder)
        assert content["la_code"] == "380" and content["ssd_version"] == "1.4.5"
        assert content["source_system"] == "systemc"
        period_end = month_end(date.fromisoformat(f"{month}-01"))
        assert content["period_end"] == period_end.isoformat()
        extract_date = date.fromisoformat(content["extract_date"])
        assert period_end + timedelta(days=2) <= extract_date <= period_end + timedelta(days=6)
        assert set(content["files"]) == {t.file_name for t in TABLES}
        for name, entry in content["files"].items():
            data = (folder / name).read_bytes()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert entry["rows"] == read_table(folder, name.removesuffix(".csv")).height
            total += entry["rows"]
    assert report.rows_written == total
    assert report.table_rows == {t.name: manifest_of(root / MONTHS[-1])["files"][t.file_name]["rows"] for t in TABLES}


def test_files_are_utf8_with_rfc4180_quoting(extracts: tuple[Path, GenerateReport]) -> None:
    root, _ = extracts
    raw = (root / MONTHS[-1] / "ssd_contacts.csv").read_bytes()
    text = raw.decode("utf-8")
    assert text.startswith("cont_contact_id,") and "\r\n" in text
    assert '"{""NEW_REFERRAL_FLAG"":' in text  # JSON quoted, inner quotes doubled
    persons = (root / MONTHS[-1] / "ssd_person.csv").read_bytes().decode("utf-8")
    assert "Zoëlle" in persons or "ë" not in persons


def test_rows_after_the_period_end_belong_to_the_next_month(
    extracts: tuple[Path, GenerateReport], tables: dict[str, dict[str, pl.DataFrame]]
) -> None:
    root, _ = extracts
    contacts = tables["2023-11"]["ssd_contacts"].select(d=as_date("cont_contact_date"))["d"]
    assert (contacts > date(2023, 11, 30)).any()


def test_late_records_and_removals_across_months(
    tables: dict[str, dict[str, pl.DataFrame]], extracts: tuple[Path, GenerateReport]
) -> None:
    root, _ = extracts
    earlier, later = tables["2023-10"], tables["2023-11"]
    extract_date = date.fromisoformat(manifest_of(root / "2023-10")["extract_date"])
    new_ids = later["ssd_contacts"].filter(
        ~pl.col("cont_contact_id").is_in(earlier["ssd_contacts"]["cont_contact_id"].implode())
        & (as_date("cont_contact_date") <= date(2023, 10, 31))
    )
    assert new_ids.height > 0, "no contact dated in October first appears in November's extract"
    assert (new_ids.select(as_date("cont_contact_date"))["cont_contact_date"] <= extract_date).all()
    window_start = date(2017, 11, 30)
    recent = earlier["ssd_contacts"].filter(as_date("cont_contact_date") >= window_start)["cont_person_id"].unique()
    gone = recent.filter(~recent.is_in(later["ssd_person"]["pers_person_id"].implode()))
    assert gone.len() > 0, "no person present in October disappears from November"
    for table in TABLES:
        if table.person_column:
            assert not later[table.name][table.person_column].is_in(gone.implode()).any()
    ended = later["ssd_cla_episodes"].filter(pl.col("clae_cla_episode_ceased_date").is_not_null())
    was_open = earlier["ssd_cla_episodes"].filter(pl.col("clae_cla_episode_ceased_date").is_null())
    assert ended["clae_cla_episode_id"].is_in(was_open["clae_cla_episode_id"].implode()).any()


def test_window_keeps_only_recent_or_open_records(
    extracts: tuple[Path, GenerateReport], tables: dict[str, dict[str, pl.DataFrame]]
) -> None:
    root, _ = extracts
    month = MONTHS[-1]
    extract_date = date.fromisoformat(manifest_of(root / month)["extract_date"])
    window_start = extract_date.replace(year=extract_date.year - 6)
    frames = tables[month]
    contacts = frames["ssd_contacts"].select(as_date("cont_contact_date"))["cont_contact_date"]
    assert contacts.min() >= window_start and contacts.min() < window_start + timedelta(days=40)
    for name, end in (
        ("ssd_missing", "miss_missing_episode_end_date"),
        ("ssd_cla_placement", "clap_cla_placement_end_date"),
        ("ssd_cla_episodes", "clae_cla_episode_ceased_date"),
        ("ssd_cin_assessments", "cina_assessment_auth_date"),
    ):
        old = frames[name].filter(as_date(end) < window_start)
        assert old.height == 0, name
    referenced = pl.concat(
        [
            frames[t][c]
            for t, c in (
                ("ssd_cin_assessments", "cina_referral_id"),
                ("ssd_s47_enquiry", "s47e_referral_id"),
                ("ssd_cp_plans", "cppl_referral_id"),
                ("ssd_initial_cp_conference", "icpc_referral_id"),
            )
        ]
    )
    old_referrals = frames["ssd_cin_episodes"].filter(as_date("cine_close_date") < window_start)
    assert old_referrals["cine_referral_id"].is_in(referenced.implode()).all()
    open_long = frames["ssd_cla_episodes"].filter(
        pl.col("clae_cla_episode_ceased_date").is_null() & (as_date("clae_cla_episode_start_date") < window_start)
    )
    assert open_long.height > 0, "children in care since before the window are kept"


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    runs = {}
    for label, seed in (("a", 11), ("b", 11), ("c", 12)):
        out = tmp_path / label
        generate(out, date(2023, 11, 1), date(2023, 12, 1), seed=seed, scale=0.05)
        runs[label] = {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert runs["a"] == runs["b"]
    assert runs["a"].keys() == runs["c"].keys()
    assert all(runs["a"][k] != runs["c"][k] for k in runs["a"] if k.endswith("contacts.csv"))


def test_report_measures_throughput(extracts: tuple[Path, GenerateReport]) -> None:
    _, report = extracts
    assert report.seconds > 0 and report.rows_written > 100_000
    assert report.rows_per_second == pytest.approx(report.rows_written / report.seconds)


def test_unknown_fault_names_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="duplicate_contacts"):
        check_faults(["no_such_fault"])
    with pytest.raises(ValueError, match="manifest_row_count"):
        generate(tmp_path, date(2023, 12, 1), date(2023, 12, 1), scale=0.05, inject=["bogus"])
    assert len(FAULTS) >= 8 and all(isinstance(v, str) and v for v in FAULTS.values())


# ---------------------------------------------------------------------------------------------
# faults (last month only)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two generations: one with the row-level faults, one with the file-level ones; plus the clean
    reference (same seed) to compare against."""
    root = tmp_path_factory.mktemp("faults")
    groups = {
        "clean": (),
        "rows": (
            "duplicate_contacts",
            "unparseable_dates",
            "overlapping_placements",
            "missing_end_before_start",
            "all_rhi_accepted",
            "manifest_row_count",
        ),
        "files": ("truncated_table", "missing_column"),
    }
    for label, names in groups.items():
        generate(root / label, date(2023, 11, 1), date(2023, 12, 1), seed=3, scale=0.1, inject=names)
    return {label: root / label / "2023-12" for label in groups} | {"earlier": root / "rows" / "2023-11"}


def test_faults_only_touch_the_last_month(faulty: dict[str, Path]) -> None:
    assert violations(faulty["earlier"]) == []
    assert violations(faulty["clean"]) == []


def test_duplicate_contacts(faulty: dict[str, Path]) -> None:
    clean = read_table(faulty["clean"], "ssd_contacts")
    bad = read_table(faulty["rows"], "ssd_contacts")
    in_month = clean.filter(pl.col("cont_contact_date").str.starts_with("2023-12"))
    assert bad.height == clean.height + in_month.height
    body = [c for c in bad.columns if c not in ("cont_contact_id", "cont_contact_date")]
    assert bad.select(body).is_duplicated().sum() >= 2 * in_month.height * 0.9
    assert bad["cont_contact_id"].n_unique() == bad.height


def test_unparseable_dates(faulty: dict[str, Path]) -> None:
    dates = read_table(faulty["rows"], "ssd_contacts")["cont_contact_date"]
    unreadable = dates.str.to_date("%Y-%m-%d", strict=False).is_null().sum()
    assert 0.04 * dates.len() <= unreadable <= 0.06 * dates.len()
    assert dates.is_in(["31/13/2023", "not a date"]).sum() == unreadable


def test_overlapping_placements(faulty: dict[str, Path]) -> None:
    problems = _episodic_rules(
        {
            name: read_table(faulty["rows"], name)
            for name in ("ssd_person", "ssd_cla_placement", "ssd_cla_episodes", "ssd_missing")
        }
    )
    assert any(p.startswith("ssd_cla_placement:") for p in problems)
    placements = read_table(faulty["rows"], "ssd_cla_placement")
    in_care = placements.filter(pl.col("clap_cla_placement_end_date").is_null())["clap_person_id"].n_unique()
    count = int(next(p for p in problems if p.startswith("ssd_cla_placement:")).split()[1])
    assert 0.03 * in_care <= count <= 0.07 * in_care


def test_missing_end_before_start(faulty: dict[str, Path]) -> None:
    missing = read_table(faulty["rows"], "ssd_missing")
    ended = missing.filter(pl.col("miss_missing_episode_end_date").is_not_null())
    backwards = ended.filter(as_date("miss_missing_episode_end_date") < as_date("miss_missing_episode_start_date"))
    assert 0.04 * ended.height <= backwards.height <= 0.06 * ended.height


def test_all_rhi_accepted(faulty: dict[str, Path]) -> None:
    def offered_in_december(label: str) -> pl.DataFrame:
        missing = read_table(faulty[label], "ssd_missing")
        return missing.filter(
            pl.col("miss_missing_episode_end_date").str.starts_with("2023-12")
            & (pl.col("miss_missing_rhi_offered") == "Y")
        )

    assert (offered_in_december("rows")["miss_missing_rhi_accepted"] == "Y").all()
    assert (offered_in_december("clean")["miss_missing_rhi_accepted"] == "N").any()


def test_manifest_row_count(faulty: dict[str, Path]) -> None:
    content = manifest_of(faulty["rows"])
    assert content["files"]["ssd_contacts.csv"]["rows"] != read_table(faulty["rows"], "ssd_contacts").height
    assert content["files"]["ssd_missing.csv"]["rows"] == read_table(faulty["rows"], "ssd_missing").height


def test_truncated_table(faulty: dict[str, Path]) -> None:
    clean = read_table(faulty["clean"], "ssd_contacts").height
    cut = read_table(faulty["files"], "ssd_contacts")
    assert cut.height == round(0.4 * clean)
    content = manifest_of(faulty["files"])["files"]["ssd_contacts.csv"]
    assert content["rows"] == cut.height
    assert content["sha256"] == hashlib.sha256((faulty["files"] / "ssd_contacts.csv").read_bytes()).hexdigest()


def test_missing_column(faulty: dict[str, Path]) -> None:
    columns = read_table(faulty["files"], "ssd_contacts").columns
    assert "cont_contact_source_code" not in columns and "cont_contact_id" in columns


def test_every_fault_is_tested() -> None:
    from tests import test_faults  # the newer faults are tested there

    tested = {name.removeprefix("test_") for name in (*globals(), *vars(test_faults)) if name.startswith("test_")}
    assert set(FAULTS) <= tested


def test_cached_rendering_matches_direct_rendering(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables are written from a once-rendered history (read through a small buffer here, to
    exercise the windowing); the bytes must equal a direct render of the month's rows."""
    from dagster_project.extracts.generator import rowcache
    from dagster_project.extracts.generator.history import simulate_history
    from dagster_project.extracts.generator.randomness import Streams
    from dagster_project.extracts.generator.rowcache import CHANGED, ROW
    from dagster_project.extracts.generator.timeline import build_timeline
    from dagster_project.extracts.generator.writer import render_csv

    monkeypatch.setattr(rowcache, "WINDOW", 4096)
    generate(tmp_path, date(2023, 11, 1), date(2023, 12, 1), seed=5, scale=0.05)
    timeline = build_timeline(date(2023, 11, 1), date(2023, 12, 1), Streams(5))
    history = simulate_history(timeline, 5, 0.05)
    for extract in timeline.extracts:
        snapshot = history.snapshot(extract)
        for name in ("ssd_contacts", "ssd_person", "ssd_cla_episodes"):
            frame = snapshot[name]
            assert frame[CHANGED].any()  # some rows differ from their settled text (future dates masked)
            direct = render_csv(frame.drop(ROW, CHANGED), header=True)
            assert (tmp_path / extract.folder / f"{name}.csv").read_bytes() == direct, name


def test_care_leavers_hold_current_state_that_changes(tables: dict[str, dict[str, pl.DataFrame]]) -> None:
    columns = ["clea_care_leaver_in_touch", "clea_care_leaver_activity", "clea_care_leaver_accom_suitable"]
    before = tables["2023-10"]["ssd_care_leavers"]
    after = tables["2023-11"]["ssd_care_leavers"]
    assert before["clea_person_id"].n_unique() == before.height  # one row a person: current state only
    both = before.join(after, on="clea_person_id", suffix="_next")
    assert both.height > 0.8 * before.height
    changed = pl.any_horizontal(pl.col(c) != pl.col(f"{c}_next") for c in columns)
    assert 0 < both.filter(changed).height < both.height


def test_every_new_placement_changes_something(tables: dict[str, dict[str, pl.DataFrame]]) -> None:
    """Consecutive placements of a child differ (type, provider, URN or postcode) unless a temporary
    placement lies between them."""
    placements = tables[MONTHS[-1]]["ssd_cla_placement"].sort(["clap_cla_id", "clap_cla_placement_start_date"])
    keys = [
        "clap_cla_placement_type",
        "clap_cla_placement_provider",
        "clap_cla_placement_urn",
        "clap_cla_placement_postcode",
    ]
    previous = placements.with_columns(pl.col(keys).shift(1).over("clap_cla_id").name.suffix("_prev"))
    identical = previous.filter(pl.all_horizontal(pl.col(k).eq_missing(pl.col(f"{k}_prev")) for k in keys))
    assert identical.height == 0


def test_working_day_lookups_match_numpy_business_days() -> None:
    """add_working_days, roll_back_to_working_day and is_working_day read precomputed tables; they
    must give exactly numpy's business-day answers, at the edges of the tables and beyond them."""
    import numpy as np

    from dagster_project.extracts.generator import dates

    calendar = dates.bank_holiday_calendar()
    rng = np.random.default_rng(3)
    edges = [dates.LOOKUP_FIRST, dates.LOOKUP_FIRST + 2, dates.LOOKUP_LAST - 3, dates.LOOKUP_LAST - 1]
    inside = np.concatenate([rng.integers(dates.LOOKUP_FIRST, dates.LOOKUP_LAST, 20_000), edges])
    for days in (inside, np.array([dates.LOOKUP_LAST + 5, 17_000]), np.zeros(0, dtype=np.int64)):
        as_dates = days.astype(np.int64).view("datetime64[D]")
        offsets = rng.integers(-40, 60, len(days))
        for n in (offsets, 0, 7, -3):
            expected = np.busday_offset(as_dates, n, roll="forward", busdaycal=calendar).view(np.int64)
            assert np.array_equal(dates.add_working_days(days, n), expected)
        expected = np.busday_offset(as_dates, 0, roll="backward", busdaycal=calendar).view(np.int64)
        assert np.array_equal(dates.roll_back_to_working_day(days), expected)
        assert np.array_equal(dates.is_working_day(days), np.is_busday(as_dates, busdaycal=calendar))


def test_pick_matches_a_binary_search_of_the_weights() -> None:
    """pick counts the cumulative-weight bounds below each draw; the indices must be exactly those a
    binary search of the same draws gives (zero weights included)."""
    import numpy as np

    from dagster_project.extracts.generator.randomness import pick

    for weights in ([1.0], [0.3, 0.7], [0.2, 0.0, 0.5, 0.3, 0.0], list(range(1, 21)), [1.0] * 300):
        cum = np.cumsum(np.asarray(weights, dtype=np.float64))
        draws = np.random.default_rng(9).random(50_000)
        expected = np.searchsorted(cum / cum[-1], draws, side="right")
        assert np.array_equal(pick(np.random.default_rng(9), weights, 50_000), expected)


@pytest.mark.parametrize("date_style", ["iso", "iso_time", "iso_millis", "uk"])
def test_dates_render_as_polars_formats_them(date_style: str) -> None:
    """Date columns are written through a table of formatted days; the bytes must equal polars'
    own formatting of every value (NULLs, a single day, a few days across a year end, a wide
    sparse span written as dates)."""
    import dataclasses
    import io

    from dagster_project.extracts.generator.councils import BRADFORD_STYLE, DATE_FORMATS
    from dagster_project.extracts.generator.writer import render_csv

    style = dataclasses.replace(BRADFORD_STYLE, date=date_style)
    frame = pl.DataFrame(
        {
            "a": [date(2023, 1, 31), None, date(2020, 2, 29), date(2023, 1, 31)],
            "b": [date(2021, 5, 1)] * 4,
            "c": [date(1900, 1, 1), date(2999, 12, 31), None, None],
            "d": pl.Series([None] * 4, dtype=pl.Date),
            "e": [date(2023, 12, 30), None, date(2024, 1, 1), date(2023, 12, 31)],
        }
    )
    expected = io.BytesIO()
    frame.write_csv(expected, line_terminator=style.line_end, date_format=DATE_FORMATS[date_style])
    assert render_csv(frame, header=True, style=style) == expected.getvalue()


def test_file_sink_hashes_and_writes_every_buffer_in_order(tmp_path: Path) -> None:
    """A sink reused for several files, with buffers far smaller than the text (many buffers in
    flight, hashed and written by separate threads, and a last one not a whole disk block), writes
    each file's exact bytes and returns their SHA-256."""
    import random

    from dagster_project.extracts.generator.writer import DIRECT_BLOCK, FileSink

    rng = random.Random(3)
    with FileSink(size=2 * DIRECT_BLOCK, buffers=3) as sink:
        for number, length in enumerate([0, 10, 2 * DIRECT_BLOCK, 50_000, 200_003]):
            data = rng.randbytes(length)
            path = tmp_path / f"{number}.csv"
            sink.open(path)
            for start in range(0, length, 3000):  # writes of another size than the buffers
                sink.write(data[start : start + 3000])
            assert sink.close() == hashlib.sha256(data).hexdigest()
            assert path.read_bytes() == data
