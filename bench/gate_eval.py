#!/usr/bin/env python
"""Judge the quality gate over many councils and many faults: ``make gate-eval``.

The gate (the checks that hold a month before publication) must let every clean month of every
council through and stop every injected fault. This script measures both, through the real
command line only (``csc-warehouse generate`` and ``csc-warehouse run`` as child processes):

1. *clean*: for each council (``dagster_project.extracts.generator.councils.COUNCILS``), generate
   ``--months`` + 1 consecutive clean monthly extracts and run them in order, one
   ``run --month`` each. Any exit other than 0 is a **false block** (recorded with the checks
   that held it, or the rejection message, or the tail of stderr for a crash). The warehouse
   home is copied to a *snapshot* just before the last month runs.
2. *faults*: for each council x fault (``dagster_project.extracts.faults.FAULTS``), generate the
   months with ``--inject FAULT`` (faults apply to the last month only). Only the last two months
   are generated when a *range probe* shows that generating just them gives the clean last month
   byte for byte; otherwise (the generator simulates the span it is given, so a month's bytes can
   depend on the range) the whole range is generated again. Then restore a fresh copy of the
   snapshot (the state after month M, as published), point a fresh extracts folder at clean
   months 1..M plus the faulty month M+1, and run month M+1. Exit 2 (rejected) or 3 (held) is
   *caught*; a fault is only counted as stopped if it was caught **and** every file under
   ``<home>/published`` (path + SHA-256) is exactly as in the snapshot.

Targets: (a) no clean month blocked for any council; (b) at least 95 % of fault x council pairs
caught with published files unchanged. Writes ``bench/gate_results.json`` (everything) and
``bench/gate_results.md`` (for people; ``--out`` names others), and exits 1 if either target is missed (0 if both are
met), after writing the report.

Usage (``make gate-eval`` runs the default: every council, every fault, 6 + 1 months from 2023-01
at scale 1, two jobs)::

    .venv/bin/python bench/gate_eval.py [--councils a,b] [--faults a,b|none] [--months 6]
        [--first 2023-01] [--scale 1.0] [--seed 42] [--jobs 2] [--run-timeout 1800] [--keep]
        [--out gate_results]

Temporary files go under ``bench/gate_work/`` (git-ignored; several GB at scale 1) and each unit's
folders are deleted when it is done unless ``--keep``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import csv
import dataclasses
import hashlib
import importlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchlib import REPO, memory_total_bytes, months_from, rel  # beside this script

BENCH = REPO / "bench"
WORK = BENCH / "gate_work"
RESULTS = "gate_results"  # bench/<name>.json and .md (--out)
CLI = str(Path(sys.executable).parent / "csc-warehouse")

CATCH_TARGET = 0.95
EXIT_NAMES = {0: "published", 2: "rejected", 3: "held", 1: "crash"}
FAILED_LINE = re.compile(r"^\[\d{4}-\d{2}\] ([^:]+): FAILED - (.*)$")
NOISE = re.compile(r"Warning: |^\s+return fn\(")

_print_lock = threading.Lock()
_children: dict[int, subprocess.Popen] = {}
_children_lock = threading.Lock()
_stopping = threading.Event()


def say(text: str) -> None:
    with _print_lock:
        print(f"{datetime.now():%H:%M:%S} {text}", flush=True)


# --------------------------------------------------------------------------------------------
# what to evaluate: councils and faults come from the project's own registries


@dataclasses.dataclass
class Registry:
    councils: dict[str, dict[str, Any]]  # name -> scalar fields of its profile
    default_council: str
    faults: dict[str, str]  # name -> description
    councils_module: bool  # councils.py exists
    cli_has_council: bool  # `generate --council` exists
    note: str = ""


def _profile_fields(profile: Any, seed: int, prefix: str = "") -> dict[str, Any]:
    """The scalar settings of a council profile (and of its file style), for the report."""
    if dataclasses.is_dataclass(profile):
        items = {f.name: getattr(profile, f.name) for f in dataclasses.fields(profile)}
    else:
        items = dict(getattr(profile, "__dict__", {}))
    out: dict[str, Any] = {}
    for k, v in items.items():
        if k.startswith("_"):
            continue
        if isinstance(v, str | int | float | bool):
            out[prefix + k] = v
        elif isinstance(v, tuple) and all(isinstance(x, str | int | float) for x in v):
            out[prefix + k] = list(v)
        elif dataclasses.is_dataclass(v) and not prefix:
            out.update(_profile_fields(v, seed, prefix=f"{k}."))
    simulation_seed = getattr(profile, "simulation_seed", None)
    if callable(simulation_seed) and not prefix:
        with contextlib.suppress(Exception):  # informative only
            out["simulation_seed"] = simulation_seed(seed)
    return out


def load_registry(seed: int) -> Registry:
    from dagster_project.extracts.faults import FAULTS

    help_text = subprocess.run([CLI, "generate", "--help"], capture_output=True, text=True,
                               env={**os.environ, "COLUMNS": "200"}).stdout
    cli_has_council = "--council" in help_text
    try:
        councils_module = importlib.import_module("dagster_project.extracts.generator.councils")
    except ModuleNotFoundError as exc:
        if exc.name != "dagster_project.extracts.generator.councils":
            raise
        return Registry({"bradford": {}}, "bradford", dict(FAULTS), False, cli_has_council,
                        "dagster_project/extracts/generator/councils.py does not exist yet: evaluated with "
                        "the generator's only council (Bradford, no --council option passed).")
    from dagster_project.extracts.generator.sampled import sampled_councils

    # sampled-1 .. sampled-90 after the hand-written councils: evaluated when --councils names them
    profiles = dict(councils_module.COUNCILS) | {p.name: p for p in sampled_councils()}
    councils = {name: _profile_fields(p, seed) for name, p in profiles.items()}
    default = getattr(councils_module, "DEFAULT_COUNCIL", "bradford")
    note = "" if cli_has_council else ("councils.py exists but `csc-warehouse generate` has no --council option "
                                       "yet: only the default council can be generated.")
    return Registry(councils, default, dict(FAULTS), True, cli_has_council, note)


def hand_written(registry: Registry) -> list[str]:
    """The councils evaluated by default: the hand-written ones, not the sampled."""
    from dagster_project.extracts.generator.sampled import SAMPLED_PREFIX

    return [c for c in registry.councils if not c.startswith(SAMPLED_PREFIX)]


def council_seed(name: str, base: int, registry: Registry) -> int:
    """The --seed passed for a council: the same base seed for every council. The generator derives
    each council's own simulation seed from it (CouncilProfile.simulation_seed: the seed itself for
    the default council, plus a fixed hash of the name for the others), so every council gets fixed,
    different data and adding a council never changes another's."""
    return base


# --------------------------------------------------------------------------------------------
# child processes


@dataclasses.dataclass
class Proc:
    cmd: list[str]
    exit: int | None  # None: killed on timeout or interrupt
    seconds: float
    stdout: str
    stderr: str
    started_utc: datetime
    timed_out: bool = False


def run_cmd(cmd: list[str], log_stem: Path, timeout: float | None) -> Proc:
    """Run ``cmd`` in its own process group; stdout/stderr kept in ``log_stem``.{out,err}."""
    if _stopping.is_set():
        raise KeyboardInterrupt
    log_stem.parent.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_stem.with_suffix(".out"), log_stem.with_suffix(".err")
    started_utc = datetime.now(UTC).replace(tzinfo=None)
    t0 = time.perf_counter()
    with out_path.open("w") as out, err_path.open("w") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=REPO,
                                start_new_session=True)
        with _children_lock:
            _children[proc.pid] = proc
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(proc)
        finally:
            with _children_lock:
                _children.pop(proc.pid, None)
    seconds = time.perf_counter() - t0
    if _stopping.is_set():  # killed by this script on Ctrl-C / SIGTERM: not the command's own outcome
        raise KeyboardInterrupt
    code = None if timed_out or proc.returncode < 0 else proc.returncode
    return Proc(cmd, code, seconds, out_path.read_text(errors="replace"), err_path.read_text(errors="replace"),
                started_utc, timed_out)


def kill_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def kill_all_children() -> None:
    with _children_lock:
        procs = list(_children.values())
    for p in procs:
        kill_group(p)


def stderr_tail(text: str, lines: int = 25) -> str:
    kept = [line for line in text.splitlines() if line.strip() and not NOISE.search(line)]
    return "\n".join(kept[-lines:])


# --------------------------------------------------------------------------------------------
# reading what a run did


def rejection_kind(message: str) -> str:
    """A short name for why an extract was rejected (the cell text of the report)."""
    m = message.lower()
    if "manifest" in m or "sha-256" in m or "sha256" in m or "checksum" in m:
        return "manifest"
    if "column" in m or "header" in m:
        return "header"
    if "utf-8" in m or "csv" in m or "cannot be read" in m or "quote" in m or "field" in m:
        return "format"
    if "missing from" in m or "required table" in m or "does not exist" in m or "folder" in m:
        return "files"
    return "ingest"


def failure_message(stderr: str) -> str:
    """The run's own one-line reason ('[YYYY-MM] stage: FAILED - ...'), or its 'error:' line."""
    found = ""
    for line in stderr.splitlines():
        m = FAILED_LINE.match(line.strip())
        if m:
            found = f"{m.group(1)}: {m.group(2)}"
            break
    if not found:
        for line in stderr.splitlines():
            if line.strip().lower().startswith("error:"):
                found = line.strip()
                break
    return found


def read_checks(home: Path, month: str, since: datetime) -> dict[str, Any]:
    """The month's latest run in quality.check_results (stored after ``since``): its failed checks,
    warnings and status counts; plus failing dbt tests from the run's working quality report."""
    import duckdb

    out: dict[str, Any] = {"run_id": None, "failed": [], "warn": [], "status_counts": {}, "dbt_failed": []}
    db = home / "private" / "warehouse.duckdb"
    month_date = date(int(month[:4]), int(month[5:7]), 1)
    if db.exists():
        try:
            con = duckdb.connect(str(db), read_only=True)
        except duckdb.Error as exc:
            out["error"] = f"could not open {rel(db)}: {exc}"
            con = None
        if con is not None:
            try:
                has = con.execute("select count(*) from duckdb_tables() where schema_name = 'quality' "
                                  "and table_name = 'check_results'").fetchone()[0]
                latest = has and con.execute(
                    "select run_id from quality.check_results where month = ? and checked_at >= ? "
                    "order by checked_at desc limit 1", [month_date, since]).fetchone()
                if latest:
                    out["run_id"] = latest[0]
                    rows = con.execute(
                        """select check_id, family, subject, severity, status, summary
                           from quality.check_results where month = ? and run_id = ?
                           qualify row_number() over (partition by check_id order by checked_at desc) = 1
                           order by family, check_id""", [month_date, latest[0]]).fetchall()
                    counts: dict[str, int] = {}
                    for check_id, family, subject, severity, status, summary in rows:
                        counts[status] = counts.get(status, 0) + 1
                        item = {"check_id": check_id, "family": family, "subject": subject,
                                "severity": severity, "summary": summary}
                        if status == "failed":
                            out["failed"].append(item)
                        elif status == "warn":
                            out["warn"].append(item)
                    out["status_counts"] = counts
            except duckdb.Error as exc:
                out["error"] = f"could not read quality.check_results: {exc}"
            finally:
                con.close()
    report = home / "private" / "runs" / month / "quality_report.csv"
    if report.exists() and datetime.fromtimestamp(report.stat().st_mtime, UTC).replace(tzinfo=None) >= since:
        with report.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row.get("section") == "dbt_test" and row.get("status") in ("fail", "error"):
                    out["dbt_failed"].append({"check_id": f"dbt_test.{row['id']}", "family": "dbt_test",
                                              "subject": row["id"], "severity": "error",
                                              "summary": row.get("summary") or ""})
    return out


def run_month(extracts: Path, home: Path, month: str, logs: Path, timeout: float | None) -> dict[str, Any]:
    """``csc-warehouse run --month``, and what held or rejected it."""
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=2)
    p = run_cmd([CLI, "run", "--extracts", str(extracts), "--home", str(home), "--month", month],
                logs / f"run-{month}", timeout)
    outcome = "timeout" if p.timed_out else EXIT_NAMES.get(p.exit, "crash") if p.exit is not None else "killed"
    result: dict[str, Any] = {"month": month, "exit": p.exit, "outcome": outcome, "seconds": round(p.seconds, 1),
                              "failed_checks": [], "warnings": [], "rejection": None}
    if p.exit != 0:
        result["message"] = failure_message(p.stderr)
        result["stderr_tail"] = stderr_tail(p.stderr)
    if p.exit == 2:
        result["rejection"] = result["message"] or "(no message found on stderr)"
        result["rejection_kind"] = rejection_kind(result["rejection"])
    if p.exit != 2:
        checks = read_checks(home, month, since)
        result["failed_checks"] = checks["failed"] + checks["dbt_failed"]
        result["warnings"] = [w["check_id"] for w in checks["warn"]]
        result["status_counts"] = checks["status_counts"]
        result["run_id"] = checks["run_id"]
        if "error" in checks:
            result["read_error"] = checks["error"]
    return result


def families(result: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(c["family"] for c in result.get("failed_checks", [])))


def caught_by(result: dict[str, Any]) -> str:
    """'rejected: manifest', 'held: volume_drift, quarantine_rate', 'held: ?' ..."""
    if result["exit"] == 2:
        return f"rejected: {result.get('rejection_kind', 'ingest')}"
    if result["exit"] == 3:
        fams = families(result)
        return "held: " + (", ".join(fams) if fams else "? (no failed check found)")
    return result["outcome"]


# --------------------------------------------------------------------------------------------
# files


def tree_hashes(root: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under ``root`` (symlinks as 'link:<target>')."""
    out: dict[str, str] = {}
    if not root.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = Path(dirpath) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                out[key] = "link:" + os.readlink(path)
                continue
            h = hashlib.sha256()
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            out[key] = h.hexdigest()
    return out


def diff_hashes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    changed = [f"changed {k}" for k in sorted(before) if k in after and before[k] != after[k]]
    changed += [f"removed {k}" for k in sorted(before) if k not in after]
    changed += [f"added {k}" for k in sorted(after) if k not in before]
    return changed


def link_tree(src: Path, dst: Path) -> None:
    """Copy a folder of files as hard links (a copy if linking is refused)."""
    dst.mkdir(parents=True, exist_ok=True)
    for item in src.iterdir():
        target = dst / item.name
        if item.is_dir():
            link_tree(item, target)
        else:
            try:
                os.link(item, target)
            except OSError:
                shutil.copy2(item, target)


def restore_home(snapshot: Path, original: Path, new: Path) -> None:
    """A fresh copy of the snapshot at ``new``. The Dagster instance config (dagster.yaml) names its
    event-log folder by absolute path; it is pointed at the copy's own folder, so the copy never
    writes into the snapshot or the clean home."""
    shutil.copytree(snapshot, new, symlinks=True)
    yaml = new / "dagster" / "dagster.yaml"
    if yaml.exists():
        text = yaml.read_text()
        yaml.write_text(text.replace(str(original.resolve()), str(new.resolve())))


def rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# the units of work


@dataclasses.dataclass
class Config:
    councils: list[str]
    faults: list[str]
    months: list[str]  # M + 1 months; the last is the faulty one
    scale: float
    seed: int
    jobs: int
    keep: bool
    timeout: float | None
    registry: Registry
    results: str = RESULTS

    @property
    def results_json(self) -> Path:
        return BENCH / f"{self.results}.json"

    @property
    def results_md(self) -> Path:
        return BENCH / f"{self.results}.md"


def generate(cfg: Config, council: str, out: Path, logs: Path, inject: str | None, first: str | None = None,
             tag: str = "") -> Proc:
    """``csc-warehouse generate`` of ``first`` (default: the first month) to the last month."""
    cmd = [CLI, "generate", "--out", str(out), "--first", first or cfg.months[0], "--last", cfg.months[-1],
           "--seed", str(council_seed(council, cfg.seed, cfg.registry)), "--scale", repr(cfg.scale)]
    if cfg.registry.cli_has_council:
        cmd += ["--council", council]
    if inject:
        cmd += ["--inject", inject]
    return run_cmd(cmd, logs / f"generate{'-' + inject if inject else ''}{tag}", cfg.timeout)


_clean_extract_hashes: dict[str, dict[str, dict[str, str]]] = {}  # council -> month -> file -> sha256


def council_dir(council: str) -> Path:
    return WORK / council


def clean_unit(cfg: Config, council: str) -> dict[str, Any]:
    """Generate and run the council's clean months; snapshot the home before the last one."""
    base = council_dir(council)
    rmtree(base)
    extracts, home, snapshot, logs = base / "clean-extracts", base / "clean-home", base / "snapshot", base / "logs"
    t0 = time.perf_counter()
    res: dict[str, Any] = {"council": council, "seed": council_seed(council, cfg.seed, cfg.registry),
                           "profile": cfg.registry.councils.get(council, {}), "months": []}
    say(f"[{council}] generating clean {cfg.months[0]}..{cfg.months[-1]}")
    g = generate(cfg, council, extracts, logs, None)
    res["generate"] = {"exit": g.exit, "seconds": round(g.seconds, 1), "command": shlex.join(g.cmd[1:])}
    if g.exit != 0:
        res["generate"]["stderr_tail"] = stderr_tail(g.stderr)
        res["error"] = f"generate failed (exit {g.exit})"
        say(f"[{council}] generate FAILED (exit {g.exit})")
        res["seconds"] = round(time.perf_counter() - t0, 1)
        return res
    _clean_extract_hashes[council] = {m: tree_hashes(extracts / m) for m in cfg.months}
    res["fault_first"] = cfg.months[0]
    if len(cfg.months) > 2:
        # Does the last month come out byte-identical when only it and the month before are generated?
        # Then a faulty generation needs just those two months (the month before for faults that
        # use it); if not, it must cover the whole range again.
        probe_dir, probe_first = base / "range-probe", cfg.months[-2]
        p = generate(cfg, council, probe_dir, logs, None, first=probe_first, tag="-range-probe")
        same = p.exit == 0 and tree_hashes(probe_dir / cfg.months[-1]) == _clean_extract_hashes[council][cfg.months[-1]]
        res["range_probe"] = {"first": probe_first, "exit": p.exit, "last_month_identical": same,
                              "seconds": round(p.seconds, 1)}
        if same:
            res["fault_first"] = probe_first
        rmtree(probe_dir)
    for i, month in enumerate(cfg.months):
        if i == len(cfg.months) - 1:
            shutil.copytree(home, snapshot, symlinks=True)
            res["snapshot_published"] = tree_hashes(snapshot / "published")
        r = run_month(extracts, home, month, logs, cfg.timeout)
        res["months"].append(r)
        detail = "" if r["exit"] == 0 else " <- FALSE BLOCK: " + (
            r.get("rejection") or ", ".join(c["check_id"] for c in r["failed_checks"]) or r.get("message") or "")
        say(f"[{council}] clean {month}: {r['outcome']} (exit {r['exit']}, {r['seconds']}s){detail}")
    res["seconds"] = round(time.perf_counter() - t0, 1)
    if not cfg.keep:
        rmtree(home)
    return res


def fault_unit(cfg: Config, council: str, fault: str, clean: dict[str, Any]) -> dict[str, Any]:
    """Generate the range with the fault, restore the snapshot, run the faulty month."""
    base = council_dir(council) / "faults" / fault
    rmtree(base)
    gen, extracts, home, logs = base / "generated", base / "extracts", base / "home", base / "logs"
    clean_extracts, snapshot = council_dir(council) / "clean-extracts", council_dir(council) / "snapshot"
    last = cfg.months[-1]
    t0 = time.perf_counter()
    res: dict[str, Any] = {"council": council, "fault": fault, "month": last}
    try:
        g = generate(cfg, council, gen, logs, fault, first=clean["fault_first"])
        res["generate"] = {"exit": g.exit, "seconds": round(g.seconds, 1), "command": shlex.join(g.cmd[1:])}
        if g.exit != 0:
            res["generate"]["stderr_tail"] = stderr_tail(g.stderr)
            res.update(exit=None, outcome="generate failed", caught=False, published_unchanged=None,
                       stopped=False, cell=f"NOT RUN: generate exit {g.exit}")
            return res
        # the faulty generation's earlier months should be byte-identical to the clean ones (faults
        # touch the last month only); recorded, and the clean ones are used either way
        clean_hashes = _clean_extract_hashes[council]
        differing = [m for m in cfg.months[:-1] if (gen / m).is_dir() and tree_hashes(gen / m) != clean_hashes[m]]
        res["generated_first"] = clean["fault_first"]
        res["earlier_months_identical"] = not differing
        if differing:
            res["earlier_months_differing"] = differing
        clean_last_files = clean_hashes[last]
        res["faulty_files_changed"] = [k for k, v in tree_hashes(gen / last).items() if clean_last_files.get(k) != v]
        extracts.mkdir(parents=True)
        for m in cfg.months[:-1]:
            link_tree(clean_extracts / m, extracts / m)
        os.rename(gen / last, extracts / last)
        rmtree(gen)
        restore_home(snapshot, council_dir(council) / "clean-home", home)
        r = run_month(extracts, home, last, logs, cfg.timeout)
        after = tree_hashes(home / "published")
        changed = diff_hashes(clean["snapshot_published"], after)
        res.update({k: v for k, v in r.items() if k != "month"})
        res["run_seconds"] = r["seconds"]
        res["caught"] = r["exit"] in (2, 3)
        res["published_unchanged"] = not changed
        if changed:
            res["published_changes"] = changed[:50]
            res["published_changes_count"] = len(changed)
        res["stopped"] = res["caught"] and res["published_unchanged"]
        clean_last = clean["months"][-1] if clean.get("months") else {}
        clean_failed = {c["check_id"] for c in clean_last.get("failed_checks", [])}
        res["new_failed_checks"] = [c["check_id"] for c in r["failed_checks"] if c["check_id"] not in clean_failed]
        res["clean_last_month_exit"] = clean_last.get("exit")
        if not res["caught"]:
            res["cell"] = f"MISSED ({r['outcome']})"
        elif not res["published_unchanged"]:
            res["cell"] = f"MISSED: {caught_by(r)}, but published changed"
        else:
            res["cell"] = caught_by(r)
            # the same check(s) also held the clean month: the catch may not be the fault's doing
            if r["exit"] == 3 and clean_last.get("exit") not in (0, None) and not res["new_failed_checks"]:
                res["cell"] += " †"
        return res
    finally:
        res["seconds"] = round(time.perf_counter() - t0, 1)
        if not cfg.keep:
            rmtree(base)


# --------------------------------------------------------------------------------------------
# scheduling


def evaluate(cfg: Config) -> tuple[dict[str, dict], dict[str, dict[str, dict]], bool]:
    clean: dict[str, dict] = {}
    faults: dict[str, dict[str, dict]] = {c: {} for c in cfg.councils}
    pending_faults = {c: len(cfg.faults) for c in cfg.councils}
    interrupted = False

    def council_done(council: str) -> None:
        if not cfg.keep:
            rmtree(council_dir(council))

    pool = cf.ThreadPoolExecutor(max_workers=cfg.jobs, thread_name_prefix="gate")
    futures: dict[cf.Future, tuple[str, str | None]] = {}
    for council in cfg.councils:
        futures[pool.submit(clean_unit, cfg, council)] = (council, None)
    try:
        while futures:
            done, _ = cf.wait(list(futures), timeout=1.0, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                council, fault = futures.pop(fut)
                try:
                    result = fut.result()
                except KeyboardInterrupt:
                    raise
                except Exception as exc:  # a bug here, not in the pipeline: record and go on
                    result = {"council": council, "error": f"{type(exc).__name__}: {exc}", "months": []}
                    if fault:
                        result.update(fault=fault, exit=None, outcome="harness error", caught=False,
                                      stopped=False, published_unchanged=None, cell="NOT RUN: harness error")
                if fault is None:
                    clean[council] = result
                    if "snapshot_published" in result:
                        for f in cfg.faults:
                            futures[pool.submit(fault_unit, cfg, council, f, result)] = (council, f)
                    else:
                        for f in cfg.faults:
                            faults[council][f] = {"council": council, "fault": f, "exit": None,
                                                  "outcome": "not run", "caught": False, "stopped": False,
                                                  "published_unchanged": None,
                                                  "cell": "NOT RUN: clean months failed"}
                        council_done(council)
                    if not cfg.faults:
                        council_done(council)
                else:
                    faults[council][fault] = result
                    say(f"[{council}] fault {fault}: {result.get('cell')} ({result.get('seconds')}s)")
                    pending_faults[council] -= 1
                    if pending_faults[council] == 0:
                        council_done(council)
    except KeyboardInterrupt:
        interrupted = True
        _stopping.set()
        say("interrupted: stopping the runs this script started")
        for fut in futures:
            fut.cancel()
        kill_all_children()
    pool.shutdown(wait=True, cancel_futures=True)
    if interrupted and not cfg.keep:
        for council in cfg.councils:
            rmtree(council_dir(council))
    return clean, faults, interrupted


# --------------------------------------------------------------------------------------------
# the report


def git_info() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    status = git("status", "--porcelain")
    return {"commit": git("rev-parse", "HEAD"), "clean": status == "",
            "changed_files": status.splitlines()[:40]}


def machine_info() -> dict[str, Any]:
    mem = memory_total_bytes()
    return {"nproc": len(os.sched_getaffinity(0)), "cpu_count": os.cpu_count(), "memory_gb": round(mem / 1e9, 1),
            "platform": platform.platform(), "python": platform.python_version(),
            "load_average_start": round(os.getloadavg()[0], 2)}


def summarise(cfg: Config, clean: dict, faults: dict) -> dict[str, Any]:
    clean_total = sum(len(clean.get(c, {}).get("months", [])) for c in cfg.councils)
    expected_clean = len(cfg.councils) * len(cfg.months)
    blocked = [(c, m["month"]) for c in cfg.councils for m in clean.get(c, {}).get("months", []) if m["exit"] != 0]
    not_run_clean = expected_clean - clean_total
    pairs = [(c, f) for c in cfg.councils for f in cfg.faults]
    stopped = [p for p in pairs if faults.get(p[0], {}).get(p[1], {}).get("stopped")]
    share = len(stopped) / len(pairs) if pairs else None
    return {
        "clean_months_expected": expected_clean,
        "clean_months_run": clean_total,
        "clean_months_blocked": len(blocked),
        "false_blocks": [{"council": c, "month": m} for c, m in blocked],
        "target_a_met": not blocked and not_run_clean == 0,
        "fault_pairs": len(pairs),
        "fault_pairs_stopped": len(stopped),
        "fault_stop_share": share,
        "fault_misses": [{"council": c, "fault": f} for c, f in pairs if (c, f) not in set(stopped)],
        "target_b_met": None if share is None else share >= CATCH_TARGET,  # None: no fault evaluated
        "target_b_note": "" if pairs else "no faults evaluated",
    }


def clean_cell(r: dict[str, Any]) -> str:
    if r["exit"] == 0:
        return "published" + (f" ({len(r['warnings'])} warn)" if r.get("warnings") else "")
    if r["exit"] == 2:
        return f"**REJECTED**: {r.get('rejection_kind', '?')}"
    if r["exit"] == 3:
        ids = [c["check_id"] for c in r["failed_checks"]]
        shown = ", ".join(f"`{i}`" for i in ids[:2]) + (f" +{len(ids) - 2}" if len(ids) > 2 else "")
        return f"**HELD**: {shown or '?'}"
    return f"**{r['outcome'].upper()}** (exit {r['exit']})"


def md_escape(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def write_report(cfg: Config, meta: dict[str, Any], clean: dict, faults: dict, summary: dict) -> None:
    payload = {"meta": meta, "config": {"councils": cfg.councils, "faults": cfg.faults, "months": cfg.months,
                                        "scale": cfg.scale, "base_seed": cfg.seed, "jobs": cfg.jobs,
                                        "run_timeout_s": cfg.timeout},
               "summary": summary, "clean": clean, "faults": faults,
               "fault_descriptions": {f: cfg.registry.faults.get(f, "") for f in cfg.faults}}
    cfg.results_json.write_text(json.dumps(payload, indent=2, default=str) + "\n")

    def yes(ok: bool | None) -> str:
        return "not evaluated" if ok is None else "**met**" if ok else "**NOT met**"

    L: list[str] = []
    L.append("# Quality-gate evaluation" + (" (`make gate-eval`)" if cfg.results == RESULTS else ""))
    L.append("")
    L.append("Does the publication gate let every clean month through and stop every injected fault? "
             "Each council's clean months are run in order; then, from a copy of the warehouse as it stood "
             f"after month {len(cfg.months) - 1}, the last month is run again once per fault with that fault "
             f"injected. Produced by `bench/gate_eval.py`; every figure below is in `{rel(cfg.results_json)}`.")
    L.append("")
    L.append(f"* Command: `{meta['command']}`")
    L.append(f"* Date: {meta['started']} to {meta['finished']} (UTC); total time **{meta['total_minutes']} min**"
             + (" — **interrupted, results partial**" if meta["interrupted"] else ""))
    g = meta["git"]
    L.append(f"* Git commit: `{g['commit'][:12]}`, working tree "
             + ("clean" if g["clean"] else f"**not clean** ({len(g['changed_files'])} changed/untracked paths)"))
    mc = meta["machine"]
    L.append(f"* Machine: {mc['nproc']} cores, {mc['memory_gb']} GB memory, {mc['platform']}, "
             f"load average {mc['load_average_start']} at start; {cfg.jobs} job(s) in parallel")
    sim = {c: cfg.registry.councils.get(c, {}).get("simulation_seed") for c in cfg.councils}
    names = ", ".join(c + (f" (simulation seed {sim[c]})" if sim[c] is not None else "") for c in cfg.councils)
    L.append(f"* Councils: {names}"
             f"; `--seed {cfg.seed}` for every council; "
             f"months {cfg.months[0]}..{cfg.months[-1]} ({len(cfg.months) - 1} + 1); scale {cfg.scale} "
             "(times each council's profile)")
    L.append(f"* Faults: {len(cfg.faults)} of {len(cfg.registry.faults)} known"
             + ("" if len(cfg.faults) == len(cfg.registry.faults) else f" ({', '.join(cfg.faults)})"))
    if cfg.registry.note:
        L.append(f"* Note: {cfg.registry.note}")
    default_config = (set(cfg.councils) == set(hand_written(cfg.registry))
                      and set(cfg.faults) == set(cfg.registry.faults) and cfg.scale == 1.0 and len(cfg.months) == 7)
    if not default_config:
        L.append("* This is **not the default configuration** (every council, every fault, 6 + 1 months, "
                 "scale 1): the targets below hold for this configuration only.")
    L.append("")
    L.append("## Targets")
    L.append("")
    L.append("| target | result | |")
    L.append("|---|---|---|")
    L.append(f"| (a) no clean month blocked, any council | {summary['clean_months_blocked']} of "
             f"{summary['clean_months_run']} clean months blocked"
             + (f" ({summary['clean_months_expected'] - summary['clean_months_run']} not run)"
                if summary["clean_months_run"] != summary["clean_months_expected"] else "")
             + f" | {yes(summary['target_a_met'])} |")
    share = summary["fault_stop_share"]
    L.append(f"| (b) ≥ {CATCH_TARGET:.0%} of fault x council pairs rejected or held, published files unchanged | "
             f"{summary['fault_pairs_stopped']} of {summary['fault_pairs']}"
             + (f" = {share:.1%}" if share is not None else "") + f" | {yes(summary['target_b_met'])} |")
    L.append("")

    # clean runs
    L.append("## Clean months")
    L.append("")
    L.append("Every cell should read *published*. A held month names the check(s) that held it "
             "(details below); *(n warn)* counts checks that warned without blocking.")
    L.append("")
    L.append("| council | " + " | ".join(cfg.months) + " | generate |")
    L.append("|---|" + "---|" * (len(cfg.months) + 1))
    for c in cfg.councils:
        r = clean.get(c)
        if not r:
            L.append(f"| {c} | " + " | ".join("not run" for _ in cfg.months) + " | |")
            continue
        by_month = {m["month"]: m for m in r.get("months", [])}
        cells = [clean_cell(by_month[m]) if m in by_month else "not run" for m in cfg.months]
        gen = r.get("generate", {})
        L.append(f"| {c} | " + " | ".join(cells) + f" | {gen.get('seconds', '?')} s"
                 + ("" if gen.get("exit") == 0 else f" **exit {gen.get('exit')}**") + " |")
    L.append("")
    blocked_details = [(c, m) for c in cfg.councils for m in clean.get(c, {}).get("months", []) if m["exit"] != 0]
    gen_failures = [c for c in cfg.councils if clean.get(c, {}).get("error")]
    if blocked_details or gen_failures:
        L.append("### Why clean months were blocked")
        L.append("")
        for c in gen_failures:
            L.append(f"* **{c}**: {clean[c]['error']}")
            tail = clean[c].get("generate", {}).get("stderr_tail")
            if tail:
                L.append("  ```\n  " + tail[-1500:].replace("\n", "\n  ") + "\n  ```")
        for c, m in blocked_details:
            L.append(f"* **{c} {m['month']}**: {m['outcome']} (exit {m['exit']})")
            if m.get("rejection"):
                L.append(f"  * rejected: {md_escape(m['rejection'])}")
            for chk in m["failed_checks"]:
                L.append(f"  * `{chk['check_id']}` [{chk['severity']}]: {md_escape(chk['summary'])}")
            if m["exit"] not in (2, 3) or (m["exit"] == 3 and not m["failed_checks"]):
                L.append("  ```\n  " + (m.get("stderr_tail") or "")[-2000:].replace("\n", "\n  ") + "\n  ```")
        L.append("")

    # fault matrix
    if cfg.faults:
        L.append("## Faults")
        L.append("")
        L.append(f"Month {cfg.months[-1]} run once per fault from the warehouse as published after "
                 f"{cfg.months[-2] if len(cfg.months) > 1 else '(nothing)'}. A cell names what stopped it: "
                 "`rejected: <kind>` (the extract was refused at ingest; kind from the message: manifest, "
                 "header, format, files) or `held: <check families>` (a blocking check failed). **MISSED** "
                 "means published (or crashed, or published files changed). † marks a hold by the same "
                 "check(s) that also held the clean month, so not necessarily the fault's doing.")
        L.append("")
        L.append("| fault | " + " | ".join(cfg.councils) + " |")
        L.append("|---|" + "---|" * len(cfg.councils))
        for f in cfg.faults:
            cells = []
            for c in cfg.councils:
                r = faults.get(c, {}).get(f)
                cell = r.get("cell", "?") if r else "not run"
                cells.append(cell if r and r.get("stopped") else f"**{cell}**")
            L.append(f"| `{f}` | " + " | ".join(cells) + " |")
        L.append("")
        L.append("### Per fault")
        L.append("")
        for f in cfg.faults:
            by: dict[str, list[str]] = {}
            missed: list[str] = []
            for c in cfg.councils:
                r = faults.get(c, {}).get(f)
                if r and r.get("stopped"):
                    key = (f"rejected: {r.get('rejection_kind', '?')}" if r["exit"] == 2
                           else "held: " + (", ".join(families(r)) or "?"))
                    by.setdefault(key, []).append(c)
                else:
                    missed.append(c)
            n = len(cfg.councils)
            parts = [f"{k} ({len(v)}/{n})" for k, v in sorted(by.items(), key=lambda kv: -len(kv[1]))]
            line = f"* **`{f}`** — {cfg.registry.faults.get(f, '(no description)')}. Caught by: " + (
                "; ".join(parts) if parts else "nothing")
            if missed:
                line += f". **Missed** in: {', '.join(missed)}"
            L.append(line + ".")
        L.append("")
        misses = [(c, f, faults.get(c, {}).get(f) or {}) for c in cfg.councils for f in cfg.faults
                  if not (faults.get(c, {}).get(f) or {}).get("stopped")]
        if misses:
            L.append("### Misses in detail")
            L.append("")
            for c, f, r in misses:
                L.append(f"* **{c} x `{f}`**: {r.get('cell', 'not run')}; exit {r.get('exit')}, "
                         f"published unchanged: {r.get('published_unchanged')}")
                if r.get("published_changes"):
                    L.append(f"  * published changes ({r.get('published_changes_count')}): "
                             + md_escape(", ".join(r["published_changes"][:8])))
                if r.get("warnings"):
                    L.append(f"  * warned (did not block): {md_escape(', '.join(r['warnings']))}")
                if r.get("outcome") in ("crash", "timeout", "killed", "generate failed", "harness error"):
                    tail = r.get("stderr_tail") or r.get("generate", {}).get("stderr_tail") or r.get("error") or ""
                    L.append("  ```\n  " + tail[-2000:].replace("\n", "\n  ") + "\n  ```")
            L.append("")
        odd = [(c, f) for c in cfg.councils for f in cfg.faults
               if faults.get(c, {}).get(f, {}).get("earlier_months_identical") is False]
        if odd:
            L.append(f"Note: for {len(odd)} pair(s) the generator's months before {cfg.months[-1]} differed between "
                     "the clean and the faulty generation (faults should touch the last month only); the clean "
                     "ones were used: " + ", ".join(f"{c} x {f}" for c, f in odd) + ".")
            L.append("")

    # timing
    L.append("## Timing")
    L.append("")
    runs = [m["seconds"] for c in cfg.councils for m in clean.get(c, {}).get("months", [])]
    fruns = [r["run_seconds"] for c in cfg.councils for r in faults.get(c, {}).values() if "run_seconds" in r]
    funits = [r["seconds"] for c in cfg.councils for r in faults.get(c, {}).values() if "seconds" in r]
    gens = [clean[c]["generate"]["seconds"] for c in cfg.councils if clean.get(c, {}).get("generate")]

    def stat(xs: list[float]) -> str:
        return (f"median {statistics.median(xs):.1f} s, min {min(xs):.1f}, max {max(xs):.1f} (n = {len(xs)})"
                if xs else "-")

    L.append(f"* `run --month`, clean months: {stat(runs)}")
    L.append(f"* `run --month`, faulty month: {stat(fruns)}")
    L.append(f"* one fault unit (generate the range with the fault, restore the snapshot, run): {stat(funits)}")
    L.append(f"* `generate`, clean range of {len(cfg.months)} months: {stat(gens)}")
    L.append(f"* wall time {meta['total_minutes']} min with {cfg.jobs} job(s)")
    L.append("")
    L.append("## Method")
    L.append("")
    L.append("* Only the command line is used: `csc-warehouse generate` and `csc-warehouse run --month`, "
             "one child process per command; exit 0 published, 2 rejected, 3 held, anything else a crash.")
    L.append("* Held months: the failed checks are the rows with status `failed` of the month's latest run in "
             "`quality.check_results` of `<home>/private/warehouse.duckdb` (read-only, after the run), plus failing "
             "dbt tests from the run's `quality_report.csv`. Rejections: the run's own `FAILED -` message.")
    probes = {c: clean[c]["range_probe"] for c in cfg.councils if clean.get(c, {}).get("range_probe")}
    same = [c for c, pr in probes.items() if pr["last_month_identical"]]
    differ = [c for c, pr in probes.items() if not pr["last_month_identical"]]
    if not probes:
        L.append("* Each faulty generation covers the same months as the clean one (faults touch its last month).")
    else:
        text = (f"* Range probe: month {cfg.months[-1]} generated alone with the month before it "
                f"({cfg.months[-2]}..{cfg.months[-1]}) compared with the clean generation of the whole range: ")
        if differ:
            text += (f"**different bytes** for {', '.join(differ)} (the generator simulates the span it is given), "
                     "so those councils' faulty generations cover the whole range again")
        if same:
            text += ("; " if differ else "") + (f"identical for {', '.join(same)}, so their faulty generations "
                                                 f"cover only {cfg.months[-2]}..{cfg.months[-1]}")
        L.append(text + ". The months before the faulty one are compared with the clean ones for every pair "
                 "(they should be byte-identical) and the clean ones are used.")
    L.append("* The snapshot is a copy of the whole home (Dagster instance, working and published warehouse) "
             "taken after the second-last month; each fault runs in its own copy, whose `dagster/dagster.yaml` "
             "is pointed at the copy's own event-log folder. *Published unchanged* compares path + SHA-256 of "
             "every file under `<home>/published` with the snapshot.")
    L.append("")
    cfg.results_md.write_text("\n".join(L) + "\n")


# --------------------------------------------------------------------------------------------


def parse_list(text: str | None, known: list[str], what: str, default: list[str] | None = None) -> list[str]:
    if text is None:
        return list(known if default is None else default)
    if text.strip().lower() in ("", "none"):
        return []
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"gate_eval: unknown {what} {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        raise SystemExit(2)
    return list(dict.fromkeys(names))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--councils", help="comma-separated council names (default: every council in COUNCILS; "
                    "sampled-1 .. sampled-90 when named)")
    ap.add_argument("--faults", help="comma-separated fault names, or 'none' (default: every fault in FAULTS)")
    ap.add_argument("--months", type=int, default=6, help="M: clean months before the faulty one (default 6)")
    ap.add_argument("--first", default="2023-01", help="first extract month, YYYY-MM (default 2023-01)")
    ap.add_argument("--scale", type=float, default=1.0, help="generator scale, times each council's profile "
                                                             "(default 1.0)")
    ap.add_argument("--seed", type=int, default=42, help="--seed of every generate; the generator derives each "
                                                         "council's simulation seed from it (default 42)")
    ap.add_argument("--jobs", type=int, default=2, help="units run in parallel (default 2)")
    ap.add_argument("--run-timeout", type=float, default=1800.0,
                    help="seconds before a single command is killed and recorded as a crash (default 1800; 0: none)")
    ap.add_argument("--keep", action="store_true", help="keep bench/gate_work/ folders (extracts, homes, logs)")
    ap.add_argument("--out", default=RESULTS, help=f"write bench/OUT.json and bench/OUT.md (default {RESULTS})")
    args = ap.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9_-]+", args.out):
        ap.error("--out is a file name stem under bench/: letters, digits, _ and -")
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.first):
        ap.error("--first must be YYYY-MM")
    if args.months < 1 or args.jobs < 1 or args.scale <= 0:
        ap.error("--months and --jobs must be at least 1, --scale positive")

    try:
        registry = load_registry(args.seed)
    except Exception as exc:  # councils.py half-written, faults.py broken ...
        print(f"gate_eval: could not read the councils or faults registry: {type(exc).__name__}: {exc}",
              file=sys.stderr)
        return 2
    councils = parse_list(args.councils, list(registry.councils), "council(s)", hand_written(registry))
    if not registry.cli_has_council:
        others = [c for c in councils if c != registry.default_council]
        if others:
            print(f"gate_eval: cannot generate {', '.join(others)}: `csc-warehouse generate` has no --council "
                  "option yet (councils.py " + ("exists" if registry.councils_module else "does not exist")
                  + ")", file=sys.stderr)
            return 2
    faults = parse_list(args.faults, list(registry.faults), "fault(s)")
    if not councils:
        ap.error("no council to evaluate")
    if registry.note:
        say(f"note: {registry.note}")

    cfg = Config(councils, faults, months_from(args.first, args.months + 1), args.scale, args.seed, args.jobs,
                 args.keep, args.run_timeout or None, registry, args.out)
    exe = Path(sys.executable)
    command = " ".join(shlex.quote(a) for a in [rel(exe) if exe.is_absolute() else str(exe),
                                                rel(Path(__file__).resolve()), *sys.argv[1:]])
    started, t0 = datetime.now(UTC), time.perf_counter()
    meta: dict[str, Any] = {"command": command, "started": f"{started:%Y-%m-%d %H:%M:%S}", "git": git_info(),
                            "machine": machine_info(), "registry_note": registry.note,
                            "cli_has_council": registry.cli_has_council, "councils_module": registry.councils_module}
    WORK.mkdir(parents=True, exist_ok=True)
    say(f"evaluating {len(councils)} council(s) x {len(cfg.months)} clean months and {len(faults)} fault(s), "
        f"{cfg.months[0]}..{cfg.months[-1]}, scale {cfg.scale}, {cfg.jobs} job(s); work in {rel(WORK)}/")

    def on_term(signum, frame):  # `kill` of this script: stop its runs too, as Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    clean, fault_results, interrupted = evaluate(cfg)
    with contextlib.suppress(OSError):
        WORK.rmdir()  # only when empty

    meta["finished"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S}"
    meta["total_seconds"] = round(time.perf_counter() - t0, 1)
    meta["total_minutes"] = round(meta["total_seconds"] / 60, 1)
    meta["interrupted"] = interrupted
    summary = summarise(cfg, clean, fault_results)
    write_report(cfg, meta, clean, fault_results, summary)
    share = summary["fault_stop_share"]
    say(f"(a) clean months blocked: {summary['clean_months_blocked']}/{summary['clean_months_run']} -> "
        f"{'met' if summary['target_a_met'] else 'NOT met'}; (b) faults stopped: {summary['fault_pairs_stopped']}/"
        f"{summary['fault_pairs']}" + (f" = {share:.1%}" if share is not None else "")
        + f" -> {({None: 'not evaluated', True: 'met', False: 'NOT met'})[summary['target_b_met']]}")
    say(f"wrote {rel(cfg.results_md)} and {rel(cfg.results_json)} ({meta['total_minutes']} min)")
    if interrupted:
        return 130
    return 0 if summary["target_a_met"] and summary["target_b_met"] is not False else 1


if __name__ == "__main__":
    sys.exit(main())
