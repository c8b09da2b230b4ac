"""A region's councils (issue 18): ``<root>/<la_code>/<YYYY-MM>/`` extracts, each council run in its
own home by ``run --all-councils``, gated alone, with its own key."""

from __future__ import annotations

import csv
import json
import re
import signal
import statistics
import time
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pytest

from dagster_project.cli import region
from dagster_project.cli.region import (
    CouncilResult,
    MonthOptions,
    RegionRefused,
    council_command,
    council_env,
    known_councils,
    region_councils,
    region_exit_code,
    region_log,
)
from dagster_project.councils import COUNCILS_SEED, councils
from dagster_project.extracts.generator.councils import COUNCILS, council_profile
from dagster_project.models.dbt import dbt_project
from dagster_project.pseudonym import KEY_ENV, KEY_FILE_ENV
from dagster_project.publish.region import RegionBuildFailed, build_benchmark, publish_region, write_pool
from dagster_project.publish.wap import published_months
from dagster_project.settings import LA_CODE_ENV, HomePaths, council_of
from tests.chromium_helpers import Page, ensure_chromium
from tests.pipeline_helpers import cli, generate, run

FIRST, LAST = "2023-05", "2023-06"


def _folders(root: Path, *names: str) -> Path:
    for name in names:
        (root / name).mkdir(parents=True)
    return root


def test_dim_council_lists_the_153_english_las():
    with COUNCILS_SEED.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(councils()) == 153
    assert councils()["380"].name == "Bradford" and councils()["380"].region == "Yorkshire and The Humber"
    assert "909" not in councils()  # Cumbria, split in April 2023
    assert {"942", "943"} <= set(councils())  # Cumberland, Westmorland and Furness
    assert len({r["region_name"] for r in rows}) == 9
    assert all(re.fullmatch(r"\d{3}", code) for code in councils())


def test_demo_councils_have_codes_no_english_la_has():
    fictional = [p for p in COUNCILS.values() if p.name != "bradford"]
    assert fictional and not {p.la_code for p in fictional} & set(councils())
    assert known_councils()["380"] == councils()["380"]
    assert all(known_councils()[p.la_code].name == p.title for p in fictional)
    assert known_councils()["716"].name == council_profile("sampled-7").title  # the sampled councils too


def test_region_councils_in_code_order(tmp_path):
    root = _folders(tmp_path, "701/2023-05", "380/2023-05", "601/2023-05", "notes")
    assert [c.la_code for c in region_councils(root)] == ["380", "601", "701"]


@pytest.mark.parametrize(
    "folders, message",
    [
        ((), "has no council folders"),
        (("380/2023-05", "2023-05"), "month folders (2023-05) beside its council folders"),
        (("380/2023-05", "999/2023-05"), "folder(s) 999 are not the LA code of an English council"),
    ],
)
def test_region_root_refused(tmp_path, folders, message):
    with pytest.raises(RegionRefused, match=re.escape(message)):
        region_councils(_folders(tmp_path / "region", *folders) if folders else tmp_path)


def test_each_council_gets_its_own_key():
    assert council_env({"PATH": "/bin"}, "380") == {"PATH": "/bin", LA_CODE_ENV: "380"}  # its home makes its key
    env = council_env({KEY_FILE_ENV: "/secrets/{la_code}.key"}, "380")
    assert env[KEY_FILE_ENV] == "/secrets/380.key"
    with pytest.raises(RegionRefused, match="every council the same key"):
        council_env({KEY_ENV: "ab" * 32}, "380")
    with pytest.raises(RegionRefused, match="one file for every council"):
        council_env({KEY_FILE_ENV: "/secrets/region.key"}, "380")


def test_each_council_builds_in_its_own_place_on_another_engine():
    """$CSC_ENGINE=postgres: a database per council ($PGDATABASE with {la_code}); spark: Spark's folder
    per council (in each council's home unless $CSC_SPARK_DIR is set, then with {la_code})."""
    env = council_env({"CSC_ENGINE": "postgres", "PGDATABASE": "csc_{la_code}"}, "380")
    assert env["PGDATABASE"] == "csc_380"
    for shared in ({"CSC_ENGINE": "postgres", "PGDATABASE": "csc"}, {"CSC_ENGINE": "postgres"},
                   {"CSC_ENGINE": "spark", "CSC_SPARK_DIR": "/data/spark"}):
        name = "PGDATABASE" if shared["CSC_ENGINE"] == "postgres" else "CSC_SPARK_DIR"
        with pytest.raises(RegionRefused, match=re.escape(f"${name} must name each council's own (put {{la_code}}")):
            council_env(shared, "380")
    assert "CSC_SPARK_DIR" not in council_env({"CSC_ENGINE": "spark"}, "380")
    assert council_env({"CSC_ENGINE": "spark", "CSC_SPARK_DIR": "/data/{la_code}/spark"}, "380")[
        "CSC_SPARK_DIR"] == "/data/380/spark"
    assert council_env({"CSC_ENGINE": "duckdb", "PGDATABASE": "csc"}, "380")["PGDATABASE"] == "csc"


@pytest.mark.parametrize("options, selection", [
    (MonthOptions(), ["--all"]),  # no month option: every pending month
    (MonthOptions(all_months=True, force=True), ["--all", "--force"]),
    (MonthOptions(month="2023-06"), ["--month", "2023-06"]),
    (MonthOptions(from_month="2023-01", to_month="2023-06", force=True), ["--from", "2023-01", "--to", "2023-06",
                                                                           "--force"]),
    (MonthOptions(to_month="2023-06"), ["--to", "2023-06"]),
])
def test_council_command(options, selection):
    """Each council publishes its public variant too: the benchmark pools it."""
    command = council_command(Path("/x/region"), Path("/x/home"), "380", options.resolved())
    assert command[1:] == ["-P", "-m", "dagster_project.cli", "run", "--extracts", "/x/region/380",
                           "--home", "/x/home/380", *selection, "--public"]


@pytest.mark.parametrize("options, message", [
    (MonthOptions(month="2023-06", all_months=True), "at most one of --month, --all, or --from/--to"),
    (MonthOptions(from_month="2023-01", all_months=True), "at most one of --month, --all, or --from/--to"),
    (MonthOptions(force=True), "--force re-runs published months: say which"),
])
def test_conflicting_month_options_refused(options, message):
    with pytest.raises(RegionRefused, match=re.escape(message)):
        options.resolved()


def test_council_of_a_month_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(LA_CODE_ENV, raising=False)
    assert council_of(tmp_path / "region" / "380" / "2023-05") == "380"
    assert council_of(tmp_path / "bradford" / "2023-05") is None
    monkeypatch.setenv(LA_CODE_ENV, "381")  # what run --all-councils sets: a symlinked folder is checked too
    assert council_of(tmp_path / "bradford" / "2023-05") == "381"


@pytest.mark.parametrize("codes, expected", [
    ((0, 0), 0), ((0, 3), 3), ((3, 2), 2), ((2, 1, 3), 1), ((0, 75), 75), ((3, 75), 3), ((0, 9), 1)])
def test_region_exit_code(codes, expected):
    results = [CouncilResult(councils()["380"], code, Path(".")) for code in codes]
    assert region_exit_code(results) == expected


def test_region_root_without_all_councils_exits_2(tmp_path):
    root = _folders(tmp_path / "region", "380/2023-05")
    res = run(root, tmp_path / "home", "--all")
    assert res.returncode == 2
    assert "is a region's root" in res.stderr and "--all-councils" in res.stderr
    assert not (tmp_path / "home").exists()


def test_ctrl_c_with_jobs_starts_no_more_councils(tmp_path, monkeypatch):
    """Ctrl-C while councils run side by side: the running ones stop (they get the signal too), the
    command stops with them, and no council still waiting is started."""
    root = _folders(tmp_path / "region", *(f"{code}/2023-05" for code in ("380", "381", "382", "383")))
    started = []

    def fake_run(command, env, log=None):
        started.append(env[LA_CODE_ENV])
        if env[LA_CODE_ENV] == "381":
            signal.raise_signal(signal.SIGINT)  # the terminal's Ctrl-C, delivered to the main thread
        time.sleep(0.5)  # the council's run stopping
        return 130

    monkeypatch.setattr(region, "_run", fake_run)
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            region.run_region(root, tmp_path / "home", MonthOptions(), lambda council, log: None, jobs=2)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert sorted(started) == ["380", "381"]


def test_jobs_needs_all_councils(tmp_path):
    root = _folders(tmp_path / "extracts", "2023-05")
    res = run(root, tmp_path / "home", "--all", "--jobs", "2")
    assert res.returncode == 2 and "--jobs runs councils side by side" in res.stderr
    assert not (tmp_path / "home").exists()


def test_region_with_one_key_for_all_exits_2_before_running(tmp_path):
    root = _folders(tmp_path / "region", "380/2023-05", "601/2023-05")
    res = run(root, tmp_path / "home", "--all-councils", env={KEY_ENV: "ab" * 32})
    assert res.returncode == 2 and "every council the same key" in res.stderr
    assert not (tmp_path / "home").exists()


@pytest.mark.e2e
def test_three_councils_gated_alone(tmp_path):
    """Three councils with different profiles in one region, two at a time: the month one council
    sends broken is rejected in that council only; the others publish every month, each under its
    own key; a month filed under another council's folder is rejected by its manifest's la_code."""
    root = tmp_path / "region"
    for council in ("bradford", "midvale"):
        generate(root, FIRST, LAST, scale=0.03, council=council, region=True)
    generate(root, FIRST, LAST, scale=0.03, council="northshire", region=True, inject=("missing_column",))
    res = run(root, tmp_path / "home", "--all-councils", "--jobs", "2")
    assert res.returncode == 2, res.stderr  # a rejected month: the region's exit code says so
    homes = {code: HomePaths(tmp_path / "home" / code) for code in ("380", "601", "701")}
    for code in homes:  # each council's output shown whole, never interleaved with another's
        log = (region_log(tmp_path / "home", code)).read_text()
        assert "2023-06" in log and res.stderr.count(log) == 1, code
    assert published_months(homes["380"]) == published_months(homes["601"]) == [FIRST, LAST]
    assert published_months(homes["701"]) == [FIRST]
    assert "cont_contact_source_code" in res.stderr
    assert summary_outcomes(res.stderr) == {"380": "up to date", "601": "up to date", "701": "rejected"}
    assert summary_rows(res.stderr)["380"][:2] == ["380 Bradford", "Yorkshire and The Humber"]
    keys = {code: paths.key_file.read_bytes() for code, paths in homes.items()}
    assert len(set(keys.values())) == 3
    assert_benchmark_is_the_councils_published_figures(tmp_path / "home", homes)

    # a month in the wrong council's folder: its manifest names another council
    (root / "601" / "2023-07").mkdir()
    generate(tmp_path / "other", "2023-07", "2023-07", scale=0.03, council="northshire")
    for f in (tmp_path / "other" / "2023-07").iterdir():
        f.rename(root / "601" / "2023-07" / f.name)
    res = run(root, tmp_path / "home", "--all-councils", "--month", "2023-07")
    assert res.returncode == 2, res.stderr
    assert "la_code '701' is not the council whose folder holds it (601)" in res.stderr
    assert summary_outcomes(res.stderr) == {"380": "not run:", "601": "rejected", "701": "not run:"}
    assert published_months(homes["601"]) == published_months(homes["380"]) == [FIRST, LAST]
    assert published_months(homes["701"]) == [FIRST]
    assert (tmp_path / "home").stat().st_mode & 0o777 == 0o750  # readers reach each council's published zone


def published_public_figures(homes: dict[str, HomePaths]) -> dict[tuple[str, str, date], float | None]:
    """(la_code, measure, month) -> the value each council's public scorecard of that month headlines."""
    figures = {}
    for code, paths in homes.items():
        for month in published_months(paths):
            parquet = paths.published_dir / month / "public" / "scorecard.parquet"
            rows = duckdb.sql(f"select measure_id, month, value from '{parquet}' where month = extract_month")
            figures |= {(code, m, d): v for m, d, v in rows.fetchall()}
    return figures


def suppressed_public_figures(homes: dict[str, HomePaths]) -> set[tuple[str, str, date]]:
    """(la_code, measure, month) of the headline figures each council's public scorecard suppressed."""
    keys = set()
    for code, paths in homes.items():
        for month in published_months(paths):
            parquet = paths.published_dir / month / "public" / "scorecard.parquet"
            rows = duckdb.sql(f"select measure_id, month from '{parquet}' "
                              "where month = extract_month and availability = 'suppressed'")
            keys |= {(code, m, d) for m, d in rows.fetchall()}
    return keys


def assert_benchmark_is_the_councils_published_figures(home: Path, homes: dict[str, HomePaths]) -> None:
    """The published benchmark holds every council's published (public) figure of every month it
    published, its group statistics are those of these figures, and its pages draw them."""
    published = published_public_figures(homes)
    suppressed = suppressed_public_figures(homes)
    bench = duckdb.sql(f"select * from '{home / 'region' / 'published' / 'benchmark.parquet'}'")
    rows = [dict(zip(bench.columns, r, strict=True)) for r in bench.fetchall()]
    assert {(r["la_code"], r["measure_id"], r["month"]): r["value"] for r in rows} == published
    for r in rows:
        values = sorted(v for (_, m, d), v in published.items() if (m, d) == (r["measure_id"], r["month"])
                        and v is not None)
        group = [code for (code, m, d) in published if (m, d) == (r["measure_id"], r["month"])]
        hidden = [k for k in suppressed if k[1:] == (r["measure_id"], r["month"])]
        assert (r["councils_in_group"], r["councils_with_value"], r["councils_suppressed"]) == (
            len(group), len(values), len(hidden))
        described = len(values) >= 2 and not hidden  # a whole group: none of it suppressed
        got = [r[c] for c in ("group_min", "group_lower_quartile", "group_median", "group_upper_quartile",
                              "group_max")]
        if described:
            quartiles = statistics.quantiles(values, n=4, method="inclusive")
            assert got == pytest.approx([values[0], *quartiles, values[-1]], abs=0.05 + 1e-9), r
        else:
            assert got == [None] * 5, r
        if r["value"] is not None and r["unit"] == "percent" and described:
            better = [v for v in values if (v > r["value"] if r["polarity"] == "High" else v < r["value"])]
            assert r["rank_in_group"] == len(better) + 1, r
        else:  # no value, a count (which grows with the council's size), or no whole group: no rank
            assert r["rank_in_group"] is None, r
    workbook = openpyxl.load_workbook(home / "region" / "published" / "benchmark.xlsx")
    with duckdb.connect(str(home / "region" / "published" / "benchmark.duckdb"), read_only=True) as con:
        units = dict(con.execute("select measure_id, unit from main.dim_measure").fetchall())
    for ws in workbook.worksheets[1:]:
        measure = ws["A2"].value.rsplit("Measure id: ", 1)[1]
        months = [c.value for c in ws[4][2:-1]]
        for row in ws.iter_rows(min_row=5, values_only=True):
            if row[1] is None:
                break
            for label, cell in zip(months, row[2:-1], strict=True):
                month = next(d for (_, m, d) in published if m == measure and f"{d:%b %Y}" == label)
                value = published.get((row[1], measure, month), "not published")
                if isinstance(value, float):  # a percentage is stored as a fraction
                    assert cell * (100 if units[measure] == "percent" else 1) == pytest.approx(value), (measure, row)
                else:  # suppressed, not available, no data or not published: a word, never a number
                    assert isinstance(cell, str), (measure, row, cell)
    published_zone = home / "region" / "published"
    links = re.findall(r'href="([^"]+)"', (published_zone / "index.html").read_text())
    assert links == [f"{code}.html" for code in sorted(homes)]
    for code in ("601", "701"):  # 701 has published May only: its page shows May
        with Page(ensure_chromium(), width=1200, height=900) as browser:
            browser.open((published_zone / f"{code}.html").as_uri())  # as the index links it
            bars = browser.evaluate("""[...document.querySelectorAll('section')].map(s => [s.id,
                [...s.querySelectorAll('rect[data-la-code]')].map(r => [r.dataset.laCode, Number(r.dataset.value),
                 r.getAttribute('fill')])])""")
            requests = list(browser.requests)
        latest = max(d for (c, _, d) in published if c == code)
        assert {m for m, _ in bars} == {m for (_, m, _) in published}
        for measure, drawn in bars:
            expected = {c: v for (c, m, d), v in published.items() if (m, d) == (measure, latest) and v is not None}
            assert {c: v for c, v, _ in drawn} == pytest.approx(expected), (code, measure)
            assert {c for c, _, fill in drawn if fill == "#1d70b8"} == ({code} & set(expected)), (code, measure)
        assert [u for u in requests if not u.startswith("file://")] == []


def summary_rows(stderr: str) -> dict[str, list[str]]:
    """LA code -> the cells of its row in the table ``run --all-councils`` ends with (wrapped text
    joined with spaces)."""
    rows: dict[str, list[str]] = {}
    code = None
    for line in stderr.split("csc-warehouse run --all-councils")[-1].splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) != 5:
            code = None
            continue
        if code is None and re.fullmatch(r"\d{3}( .*)?", cells[0]):
            code, rows[cells[0][:3]] = cells[0][:3], cells
        elif code is not None:
            rows[code] = [f"{a} {b}".strip() for a, b in zip(rows[code], cells, strict=True)]
    return rows


def summary_outcomes(stderr: str) -> dict[str, str]:
    """LA code -> its outcome in the table, to its first words ("up to date", "rejected", "not run:")."""
    return {code: next(o for o in ("up to date", "rejected", "not run:", "blocked", "error") if cells[2].startswith(o))
            for code, cells in summary_rows(stderr).items()}


def test_generate_into_a_region_layout(tmp_path):
    res = cli("generate", "--out", str(tmp_path), "--first", FIRST, "--last", FIRST, "--scale", "0.01",
              "--council", "midvale", "--region")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "601" / FIRST / "manifest.json").is_file()


@pytest.mark.dbt  # the region's dbt build
def test_benchmark_model_builds_and_its_unit_test_passes(tmp_path):
    """fct_scorecard_benchmark on an empty pool, with its dbt unit test (polarity, ties, no group
    figures or ranks beside a suppressed figure or for a single council, quartiles, counts not
    ranked) and data tests: the region's own dbt build."""
    db = tmp_path / "benchmark.duckdb"
    write_pool(db, [councils()["380"]], [])
    build_benchmark(db, tmp_path, unit_tests=True)
    log = (tmp_path / "logs" / "dbt.log").read_text()
    assert "test_benchmark_ranks_by_polarity_and_describes_only_a_whole_group" in log and " PASS " in log


def _published_council(home: Path, la_code: str, months: dict[str, list[tuple[str, float | None, str]]],
                       public: bool = True) -> None:
    """A council home as publication leaves it, with each month's public scorecard.parquet holding
    the given (measure_id, value, availability) rows for its own month and a row for the month
    before (which the pool must not take)."""
    version = home / la_code / "published" / "versions" / "000001"
    for month, rows in months.items():
        folder = version / month / ("public" if public else "")
        folder.mkdir(parents=True)
        values = ", ".join(f"('{m}', date '{month}-01', {'null' if v is None else v}, '{a}')" for m, v, a in rows)
        duckdb.sql(f"""copy (select measure_id, month, value, availability, month as extract_month
                             from (values {values}) as t(measure_id, month, value, availability)
                             union all
                             select measure_id, month - interval 1 month, 999.0, 'available', month
                             from (values {values}) as t(measure_id, month, value, availability))
                       to '{folder / "scorecard.parquet"}' (format parquet)""")
    (home / la_code / "published" / "current").symlink_to("versions/000001")


@pytest.mark.dbt  # the region's dbt build
def test_publish_region(tmp_path, monkeypatch):
    """The pool takes each council's headline figure of each published month; the benchmark is
    published with its workbook and pages, every page reachable from the published index; a
    council's key configured in the environment does not reach the region's build; a failed build
    leaves the published benchmark as it was."""
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "keys" / "{la_code}.key"))  # as the README configures it
    home = tmp_path / "home"
    _published_council(home, "380", {"2023-05": [("assessments_45wd_pct", 80.0, "available"),
                                                  ("contacts", 901.0, "available")],
                                      "2023-06": [("assessments_45wd_pct", 70.0, "available"),
                                                  ("contacts", 950.0, "available")]})
    _published_council(home, "381", {"2023-05": [("assessments_45wd_pct", None, "suppressed"),
                                                  ("contacts", 300.0, "available")]})
    _published_council(home, "382", {"2023-05": [("contacts", 10.0, "available")]}, public=False)
    region = publish_region(home, [councils()[c] for c in ("380", "381", "382")])
    assert (region.councils, region.months, region.left_out) == (2, 2, ("382 2023-05",))
    published = home / "region" / "published"
    rows = duckdb.sql(f"select la_code, measure_id, month::varchar, value, rank_in_group, group_median "
                      f"from '{published / 'benchmark.parquet'}' order by all").fetchall()
    # a group with a suppressed figure, or a single council with a value, is not described: no
    # median and no rank (381's suppressed assessments would be left out of them)
    assert rows == [("380", "assessments_45wd_pct", "2023-05-01", 80.0, None, None),
                    ("380", "assessments_45wd_pct", "2023-06-01", 70.0, None, None),
                    ("380", "contacts", "2023-05-01", 901.0, None, 600.5),
                    ("380", "contacts", "2023-06-01", 950.0, None, None),
                    ("381", "assessments_45wd_pct", "2023-05-01", None, None, None),
                    ("381", "contacts", "2023-05-01", 300.0, None, 600.5)]
    # the CSV writes months as the councils' scorecard.csv does
    header, *body = list(csv.reader((published / "benchmark.csv").open(encoding="utf-8")))
    assert sorted({r[header.index("month")] for r in body}) == ["2023-05", "2023-06"]
    index = (published / "index.html").read_text()
    # the index says what the pool is and which months it spans, not only a list of links
    assert "2 councils, May 2023 to June 2023." in index and "first published for it" in index
    links = re.findall(r'href="([^"]+)"', index)
    assert links == ["380.html", "381.html"] and all((published / link).is_file() for link in links)
    page = (published / "381.html").read_text()
    assert "May 2023. This council: c (suppressed to protect small numbers)" in page
    assert "1 with a value, 1 suppressed (c: a count of 1 to 5 children, or a figure made from one): no group " \
        "median, range or ranks" in page
    # the workbook's group figures as the CSV and the pages give them: a count's median can be 600.5
    sheet = next(ws for ws in openpyxl.load_workbook(published / "benchmark.xlsx").worksheets[1:]
                 if ws["A2"].value.endswith("Measure id: contacts"))
    statistics_rows = {row[0]: row[2] for row in sheet.iter_rows(min_row=5, values_only=True) if row[0]}
    assert (statistics_rows["Median of the group"], statistics_rows["Lower quartile"]) == (600.5, 450.3)
    version = region.version
    assert {p.stat().st_mode & 0o777 for p in version.iterdir()} == {0o640}

    _published_council(home, "383", {"2023-05": [("contacts", 5.0, "not a status")]})
    with pytest.raises(RegionBuildFailed, match="column_rules_fct_scorecard_benchmark"):
        publish_region(home, [councils()[c] for c in ("380", "381", "383")])
    assert (published / "current").resolve() == version
    assert sorted(p.name for p in (published / "versions").iterdir()) == [version.name]


def test_council_build_has_no_benchmark():
    """A council's build never sees the region's model, source or tests (its warehouse has no pool)."""
    manifest = json.loads(Path(dbt_project.manifest_path).read_text())
    nodes = [*manifest["nodes"], *manifest["unit_tests"], *manifest["sources"]]
    assert not [n for n in nodes if "benchmark" in n or ".region." in n]


@pytest.mark.parametrize(("unit", "top"), [("count", "1"), ("percent", "1.0%")])
def test_a_trend_whose_values_are_all_zero_has_an_axis_from_0_to_1(unit, top):
    """Every council at 0 in every month: the axis's top label is 1, not a second 0."""
    from dagster_project.publish.region_page import _trend

    rows = [{"month": date(2023, m, 1), "la_code": la, "value": 0.0, "group_median": 0.0,
             "group_lower_quartile": 0.0, "group_upper_quartile": 0.0} for m in (5, 6) for la in ("380", "381")]
    labels = re.findall(r'text-anchor="end">([^<]+)</text>', _trend(rows, "380", unit))
    assert labels == ["0", top]
