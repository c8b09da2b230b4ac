"""``csc-warehouse run --extracts ROOT --all-councils``: every council of a region, each gated alone.

A region's extracts root holds one folder per council, named by its DfE LA code
(``<root>/<la_code>/<YYYY-MM>/``). Each council runs as a ``csc-warehouse run`` of its own, in a
process of its own, against a home of its own (``<home>/<la_code>/``: its Dagster instance,
working warehouse, pseudonymisation key, baselines, sign-offs and published zone). So one
council's rejected, held or failed month changes nothing of what another council publishes, its
gate judges it against its own history only, and no table ever holds two councils' children
(docs/decisions.md, "A region's councils"). Councils run one after another, or ``--jobs N`` at a
time: then each council's output is kept in ``<home>/region/private/council-runs/<la_code>.log``
and shown whole when the council ends, so councils' lines never interleave. Each council's run
lock is its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from dagster_project.cli import BUSY
from dagster_project.cli.selection import SelectionError, select_months
from dagster_project.councils import Council, councils
from dagster_project.pseudonym import KEY_ENV, KEY_FILE_ENV
from dagster_project.publish.wap import published_months
from dagster_project.settings import (
    ENGINE_ENV,
    LA_CODE_ENV,
    POSTGRES,
    SPARK,
    SPARK_DIR_ENV,
    HomePaths,
    council_folders,
    extract_months,
)

LA_CODE_FIELD = "{la_code}"  # in $CSC_PSEUDONYM_KEY_FILE, $PGDATABASE, $CSC_SPARK_DIR: each council's own
DEMO_REGION = "demo: a fictional council"
OUTCOMES = {0: "up to date", 2: "rejected or refused", 3: "blocked", BUSY: "busy", 1: "error"}
PRECEDENCE = (1, 2, 3, BUSY)  # the region's exit code: the first of these any council ended with


class RegionRefused(ValueError):
    """The region's root or configuration cannot be run; the message says what to change."""


@dataclass(frozen=True)
class CouncilResult:
    council: Council
    exit_code: int
    home: Path
    note: str = ""  # why the council was not run (nothing selected), when it was not


@dataclass(frozen=True)
class MonthOptions:
    """The month options of ``run`` as given (each council's months are chosen from them)."""

    month: str | None = None
    all_months: bool = False
    from_month: str | None = None
    to_month: str | None = None
    force: bool = False

    def resolved(self) -> MonthOptions:
        """The options each council runs with: as given, or every pending month when none is given.
        Refused when they conflict, or when --force would re-run every month of every council."""
        ranged = self.from_month is not None or self.to_month is not None
        given = sum([self.month is not None, self.all_months, ranged])
        if given > 1:
            raise RegionRefused("give at most one of --month, --all, or --from/--to")
        if given == 0 and self.force:
            raise RegionRefused("--force re-runs published months: say which (--month, --from/--to or --all)")
        return MonthOptions(self.month, self.all_months or given == 0, self.from_month, self.to_month, self.force)


def known_councils() -> dict[str, Council]:
    """The English LAs (seeds/dim_council.csv) and the generator's fictional demo councils, hand-written
    and sampled, whose codes (5xx-7xx) no English LA has."""
    from dagster_project.extracts.generator.councils import COUNCILS
    from dagster_project.extracts.generator.sampled import sampled_councils

    known = dict(councils())
    for profile in (*COUNCILS.values(), *sampled_councils()):
        known.setdefault(profile.la_code, Council(profile.la_code, profile.title, DEMO_REGION))
    return known


def region_councils(root: Path) -> list[Council]:
    """The councils of a region's root, in LA-code order; refused when the root is not a region's
    (no council folders, or month folders beside them) or a three-digit folder is not the code of an
    English LA or of a demo council. Other folders (notes, archives) are not councils."""
    codes = council_folders(root)
    if not codes:
        raise RegionRefused(f"{root} has no council folders: a region's root holds one <la_code>/ folder "
                            "(the DfE three-digit LA code) per council, each holding its <YYYY-MM>/ months")
    stray = extract_months(root)
    if stray:
        raise RegionRefused(f"{root} holds month folders ({', '.join(stray[:3])}) beside its council folders: "
                            "move them into their council's <la_code>/ folder")
    known = known_councils()
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise RegionRefused(f"{root}: folder(s) {', '.join(unknown)} are not the LA code of an English council "
                            "(seeds/dim_council.csv) or of a demo council (csc-warehouse generate --help)")
    return [known[code] for code in codes]


# where another engine keeps a council's raw layer, key and models: one per council, named with
# {la_code} (Spark's folder is in each council's home unless set)
ENGINE_PLACE = {POSTGRES: ("PGDATABASE", True), SPARK: (SPARK_DIR_ENV, False)}  # variable, required


def council_env(environ: Mapping[str, str], la_code: str) -> dict[str, str]:
    """The environment of one council's run: its LA code (the ingest checks its manifests against
    it) and its own key. A key configured once for the whole region is refused, since every
    council's children must be pseudonymised under that council's key; ``$CSC_PSEUDONYM_KEY_FILE``
    may name each council's file with ``{la_code}``. On PostgreSQL or Spark each council builds in
    a place of its own too (``$PGDATABASE``, ``$CSC_SPARK_DIR`` with ``{la_code}``), so no two
    councils' records share a database and councils can run side by side."""
    env = dict(environ) | {LA_CODE_ENV: la_code}
    if env.get(ENGINE_ENV) in ENGINE_PLACE:
        name, required = ENGINE_PLACE[env[ENGINE_ENV]]
        if (env.get(name) or required) and LA_CODE_FIELD not in env.get(name, ""):
            raise RegionRefused(f"${ENGINE_ENV}={env[ENGINE_ENV]}: ${name} must name each council's own "
                                f"(put {LA_CODE_FIELD} in it)")
        if env.get(name):
            env[name] = env[name].replace(LA_CODE_FIELD, la_code)
    if env.get(KEY_ENV):
        raise RegionRefused(f"${KEY_ENV} would give every council the same key: unset it (each council's home "
                            f"keeps its own key), or set ${KEY_FILE_ENV} to a path with {LA_CODE_FIELD} in it")
    if env.get(KEY_FILE_ENV):
        if LA_CODE_FIELD not in env[KEY_FILE_ENV]:
            raise RegionRefused(f"${KEY_FILE_ENV} names one file for every council: put {LA_CODE_FIELD} in its "
                                "path (one key file per council), or unset it")
        env[KEY_FILE_ENV] = env[KEY_FILE_ENV].replace(LA_CODE_FIELD, la_code)
    return env


def council_months(root: Path, home: Path, la_code: str, options: MonthOptions) -> list[str]:
    """The months a council's run would run (SelectionError: none it can, and why)."""
    return select_months(extract_months(root / la_code), published_months(HomePaths(home / la_code)),
                         month=options.month, all_months=options.all_months, from_month=options.from_month,
                         to_month=options.to_month, force=options.force).months


def council_command(root: Path, home: Path, la_code: str, options: MonthOptions) -> list[str]:
    """One council's ``csc-warehouse run`` (``-P``: the package installed, never the working folder's),
    with the public variant, which the region's benchmark pools (publish/region.py)."""
    selection = ["--all"] if options.all_months else []
    for name, value in (("--month", options.month), ("--from", options.from_month), ("--to", options.to_month)):
        selection += [name, value] if value else []
    selection += ["--force"] * options.force + ["--public"]
    return [sys.executable, "-P", "-m", "dagster_project.cli", "run", "--extracts", str(root / la_code),
            "--home", str(home / la_code), *selection]


def region_exit_code(results: Sequence[CouncilResult]) -> int:
    """0 when every council's run ended 0; else the first of error, rejected, blocked, busy."""
    codes = {r.exit_code for r in results}
    return next((code for code in PRECEDENCE if code in codes), 0 if codes <= {0} else 1)


def prepare_region_home(home: Path) -> None:
    """The region's home, 0750 like a council's (its group reaches each council's published zone)."""
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o750)


def region_log(home: Path, la_code: str) -> Path:
    """Where a council's output is kept when councils run side by side (its latest run's), in the
    region home's private folder (0700) like the region build's own logs."""
    from dagster_project.publish.region import region_private_dir  # dagster and dbt: only when councils run

    folder = region_private_dir(home) / "council-runs"
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder / f"{la_code}.log"


def _run(command: list[str], env: dict[str, str], log: Path | None = None) -> int:
    """A council's run, its output to the terminal or to ``log``; on Ctrl-C (which the council's
    run receives too) wait for it to stop cleanly. The output goes to a file of this run's own and
    replaces ``log`` when the run ends, so another command's run of the council (refused as busy)
    never writes into it."""
    if log is None:
        process = subprocess.Popen(command, env=env)
    else:
        fd, own = tempfile.mkstemp(prefix=f".{log.stem}.", suffix=".log", dir=log.parent)
        with os.fdopen(fd, "wb") as out:
            process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        code = process.wait()
    except KeyboardInterrupt:
        process.wait()
        raise
    finally:
        if log is not None:
            os.replace(own, log)
    return code


def run_region(root: Path, home: Path, options: MonthOptions, announce: Callable[[Council, Path | None], None],
               jobs: int = 1) -> list[CouncilResult]:
    """Run each council, ``jobs`` at a time, in LA-code order; a council with no month to run (none
    sent, or all published) is not started. With one job a council's output passes through and
    ``announce(council, None)`` comes before it; with more, ``announce(council, log)`` comes when
    the council has ended, ``log`` holding its output. The results are in LA-code order."""
    if jobs < 1:
        raise RegionRefused(f"--jobs {jobs}: run at least one council at a time")
    options = options.resolved()
    plan = [(council, council_env(os.environ, council.la_code)) for council in region_councils(root)]
    prepare_region_home(home)
    showing = threading.Lock()  # one council's output at a time
    stopping = threading.Event()  # Ctrl-C: start no more councils

    def one(council: Council, env: dict[str, str]) -> CouncilResult | None:
        if stopping.is_set():
            return None
        if jobs == 1:
            announce(council, None)
        try:
            months = council_months(root, home, council.la_code, options)
        except SelectionError as nothing:
            return CouncilResult(council, 0, home / council.la_code, f"not run: {nothing}")
        if not months:
            return CouncilResult(council, 0, home / council.la_code, "not run: every month is published")
        log = None if jobs == 1 else region_log(home, council.la_code)
        code = _run(council_command(root, home, council.la_code, options), env, log)
        if log is not None:
            with showing:
                announce(council, log)
        return CouncilResult(council, code, home / council.la_code)

    if jobs == 1:
        return [r for council, env in plan if (r := one(council, env)) is not None]
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = [pool.submit(one, council, env) for council, env in plan]
        # waiting in short steps keeps this (the main) thread taking Ctrl-C at once, even when the
        # signal was delivered to a worker thread: no waiting council starts in between
        while wait(futures, timeout=0.1).not_done:
            pass
        results = [future.result() for future in futures]
    except BaseException:  # Ctrl-C: the councils running stop with it (their process group's), no more start
        stopping.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return [r for r in results if r is not None]
