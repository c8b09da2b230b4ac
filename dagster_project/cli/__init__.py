"""``csc-warehouse``: generate demo extracts, run months through the pipeline, sign off holds.

Exit codes: 0 published; 2 usage error or rejected input (nothing loaded); 3 publication blocked
by data-quality checks (nothing published); 75 refused because another run is using the home
(EX_TEMPFAIL: nothing was done, try again later); 1 any other failure.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from filelock import FileLock, Timeout
from rich.console import Console
from rich.table import Table

from dagster_project.settings import (
    DEFAULT_DUCKDB_MEMORY_LIMIT,
    DUCKDB_MEMORY_LIMIT_ENV,
    HOME_ENV,
    MONTH_FOLDER_RE,
    PUBLIC_VARIANT_ENV,
    HomePaths,
    collect_garbage_less_often,
    public_variant_by_default,
    restrict_umask,
)
from dagster_project.wording import counted

app = typer.Typer(
    help="csc-warehouse: children's social care data warehouse (SSD extracts -> checked monthly scorecard).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True)  # never wrap file paths in messages
BUSY = 75  # EX_TEMPFAIL: another run holds the home's run lock


def _month(value: str | None) -> str | None:
    if value is not None and not MONTH_FOLDER_RE.match(value):
        raise typer.BadParameter(f"{value!r} is not a month in the form YYYY-MM")
    return value


def _as_date(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def _fail(message: str, code: int) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _generate_help() -> str:
    """The demo councils and the faults, one line each (neither module imports numpy or polars)."""
    from dagster_project.extracts.fault_catalogue import FAULTS
    from dagster_project.extracts.generator.councils import COUNCILS
    from dagster_project.extracts.generator.sampled import FIRST_SAMPLED_CODE, SAMPLED_COUNT, sampled_name

    sampled = f"{sampled_name(1)}..{SAMPLED_COUNT}"
    width = max(len(name) for name in (*COUNCILS, sampled))
    councils = [f"  {name:<{width}}  {p.la_code}  {p.summary}" for name, p in COUNCILS.items()]
    councils.append(f"  {sampled:<{width}}  {FIRST_SAMPLED_CODE}..{FIRST_SAMPLED_CODE + SAMPLED_COUNT - 1}  "
                    "fictional councils drawn at random, each its own size, mix and file style")
    width = max(len(name) for name in FAULTS)
    faults = [f"  {name:<{width}}  {what}" for name, what in FAULTS.items()]
    return ("Councils (--council; details in docs/councils.md):\n\n" + "\n".join(councils)
            + "\n\nFaults (--inject, added to the last month):\n\n" + "\n".join(faults))


@app.command(epilog=_generate_help())
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write <YYYY-MM>/ extract folders into.")],
    first: Annotated[str, typer.Option(help="First extract month, YYYY-MM.", callback=_month)],
    last: Annotated[str, typer.Option(help="Last extract month, YYYY-MM.", callback=_month)],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives identical files.")] = 42,
    scale: Annotated[float, typer.Option(help="Volume multiplier: 1 is Bradford, about 70 is England.")] = 1.0,
    inject: Annotated[list[str] | None, typer.Option(
        help="Add a named fault to the last month (repeatable); an unknown name lists the valid ones.")] = None,
    council: Annotated[str, typer.Option(
        help="Demo council to simulate (listed below): its volume multiplies --scale, and its behaviour, "
             "optional tables and file styles differ.")] = "bradford",
    region: Annotated[bool, typer.Option(
        "--region", metavar="", help="Write into <out>/<la_code>/ (a region's layout: run --all-councils).")] = False,
) -> None:
    """Generate realistic demo SSD extracts (full-refresh monthly snapshots with manifests)."""
    from dagster_project.cli.allocators import keep_freed_memory

    keep_freed_memory()  # before polars is imported (below)
    from dagster_project.extracts.faults import FAULTS
    from dagster_project.extracts.generator import generate as run_generator
    from dagster_project.extracts.generator.councils import council_profile

    if first > last:
        raise typer.BadParameter(f"--first {first} is after --last {last}")
    unknown = [f for f in inject or [] if f not in FAULTS]
    if unknown:
        raise typer.BadParameter(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")
    if scale <= 0:
        raise typer.BadParameter("--scale must be positive")
    try:
        profile = council_profile(council)
    except ValueError as unknown_council:
        raise typer.BadParameter(str(unknown_council), param_hint="--council") from None
    if region:
        out = out / profile.la_code
    try:
        with console.status(f"generating {first}..{last} for {profile.name} at scale {scale}"):
            report = run_generator(out, _as_date(first), _as_date(last), seed=seed, scale=scale,
                                   inject=inject or (), council=profile.name)
    except ValueError as bad_arguments:  # e.g. a fault that needs a previous month
        _fail(str(bad_arguments), 2)
    console.print(f"wrote {len(report.months)} month folder(s) of {profile.name}, {report.rows_written:,} rows, "
                  f"to {out}/ in {report.seconds:.1f}s")


@app.command()
def run(
    extracts: Annotated[Path, typer.Option(help="Extracts root holding <YYYY-MM>/ folders.")],
    home: Annotated[Path, typer.Option(envvar=HOME_ENV, help="Warehouse home: Dagster instance, "
                                       "working warehouse and published outputs.")] = Path("warehouse"),
    month: Annotated[str | None, typer.Option(help="Run this extract month, YYYY-MM.", callback=_month)] = None,
    all_months: Annotated[bool, typer.Option("--all", metavar="", help="Run every extract month found, oldest "
                                             "first (months already published are skipped without --force).")] = False,
    from_month: Annotated[str | None, typer.Option("--from", help="Run months from YYYY-MM (to the latest "
                                                   "extract unless --to) ...", callback=_month)] = None,
    to_month: Annotated[str | None, typer.Option("--to", help="... to YYYY-MM (inclusive).", callback=_month)] = None,
    force: Annotated[bool, typer.Option("--force", metavar="", help="Run months that are already published "
                                        "again.")] = False,
    public: Annotated[bool | None, typer.Option(
        "--public/--no-public", metavar="", help="Also publish the public variant (<YYYY-MM>/public/: csv, xlsx, "
        f"html) with counts of 1 to 5 children suppressed as 'c' (default: ${PUBLIC_VARIANT_ENV}, off unless 1).",
        show_default=False)] = None,
    all_councils: Annotated[bool, typer.Option(
        "--all-councils", metavar="", help="The extracts root is a region's (<la_code>/<YYYY-MM>/): run each "
        "council's months (default: its pending ones, as --all) in its own home, <home>/<la_code>/, with the "
        "public variant; then publish the regional benchmark in <home>/region/.")] = False,
    jobs: Annotated[int, typer.Option(
        min=1, help="With --all-councils: run this many councils at a time (each council's output is shown "
        f"when it ends; each DuckDB may use ${DUCKDB_MEMORY_LIMIT_ENV}, {DEFAULT_DUCKDB_MEMORY_LIMIT} by "
        "default).")] = 1,
) -> None:
    """Run extract month(s) through ingest -> dbt build -> checks -> publish (the Dagster job)."""
    from dagster_project.cli.selection import SelectionError, select_months
    from dagster_project.publish.wap import published_months
    from dagster_project.settings import council_folders, extract_months

    if not extracts.is_dir():
        _fail(f"extracts folder {extracts} does not exist", 2)
    try:
        public_variant_by_default()
    except ValueError as bad_setting:
        _fail(str(bad_setting), 2)
    if all_councils:
        from dagster_project.cli.region import MonthOptions

        options = MonthOptions(month, all_months, from_month, to_month, force)
        raise typer.Exit(_run_region(extracts, home, options, jobs))
    if jobs != 1:
        _fail("--jobs runs councils side by side: it needs --all-councils (a council's months run in order)", 2)
    if not extract_months(extracts) and council_folders(extracts):
        _fail(f"{extracts} is a region's root (council folders {', '.join(council_folders(extracts)[:5])}): "
              "add --all-councils, or give one council's folder", 2)
    try:
        selection = select_months(extract_months(extracts), published_months(HomePaths(home.resolve())),
                                  month=month, all_months=all_months, from_month=from_month, to_month=to_month,
                                  force=force)
    except SelectionError as refused:
        _fail(f"{extracts}: {refused}", 2)
    for note in selection.notes:
        console.print(note)
    months = selection.months
    if not months:
        console.print("nothing to run: every extract month selected is already published")
        raise typer.Exit(0)

    from dagster_project.cli.runner import prepare_home

    paths = prepare_home(home, extracts)
    try:
        with FileLock(str(paths.run_lock), timeout=1):
            _check_key(paths)
            results = _run_months(months, paths.private_dir / "logs", public)
    except Timeout:
        _fail(f"another run is using {paths.home}; runs that write a warehouse never overlap (exit {BUSY}: "
              "try again when it has finished)", BUSY)
    _summary(results, paths)
    from dagster_project.cli.runner import exit_code

    raise typer.Exit(exit_code(results))


@app.command()
def signoff(
    month: Annotated[str, typer.Option(help="The extract month the held check belongs to, YYYY-MM.",
                                       callback=_month)],
    check: Annotated[str, typer.Option(help="The id of the held check (as printed by the run).")],
    by: Annotated[str, typer.Option(help="Your name: who accepts the figures.")],
    reason: Annotated[str, typer.Option(help="Why the figures are right despite the check.")],
    home: Annotated[Path, typer.Option(envvar=HOME_ENV, help="Warehouse home.")] = Path("warehouse"),
) -> None:
    """Sign off a held ('hold' severity) check so the next run of that month can publish."""
    from dagster_project.checks.signoff import SignOffRefused
    from dagster_project.cli.signoff import record

    try:
        recorded = record(home, month, check, by, reason)
    except SignOffRefused as refused:
        _fail(str(refused), 2)
    console.print(f"signed off {recorded.check_id} for {month} by {recorded.signed_by}: "
                  f"run `csc-warehouse run --month {month}` to publish")


@app.command(name="worklist")
def worklist_command(
    month: Annotated[str, typer.Option(help="The extract month, YYYY-MM.", callback=_month)],
    home: Annotated[Path, typer.Option(envvar=HOME_ENV, help="Warehouse home.")] = Path("warehouse"),
    as_csv: Annotated[bool, typer.Option("--csv", help="Write the worklist as CSV to stdout.")] = False,
    limit: Annotated[int, typer.Option(min=0, help="Rows shown of each file, rule and column (0: all).")] = 500,
) -> None:
    """Print the month's data-quality worklist: every quarantined row with its file, line, raw
    values and reason, for the council's data team to fix at source. PRIVATE: it holds raw ids
    and dates of birth; it is kept in <home>/private/worklists/."""
    from dagster_project.cli.worklist import NoWorklist, print_csv, print_table, worklist_path

    try:
        path = worklist_path(home, _as_date(month))
    except NoWorklist as missing:
        _fail(str(missing), 2)
    if as_csv:
        print_csv(path)
    else:
        print_table(path, _as_date(month), limit, Console(soft_wrap=False))


def _part(value: str | None) -> str | None:
    if value is not None and value not in ("numerator", "denominator"):
        raise typer.BadParameter(f"{value!r} is not numerator or denominator")
    return value


@app.command()
def explain(
    month: Annotated[str, typer.Option(help="The month of the figure, YYYY-MM (one of the twelve the published "
                                       "scorecard shows).", callback=_month)],
    measure: Annotated[str, typer.Option(help="The measure id, as in scorecard.csv (e.g. contacts).")],
    part: Annotated[str | None, typer.Option(help="Only the numerator's or the denominator's records "
                                             "(numerator|denominator).", callback=_part)] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Write the list as CSV to this file ('-': "
                                                  "stdout) instead of printing a table.")] = None,
    home: Annotated[Path, typer.Option(envvar=HOME_ENV, help="Warehouse home.")] = Path("warehouse"),
    limit: Annotated[int, typer.Option(min=0, help="Rows shown in the table (0: all).")] = 500,
) -> None:
    """List the children (child_key) and records behind a published figure: every record counted in
    its numerator and its denominator, with the dates the definition uses, from the published
    analysts' warehouse (read-only). INTERNAL: for council staff, never for the public variant."""
    from dagster_project.cli.explain import ExplainRefused
    from dagster_project.cli.explain import explain as list_records

    try:
        list_records(home, _as_date(month), measure, part, csv_file, limit, Console(soft_wrap=False), console)
    except ExplainRefused as refused:
        _fail(str(refused), 2)


def _check_key(paths: HomePaths) -> None:
    """Stop (exit 2) before any run when the key is unusable or not the warehouse's."""
    from dagster_project.cli.runner import check_key
    from dagster_project.pseudonym import PseudonymKeyError

    try:
        check_key(paths)
    except PseudonymKeyError as bad_key:
        _fail(str(bad_key), 2)


@app.command(name="rotate-key")
def rotate_key(
    extracts: Annotated[Path, typer.Option(help="Extracts root holding <YYYY-MM>/ folders (the latest published "
                                                "month is run again under the new key).")],
    home: Annotated[Path, typer.Option(envvar=HOME_ENV, help="Warehouse home.")] = Path("warehouse"),
) -> None:
    """Change the pseudonymisation key on purpose and re-pseudonymise the warehouse.

    With no key configured, the home's key file is replaced by a new random key. With
    CSC_PSEUDONYM_KEY or CSC_PSEUDONYM_KEY_FILE set, configure the new key first: the warehouse then
    adopts it. The latest published month is run again, so the analysts' warehouse carries only
    keys of the new key; earlier versions of the published zone are removed.
    """
    from dagster_project.cli.runner import prepare_home, rotate
    from dagster_project.pseudonym import PseudonymKeyError

    paths = prepare_home(home, extracts)
    try:
        with FileLock(str(paths.run_lock), timeout=1):
            try:
                rotated = rotate(paths)
            except PseudonymKeyError as refused:
                _fail(str(refused), 2)
            console.print(f"key rotated: fingerprint {rotated.old} -> {rotated.new} ({rotated.source})")
            if rotated.month is None:
                console.print("nothing published yet: the next run pseudonymises under the new key")
                raise typer.Exit(0)
            results = _run_months([rotated.month], paths.private_dir / "logs")
            if all(r.outcome.name == "PUBLISHED" for r in results):
                from dagster_project.publish.wap import remove_old_versions

                remove_old_versions(paths, keep_previous=False)
    except Timeout:
        _fail(f"another run is using {paths.home}; rotate the key when it has finished", BUSY)
    _summary(results, paths)
    from dagster_project.cli.runner import exit_code

    raise typer.Exit(exit_code(results))


@app.command()
def ui(
    extracts: Annotated[Path, typer.Option(help="Extracts root holding <YYYY-MM>/ folders (the sensor watches it).")],
    home: Annotated[Path, typer.Option(envvar=HOME_ENV, help="Warehouse home.")] = Path("warehouse"),
    host: Annotated[str, typer.Option(help="Address the web UI listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the web UI.")] = 3000,
) -> None:
    """Start the Dagster UI and daemon (sensor, schedule, backfills) for this home; Ctrl-C or SIGTERM
    stops all of it cleanly."""
    from dagster_project.cli.runner import prepare_home
    from dagster_project.cli.ui import dagster_dev_command, serve

    prepare_home(home, extracts)
    console.print(f"Dagster UI for {home.resolve()} on http://{host}:{port} (Ctrl-C or SIGTERM stops it)")
    raise typer.Exit(serve(dagster_dev_command(host, port)))


def _run_region(root: Path, home: Path, options, jobs: int) -> int:
    """Every council of a region, each in its own home; a table of how each ended; the region's
    benchmark published from what the councils have published; the exit code."""
    from dagster_project.cli.region import OUTCOMES, RegionRefused, region_exit_code, run_region
    from dagster_project.publish.wap import published_months

    def announce(council, log: Path | None) -> None:
        console.rule(f"{council.la_code} {council.name} ({council.region})")
        if log is not None:  # the council ran beside others: its output, whole
            console.file.write(log.read_text(errors="replace"))
            console.file.flush()

    try:
        results = run_region(root.absolute(), home.absolute(), options, announce, jobs)
    except RegionRefused as refused:
        _fail(str(refused), 2)
    table = Table(title="csc-warehouse run --all-councils", show_lines=True)
    for col in ("council", "region", "outcome", "published months", "home"):
        table.add_column(col, overflow="fold")
    for r in results:
        months = published_months(HomePaths(r.home))
        shown = f"{months[0]} .. {months[-1]} ({len(months)})" if months else "none"
        style = {0: "green", 3: "yellow"}.get(r.exit_code, "red")
        outcome = r.note or OUTCOMES.get(r.exit_code, f"error (exit {r.exit_code})")
        table.add_row(f"{r.council.la_code} {r.council.name}", r.council.region,
                      f"[{style}]{outcome}[/{style}]", shown, str(r.home))
    console.print(table)
    code = region_exit_code(results)
    from dagster_project.publish.region import publish_region

    with console.status("building the regional benchmark"):
        try:
            region = publish_region(home.absolute(), [r.council for r in results])
        except Exception as failed:  # noqa: BLE001 - any failure: said, and nothing of it published
            console.print(f"[red]error:[/red] {type(failed).__name__}: {failed}; the published benchmark is unchanged")
            return 1
    if region is None:
        console.print("no regional benchmark: no council has published a month with its public variant yet")
        return code
    console.print(f"regional benchmark: {region.councils} councils, {region.months} months -> "
                  f"{region.version.parent.parent / 'index.html'}", soft_wrap=True)
    if region.left_out:
        console.print("left out of the benchmark, published without the public variant: "
                      f"{', '.join(region.left_out)} (publish one again with `csc-warehouse run --extracts "
                      f"{root}/<la_code> --home {home}/<la_code> --month <YYYY-MM> --force --public`)", soft_wrap=True)
    return code


def _run_months(months: list[str], log_dir: Path, public: bool | None = None):
    from dagster import DagsterInstance

    from dagster_project.cli.runner import reap_dead_runs, run_month

    results = []
    with DagsterInstance.get() as instance:
        for run_id in reap_dead_runs(instance):
            console.print(f"marked interrupted run {run_id[:8]} as failed")
        for i, m in enumerate(months):
            if i:
                # a full collection between months: under settings.GC_THRESHOLD a month's garbage in
                # reference cycles otherwise outlives it, and a long backfill's memory grows (the
                # figures: docs/decisions.md, "Python's garbage collector")
                gc.collect()
            results.append(run_month(m, instance, log_dir, public))
    return results


def _flags_text(counts: dict[str, int], failed_checks: list[str]) -> str:
    parts = []
    if counts.get("failed") or failed_checks:
        parts.append(f"{counts.get('failed') or len(failed_checks)} blocking")
    if counts.get("signed_off"):
        parts.append(f"{counts['signed_off']} signed off")
    if counts.get("warn"):
        parts.append(counted(counts["warn"], "warning"))
    if not parts:
        return "none" if counts else "-"
    return ", ".join(parts)


def _summary(results, paths) -> None:
    """The end-of-run table: month, published or blocked, what the quality checks said (blocking,
    signed off, warnings: not the figures' [r] marks, which the scorecard shows), where the files are."""
    from dagster_project.cli.runner import Outcome, flag_counts, published_files, quarantined_rows
    from dagster_project.ingest.worklist import worklist_command

    flags, quarantined = flag_counts(paths, results), quarantined_rows(paths, results)
    table = Table(title="csc-warehouse run", show_lines=True)
    for col in ("month", "outcome", "checks", "files / details"):
        table.add_column(col, overflow="fold")
    for r in results:
        counts = flags.get(r.run_id, {})
        if r.outcome is Outcome.PUBLISHED:
            month_dir = paths.published_month_dir(_as_date(r.month))
            details = f"{month_dir}/\n" + ", ".join(published_files(month_dir))
            if quarantined.get(r.run_id):  # the figures leave them out: the data team fixes them at source
                details += (f"\n{counted(quarantined[r.run_id], 'row')} quarantined, left out of every figure: "
                            f"{worklist_command(paths.home, r.month)}")
        else:
            report = paths.work_month_dir(_as_date(r.month)) / "quality_report.html"
            details = "; ".join(r.messages[:2] + r.failed_checks[:5])
            if report.exists() and report.stat().st_mtime >= r.started_at:  # not an earlier run's
                details += f"\nquality report: {report}"
            details += f"\nlog: {r.log_file}"
        style = {"PUBLISHED": "green", "BLOCKED": "yellow"}.get(r.outcome.name, "red")
        table.add_row(r.month, f"[{style}]{r.outcome.name.lower()}[/{style}]",
                      _flags_text(counts, r.failed_checks), details)
    console.print(table)
    if paths.published_db.exists():
        docs = paths.published_dir / "docs" / "index.html"
        if not any(r.outcome is Outcome.PUBLISHED for r in results):  # the footer is no news of this run's
            console.print("nothing was published by this run: the publication below is as it was", soft_wrap=True)
        console.print(f"published warehouse: {paths.published_db} (docs: {docs})", soft_wrap=True)
        console.print(f"published scorecards: {paths.published_dir}/<YYYY-MM>/scorecard.{{csv,xlsx,html}}",
                      soft_wrap=True)


def main() -> None:
    """The ``csc-warehouse`` console entry point: the CLI, then a fast exit.

    A run imports Dagster, dbt, GX and pandas; tearing their module graph down at exit took Python
    about 3 s of each run (bench/results.md). Everything that matters is closed by then (DuckDB
    connections, the Dagster instance, the run lock, log files), so once the command has finished
    its output is flushed and the process leaves with the command's exit code.
    """
    restrict_umask()  # the private zone: the publish step opens the published zone on purpose
    collect_garbage_less_often()  # before the commands import Dagster, dbt and GX
    try:
        app()
        code = 0
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
            code = 1
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
