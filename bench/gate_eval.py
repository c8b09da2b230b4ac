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
folders are deleted when it is done unless ``--keep``. What is evaluated (the registries, the
configuration) is ``bench/gate_config.py``; the summary and the report, ``bench/gate_report.py``.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import csv
import dataclasses
import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from benchlib import BENCH, CLI, REPO, months_from, rel  # beside this script, as the two below
from gate_config import RESULTS, Config, council_seed, hand_written, load_registry
from gate_report import families, git_info, machine_info, summarise, write_report

WORK = BENCH / "gate_work"
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
