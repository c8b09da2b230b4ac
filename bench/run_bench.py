#!/usr/bin/env python
"""The csc-warehouse benchmark: national-size extracts through the real pipeline, measured.

One run of this script measures:

0. *imports*: importing the code location alone (the floor of a month's fixed cost);
1. for each scale (default 0.01, 1, 10 and 70; 1 = Bradford, about 70 = England; a scale below 1
   is the *fixed-cost probe*: the same pipeline on a month of a few thousand rows, run after a
   first month, so what is left is the cost that does not depend on the data):

   a. *generate*: ``csc-warehouse generate`` writes ``--months`` monthly extracts (full-refresh
      snapshots of the 6-year window) into ``bench/work/extracts/s<scale>/``;
   b. *floor*: DuckDB reads every CSV file of the latest month once (every column parsed, types
      auto-detected, all cores): the least any pipeline could spend on the same bytes;
   c. *pipeline*: ``csc-warehouse run`` (the command users run, so the same code path: Dagster job
      ``csc_monthly``: ingest -> dbt build -> checks -> publish) for each earlier month (set-up, so
      the latest month has the history a real month has), then for the latest month, measured
      ``--repeat`` times (``--force`` after the first) into a fresh home under ``bench/work/homes/``;

2. *backfill*: ``run --all`` over ``--backfill-months`` months (the demo's 13 at scale 1) in a fresh
   home, against one more month's run in that home.

Every command runs as a child process and is measured from outside: wall time, CPU time, and the
peak resident memory of its whole process tree (the sum of RSS over the process and all its
descendants, sampled every 50 ms, so shared pages count once per process: an upper bound).
Stage times come from the run's own Dagster event log (step start/end), dbt's split from its
run_results.json and log. Results go to ``bench/results.json`` and ``bench/results.md``; the
targets of issue 17 are checked and reported as met or not (issue 7's run is the baseline in
``bench/before_after.md``). ``bench/measure.py`` measures a command; ``bench/bench_report.py`` judges
the targets and writes the report; this script runs the phases.

Usage (``make bench`` runs the default)::

    .venv/bin/python bench/run_bench.py [--scales 0.01,1,10,70] [--months 1] [--repeat 3]

The machine is shared, so the report also records the load average around every measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

from bench_report import (  # beside this script, as the two below
    BRADFORD_SCALE,
    IMPORTS_SCRIPT,
    PROBE_MONTHS,
    ScaleResult,
    check_targets,
    render_markdown,
)
from benchlib import BENCH, CLI, GB, REPO, environment, months_from, shift_month
from measure import GUARD, Measured, load_average, measured_dict, run_measured

TIME_RE = re.compile(r"(\d\d:\d\d:\d\d\.\d+)")
STEP_NAMES = {
    "ssd_extract": "ingest",
    "raw_quality": "raw checks",
    "csc_dbt_models": "dbt build",
    "scorecard_quality": "scorecard checks",
    "published__scorecard": "publish",
}


# --------------------------------------------------------------------------------------------
# what a run did: Dagster event log, dbt artefacts (read in a child process: see main)


def read_run(home: Path, month: str) -> dict:
    """Stage timings of the latest run of ``month`` in ``home``'s Dagster instance, and dbt's split."""
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    from dagster import DagsterInstance, RunsFilter

    with DagsterInstance.get() as instance:
        runs = instance.get_runs(RunsFilter(tags={"dagster/partition": month}), limit=1)
        if not runs:
            return {}
        run = runs[0]
        records = instance.all_logs(run.run_id)
    steps: dict[str, dict[str, float]] = {}
    kinds: dict[str, int] = {}
    for rec in records:
        if not rec.is_dagster_event:
            continue
        kind = rec.dagster_event.event_type_value
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "STEP_START":
            steps.setdefault(rec.step_key, {})["start"] = rec.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            steps.setdefault(rec.step_key, {})["end"] = rec.timestamp
    out = {
        "run_id": run.run_id,
        "status": run.status.value,
        "run_created": records[0].timestamp if records else None,
        "steps": steps,
        "dagster_events": len(records),
        "event_kinds": kinds,
    }
    target = home / "private" / "dbt-target" / run.run_id[:8]
    out["dbt"] = read_dbt(target)
    return out


def read_dbt(target: Path) -> dict:
    """Node counts and times from run_results.json, parse/execute split from dbt.log."""
    results = target / "run_results.json"
    if not results.exists():
        return {}
    data = json.loads(results.read_text())
    by_type: dict[str, dict[str, float]] = {}
    for r in data["results"]:
        kind = r["unique_id"].split(".")[0]
        agg = by_type.setdefault(kind, {"nodes": 0, "seconds": 0.0})
        agg["nodes"] += 1
        agg["seconds"] += r["execution_time"]
    slowest = sorted(data["results"], key=lambda r: -r["execution_time"])[:8]
    out = {
        "nodes": len(data["results"]),
        "execute_s": data["elapsed_time"],
        "by_type": by_type,
        "slowest": [{"node": r["unique_id"].split(".", 2)[-1], "seconds": round(r["execution_time"], 2)}
                    for r in slowest],
    }
    log = target / "dbt.log"
    if log.exists():
        marks = {}
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{"):  # dagster-dbt runs dbt with --log-format json
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    info = json.loads(line)["info"]
                    line = f"{info['ts']} {info['msg']}"
            for key, needle in (("start", "Running with dbt="), ("parsed", "Found "),
                                ("finished", "Finished running ")):
                stamp = TIME_RE.search(line)
                if needle in line and key not in marks and stamp:
                    marks[key] = datetime.strptime(stamp.group(1)[:15], "%H:%M:%S.%f")
        if {"start", "parsed"} <= marks.keys():
            out["startup_and_parse_s"] = round((marks["parsed"] - marks["start"]).total_seconds(), 2)
    return out


# --------------------------------------------------------------------------------------------
# the benchmark



def month_list(last: str, n: int) -> list[str]:
    """The ``n`` months up to ``last``."""
    return months_from(shift_month(last, 1 - n), n)


def manifest_rows(folder: Path) -> int:
    manifest = json.loads((folder / "manifest.json").read_text())
    return sum(int(f["rows"]) for f in manifest["files"].values())


FLOOR_SCRIPT = """
import duckdb, glob, sys, time
con = duckdb.connect()
con.execute("set enable_progress_bar = false")
rows = 0
for path in sorted(glob.glob(sys.argv[1] + "/*.csv")):
    # every column parsed (count of each column), types auto-detected, as DuckDB reads CSV
    quoted = path.replace("'", "''")
    sql = f"select count(*), count(columns(*)) from read_csv('{quoted}', header = true)"
    rows += con.execute(sql).fetchone()[0]
print(rows)
"""


def measure_run(extracts: Path, home: Path, month: str, logs: Path, tag: str, force: bool = False) -> dict:
    """``run --month`` (``--force`` to run a month the home has already published again), measured."""
    cmd = [CLI, "run", "--extracts", str(extracts), "--home", str(home), "--month", month] + (
        ["--force"] if force else [])
    measured = run_measured(cmd, logs / f"run-{month}-{tag}.log")
    reader = subprocess.run([sys.executable, __file__, "--read-run", str(home), month],
                            capture_output=True, text=True, check=False, cwd=REPO)
    info = json.loads(reader.stdout or "{}") if reader.returncode == 0 else {}
    times = stage_times(measured, info)
    return {"measured": measured_dict(measured), **times, "peak_rss_by_stage": stage_peaks(measured, info),
            "run": info}


def stage_peaks(m: Measured, info: dict) -> dict[str, float]:
    """Peak process-tree RSS (GB) within each stage's time window."""
    steps = info.get("steps") or {}
    windows = {"start-up": (m.started, info.get("run_created") or m.started)}
    for key, name in STEP_NAMES.items():
        s = steps.get(key, {})
        if "start" in s:
            windows[name] = (s["start"], s.get("end", m.ended))
    out = {}
    for name, (a, b) in windows.items():
        inside = [rss for t, rss in m.samples if a <= t <= b]
        if inside:
            out[name] = round(max(inside) / GB, 2)
    return out


def stage_times(m: Measured, info: dict) -> dict:
    """Wall seconds per stage from the process's start/end and the run's step events."""
    steps = info.get("steps") or {}
    stages: dict[str, float] = {}
    if not steps or info.get("run_created") is None:
        return {"stages": stages, "startup_s": None}
    first_start = min(s["start"] for s in steps.values() if "start" in s)
    last_end = max(s.get("end", s.get("start", 0)) for s in steps.values())
    stages["start-up (imports, definitions)"] = info["run_created"] - m.started
    stages["run set-up (Dagster plans the run)"] = first_start - info["run_created"]
    busy = 0.0
    for key, name in STEP_NAMES.items():
        s = steps.get(key, {})
        if "start" in s and "end" in s:
            stages[name] = s["end"] - s["start"]
            busy += stages[name]
    stages["between steps"] = (last_end - first_start) - busy
    stages["shut-down"] = m.ended - last_end
    startup = stages["start-up (imports, definitions)"] + stages["run set-up (Dagster plans the run)"]
    return {"stages": {k: round(v, 2) for k, v in stages.items()}, "startup_s": round(startup, 2)}


def failure(m: dict) -> str:
    return m["aborted"] or f"exit {m['returncode']}"


def bench_scale(scale: float, months: list[str], args, log: callable) -> ScaleResult:
    tag = f"s{scale:g}"
    extracts = args.work / "extracts" / tag
    home = args.work / "homes" / tag
    logs = args.work / "logs" / tag
    if scale < BRADFORD_SCALE and len(months) < PROBE_MONTHS:
        months = month_list(months[-1], PROBE_MONTHS)
    res = ScaleResult(scale, months)
    latest = months[-1]

    # 1. generate (always from scratch: the generator's speed is measured)
    if not (args.reuse_extracts and all((extracts / m / "manifest.json").exists() for m in months)):
        shutil.rmtree(extracts, ignore_errors=True)
        log(f"scale {scale:g}: generating {months[0]}..{latest}")
        m = run_measured([CLI, "generate", "--out", str(extracts), "--first", months[0], "--last", latest,
                          "--seed", str(args.seed), "--scale", f"{scale:g}"], logs / "generate.log")
        if m.returncode:
            res.failed = f"generate failed ({m.aborted or 'exit ' + str(m.returncode)}), see {m.log}"
            res.generate = {"measured": measured_dict(m)}
            return res
        rows = sum(manifest_rows(extracts / mo) for mo in months)
        res.generate = {"measured": measured_dict(m), "rows": rows, "rows_per_s": rows / m.wall_s}
    else:
        log(f"scale {scale:g}: reusing extracts in {extracts}")
    res.rows_generated = sum(manifest_rows(extracts / mo) for mo in months)
    res.rows_latest_month = manifest_rows(extracts / latest)
    res.csv_bytes_latest_month = sum(p.stat().st_size for p in (extracts / latest).glob("*.csv"))

    # 2. the floor: DuckDB reads the latest month's files once
    log(f"scale {scale:g}: floor (DuckDB reads {latest}'s CSV files once)")
    floor_cmd = [sys.executable, "-c", FLOOR_SCRIPT, str(extracts / latest)]
    floors = [run_measured(floor_cmd, logs / f"floor-{i}.log") for i in range(args.floor_repeat)]
    best = min(floors, key=lambda f: f.wall_s)
    res.floor = {"measured": [measured_dict(f) for f in floors], "wall_s": best.wall_s,
                 "rows_per_s": res.rows_latest_month / best.wall_s}

    # 3. the pipeline: earlier months as set-up, then the latest month, measured
    shutil.rmtree(home, ignore_errors=True)
    for mo in months[:-1]:
        log(f"scale {scale:g}: set-up run of {mo}")
        run = measure_run(extracts, home, mo, logs, "setup")
        res.setup_runs.append(run)
        m = run["measured"]
        log(f"  {m['wall_s']:.1f}s wall, peak RSS {m['peak_rss_bytes'] / GB:.2f} GB")
        if m["returncode"]:
            res.failed = f"set-up run of {mo} failed ({failure(m)}), see {m['log']}"
            return res
    repeat = args.repeat if scale <= args.repeat_max_scale else 1
    for i in range(repeat):
        log(f"scale {scale:g}: run of {latest} ({i + 1}/{repeat})")
        run = measure_run(extracts, home, latest, logs, f"{i + 1}", force=i > 0)
        res.runs.append(run)
        if run["measured"]["returncode"]:
            m = run["measured"]
            res.failed = f"run of {latest} failed ({failure(m)}), see {m['log']}"
            return res
        m = run["measured"]
        log(f"  {m['wall_s']:.1f}s wall, peak RSS {m['peak_rss_bytes'] / GB:.2f} GB, stages {run['stages']}")

    walls = [r["measured"]["wall_s"] for r in res.runs]
    median_run = sorted(res.runs, key=lambda r: r["measured"]["wall_s"])[len(res.runs) // 2]
    res.summary = {
        "e2e_wall_s": statistics.median(walls),
        "e2e_wall_all_s": [round(w, 2) for w in walls],
        "e2e_cpu_s": median_run["measured"]["cpu_s"],
        "load": (median_run["measured"]["load_before"] + median_run["measured"]["load_after"]) / 2,
        "startup_s": median_run["startup_s"],
        "e2e_excl_startup_s": median_run["measured"]["wall_s"] - (median_run["startup_s"] or 0.0),
        "peak_rss_bytes": max(r["measured"]["peak_rss_bytes"] for r in res.runs),
        "rows_per_s": res.rows_latest_month / statistics.median(walls),
        "floor_s": res.floor["wall_s"],
        "e2e_over_floor": statistics.median(walls) / res.floor["wall_s"],
        "stages": median_run["stages"],
        "peak_rss_by_stage": median_run.get("peak_rss_by_stage", {}),
        "dbt": (median_run.get("run") or {}).get("dbt", {}),
        "dagster_events": (median_run.get("run") or {}).get("dagster_events"),
    }
    if not args.keep_data:
        shutil.rmtree(extracts, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    return res


def bench_imports(args, log: callable) -> dict:
    """What importing the code location costs (the floor of a month's fixed cost)."""
    log("imports: python -c 'import dagster_project.definitions'")
    runs = [run_measured([sys.executable, "-c", IMPORTS_SCRIPT], args.work / "logs" / f"imports-{i}.log")
            for i in range(2)]
    best = min(runs, key=lambda m: m.cpu_s)
    return {"measured": [measured_dict(m) for m in runs], "cpu_s": best.cpu_s, "wall_s": best.wall_s}


def bench_backfill(args, log: callable) -> dict:
    """``run --all`` over ``--backfill-months`` months in a fresh home, then the latest month once more
    (``--force``) in that home: what one more month costs a council with that history."""
    scale, months = args.backfill_scale, month_list(args.last, args.backfill_months)
    extracts, home = args.work / "extracts" / "backfill", args.work / "homes" / "backfill"
    logs = args.work / "logs" / "backfill"
    shutil.rmtree(home, ignore_errors=True)
    out: dict = {"scale": scale, "months": len(months), "first": months[0], "last": months[-1]}
    if not (args.reuse_extracts and all((extracts / m / "manifest.json").exists() for m in months)):
        shutil.rmtree(extracts, ignore_errors=True)
        log(f"backfill: generating {months[0]}..{months[-1]} at scale {scale:g}")
        gen = run_measured([CLI, "generate", "--out", str(extracts), "--first", months[0], "--last", months[-1],
                            "--seed", str(args.seed), "--scale", f"{scale:g}"], logs / "generate.log")
        if gen.returncode:
            return {**out, "failed": f"generate failed, see {gen.log}"}
    log(f"backfill: run --all over {len(months)} months")
    backfill = run_measured([CLI, "run", "--extracts", str(extracts), "--home", str(home), "--all"],
                            logs / "run-all.log")
    out["measured"] = measured_dict(backfill)
    if backfill.returncode:
        return {**out, "failed": f"run --all exit {backfill.returncode}, see {backfill.log}"}
    log(f"  {backfill.wall_s:.1f}s wall, {backfill.cpu_s:.1f}s CPU; one more month (--force {months[-1]})")
    one = measure_run(extracts, home, months[-1], logs, "one-month", force=True)
    out["one_month"] = one
    if one["measured"]["returncode"]:
        return {**out, "failed": f"the one-month run failed ({failure(one['measured'])})"}
    out.update(wall_s=backfill.wall_s, cpu_s=backfill.cpu_s, one_month_wall_s=one["measured"]["wall_s"],
               one_month_cpu_s=one["measured"]["cpu_s"])
    if not args.keep_data:
        shutil.rmtree(extracts, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scales", default="0.01,1,10,70",
                   help="comma-separated scales (1 = Bradford, 70 ~ England, below 1 = fixed-cost probe)")
    p.add_argument("--months", type=int, default=1, help="extract months per scale (the last is measured)")
    p.add_argument("--last", default="2023-12", help="the latest extract month, YYYY-MM")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--repeat", type=int, default=3, help="runs of the latest month (median reported) ...")
    p.add_argument("--repeat-max-scale", type=float, default=1, help="... at scales up to this one")
    p.add_argument("--guard-rss-gb", type=float, default=GUARD["max_tree_rss"] / GB,
                   help="stop a command whose process tree grows beyond this (shared machine)")
    p.add_argument("--guard-available-gb", type=float, default=GUARD["min_available"] / GB,
                   help="stop a command when the machine has less than this available")
    p.add_argument("--backfill-months", type=int, default=13,
                   help="months of the backfill phase (run --all; 0 skips it), ending at --last")
    p.add_argument("--backfill-scale", type=float, default=1.0, help="the backfill phase's scale")
    p.add_argument("--floor-repeat", type=int, default=2, help="floor measurements (the best is kept)")
    p.add_argument("--work", type=Path, default=BENCH / "work", help="generated data and homes (gitignored)")
    p.add_argument("--out", type=Path, default=BENCH, help="where results.json and results.md go")
    p.add_argument("--reuse-extracts", action="store_true", help="keep extracts found under --work")
    p.add_argument("--keep-data", action="store_true", help="keep extracts and homes after each scale")
    p.add_argument("--render", action="store_true", help="only rewrite results.md from results.json")
    p.add_argument("--read-run", nargs=2, metavar=("HOME", "MONTH"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.read_run:
        print(json.dumps(read_run(Path(args.read_run[0]), args.read_run[1]), default=str))
        return 0
    if args.render:
        doc = json.loads((args.out / "results.json").read_text())
        (args.out / "results.md").write_text(render_markdown(doc))
        return 0

    args.work = args.work.resolve()
    GUARD.update(max_tree_rss=args.guard_rss_gb * GB, min_available=args.guard_available_gb * GB)
    scales = [float(s) for s in args.scales.split(",")]
    months = month_list(args.last, args.months)
    loads: list[float] = [load_average()]

    def log(msg: str) -> None:
        loads.append(load_average())
        print(f"[bench {datetime.now():%H:%M:%S}] {msg}", flush=True)

    command = "make bench" if argv is None and sys.argv[1:] == [] else (
        ".venv/bin/python bench/run_bench.py " + " ".join(sys.argv[1:] if argv is None else argv)).strip()
    results: list[ScaleResult] = []
    args.out.mkdir(parents=True, exist_ok=True)
    env = environment()  # the code measured: taken before anything is run or written
    extra: dict = {"imports": bench_imports(args, log)}
    phases = [("scale", scale) for scale in scales] + ([("backfill", None)] if args.backfill_months else [])
    for phase, scale in phases:
        if phase == "backfill":
            extra["backfill"] = bench_backfill(args, log)
        else:
            results.append(bench_scale(scale, months, args, log))
        loads.append(load_average())
        doc = {  # written after every phase, so a long run leaves its results as it goes
            "command": command,
            "environment": {**env, "date": datetime.now(UTC).isoformat(timespec="seconds")},
            "load_min": min(loads),
            "load_max": max(loads),
            "months": months,
            "scales": [asdict(r) for r in results],
            **extra,
            "targets": check_targets(results, extra),
            "complete": len(results) == len(scales) and ("backfill" in extra or not args.backfill_months),
            "date": date.today().isoformat(),
        }
        (args.out / "results.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
        (args.out / "results.md").write_text(render_markdown(doc))
    for t in doc["targets"]:
        print(f"{'MET ' if t['met'] else 'NOT MET'}  {t['target']}: {t['measured']} (limit {t['limit']})")
    print(f"wrote {args.out / 'results.md'} and {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
