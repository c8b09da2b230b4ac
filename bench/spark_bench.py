#!/usr/bin/env python
"""DuckDB against Spark (local mode) on the same councils' data: where each engine wins.

For each council (``--councils``: names, or a number N for the regional bench's first N councils,
bench/region_bench.py; by default three of different sizes), ``--months`` monthly extracts
are generated at ``--scale`` and loaded with the real ingest into a DuckDB file (the raw layer), with
a benchmark pseudonymisation key as the table ``private.pseudonym_key`` (the engine tests' raw layer:
tests/engine_helpers.raw_layer). Then, measured from outside (wall, CPU, peak RSS of the process tree;
run_bench's ``run_measured``):

* the floor: DuckDB parsing every column of the latest month's CSV files once;
* ``dbt build`` on DuckDB (``--exclude-resource-type unit_test``: models, seeds, data tests);
* the raw layer exported as Parquet and registered in Spark (``register_parquet_tables``: starts
  Spark's JVM), replacing the previous council's, as a region moving to Spark would load it;
* the same ``dbt build`` on Spark, in one catalog for every council (tests/test_spark.py's setup).

Every figure of Spark's ``fct_scorecard`` (read from the Parquet Spark stored) is compared with
DuckDB's. Results: ``bench/spark_results.{json,md}``. Needs ``make spark-env`` and Java 17 or later.

Usage (``make bench-spark``)::

    .venv/bin/python bench/spark_bench.py [--councils bradford,eastborough,northshire | N] [--scale 1] [--months 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from benchlib import (  # beside this script (and puts the checkout on sys.path), as the three below
    BENCH,
    GB,
    environment,
    months_from,
    report_header,
    shift_month,
)
from measure import load_average, measured_dict, run_measured
from region_bench import bench_councils, fit
from run_bench import FLOOR_SCRIPT

from dagster_project.contract import parse_month
from dagster_project.extracts.generator.councils import council_profile
from tests.engine_helpers import (
    DBT,
    DBT_SPARK,
    SCORECARD_SQL,
    dbt_command,
    raw_layer,
    scorecard,
)
from tests.pipeline_helpers import TEST_KEY
from tests.test_spark import export_parquet, java_version

BUILD = ["build", "--exclude-resource-type", "unit_test"]


def measured_step(council: str, step: str, cmd: list[str], log: Path, env: dict[str, str] | None = None) -> dict:
    """One command, measured; a failure stops the benchmark at once, naming the step and its log."""
    measured = measured_dict(run_measured(cmd, log, env=env))
    if measured["returncode"] != 0:
        raise SystemExit(f"{council}: {step} failed (exit {measured['returncode']}): see {log}")
    return measured


def bench_council(council: str, months: list[str], scale: float, work: Path, spark_dir: Path) -> dict:
    work.mkdir(parents=True)
    logs = work / "logs"
    latest = parse_month(months[-1])
    extracts, db, loaded = raw_layer(work, [parse_month(m) for m in months], scale=scale, council=council)
    out: dict = {"council": council, "volume": council_profile(council).volume,
                 "rows": sum(t.rows_loaded for t in loaded.tables.values())}
    out["floor"] = measured_step(council, "floor", [sys.executable, "-c", FLOOR_SCRIPT, str(extracts / months[-1])],
                                 logs / "floor.log")
    duck_env = os.environ | {"DBT_TARGET": "duckdb", "CSC_WAREHOUSE_DB": str(db), "CSC_PSEUDONYM_KEY": TEST_KEY}
    out["duckdb build"] = measured_step(council, "duckdb build", dbt_command(BUILD, work / "duckdb", latest, DBT),
                                        logs / "duckdb.log", duck_env)
    t = time.perf_counter()
    parquet = work / "parquet"
    args = {"root": str(parquet), "schemas": export_parquet(db, parquet)}
    out["export parquet s"] = round(time.perf_counter() - t, 2)
    spark_env = os.environ | {"DBT_TARGET": "spark", "CSC_SPARK_DIR": str(spark_dir)}
    register = ["run-operation", "register_parquet_tables", "--args", json.dumps(args)]
    out["spark register"] = measured_step(council, "spark register",
                                          dbt_command(register, work / "spark-load", latest, DBT_SPARK),
                                          logs / "spark-register.log", spark_env)
    out["spark build"] = measured_step(council, "spark build", dbt_command(BUILD, work / "spark-build", latest,
                                                                           DBT_SPARK), logs / "spark-build.log",
                                       spark_env)
    stored = spark_dir / "warehouse" / "main.db" / "fct_scorecard" / "*.parquet"
    with duckdb.connect(str(db), read_only=True) as con:
        ours = scorecard(con.execute(SCORECARD_SQL).fetchall())
        theirs = scorecard(con.execute(SCORECARD_SQL.replace("main.fct_scorecard", f"read_parquet('{stored}')"))
                           .fetchall())
    out["figures"] = len(ours)
    out["figures differing"] = sum(ours.get(k) != theirs.get(k) for k in ours.keys() | theirs.keys())
    shutil.rmtree(extracts)
    shutil.rmtree(parquet)
    return out


def council_names(spec: str) -> list[str]:
    """``--councils``: a number N (the regional bench's first N councils) or names, comma-separated."""
    if spec.isdigit():
        return [c.name for c in bench_councils(int(spec))]
    return [council_profile(c).name for c in spec.split(",")]


def render(doc: dict) -> str:
    lines = [
        *report_header("csc-warehouse: DuckDB against Spark (local mode)", doc),
        f"{len(doc['councils'])} council{'s' * (len(doc['councils']) != 1)} "
        f"x {len(doc['months'])} months ({doc['months'][0]} .. {doc['months'][-1]}) "
        f"at scale {doc['scale']}: each council's raw layer loaded by the real ingest, then the same "
        "`dbt build --exclude-resource-type unit_test` (models, seeds, data tests) on each engine. Spark runs in "
        f"local mode on this machine's {doc['environment']['host_cpus']} cores with a 4 GB driver, one "
        "catalog for every council; registering a council's raw layer (Parquet) starts Spark's JVM.",
        "",
        "| council | volume | rows (latest month) | floor | DuckDB build: wall / CPU / peak RSS | Parquet export | "
        "Spark register | Spark build: wall / peak RSS | Spark / DuckDB (build) | figures equal |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in doc["councils"]:
        d, r, s = c["duckdb build"], c["spark register"], c["spark build"]
        lines.append(
            f"| {c['council']} | {c['volume']} | {c['rows']:,} | {c['floor']['wall_s']:.1f} s | "
            f"{d['wall_s']:.1f} s / {d['cpu_s']:.0f} s / {d['peak_rss_bytes'] / GB:.2f} GB | "
            f"{c['export parquet s']:.1f} s | "
            f"{r['wall_s']:.0f} s | {s['wall_s']:.0f} s / {s['peak_rss_bytes'] / GB:.2f} GB | "
            f"{s['wall_s'] / d['wall_s']:.1f} x | "
            + (f"all {c['figures']}" if not c["figures differing"] else f"**{c['figures differing']} differ**")
            + " |")
    fits = {engine: fit([(c["rows"], c[step]["wall_s"]) for c in doc["councils"]])
            for engine, step in (("DuckDB", "duckdb build"), ("Spark", "spark build"))}
    if all(fits.values()):
        fitted = "; ".join(f"{engine} {a:.1f} s + {b:.1f} s per million rows" for engine, (a, b) in fits.items())
        lines += ["", f"Build time fitted to the rows of the latest month (least squares over the councils): {fitted}."]
    duck = sum(c["duckdb build"]["wall_s"] for c in doc["councils"])
    spark = sum(c["spark build"]["wall_s"] + c["spark register"]["wall_s"] for c in doc["councils"])
    lines += [
        "",
        f"In all: DuckDB {duck:.0f} s, Spark {spark:.0f} s (register and build) for the same builds, "
        f"{spark / duck:.1f} x DuckDB's time. Spark's CPU time is not given: its JVM is not a child process "
        "that dbt waits for, so the operating system does not count it to the command. Peak RSS is the sum "
        "of the process tree's resident memory (dbt's Python and Spark's JVM, whose heap is capped at 4 GB by "
        "`spark.driver.memory`; the rest of the JVM's memory was not broken down).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--councils", default="bradford,eastborough,northshire",
                   help="council names, or N: the regional bench's first N councils (the six, then sampled-1 ...)")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--months", type=int, default=3)
    p.add_argument("--last", default="2023-12")
    p.add_argument("--work", type=Path, default=BENCH / "work" / "spark")
    p.add_argument("--out", type=Path, default=BENCH)
    p.add_argument("--render", action="store_true", help="only rewrite spark_results.md from its json")
    args = p.parse_args(argv)
    if args.render:
        doc = json.loads((args.out / "spark_results.json").read_text())
        (args.out / "spark_results.md").write_text(render(doc))
        return 0
    if not Path(DBT_SPARK).exists():
        p.error(f"{DBT_SPARK} is missing: run `make spark-env`")
    if (java_version() or 0) < 17:
        p.error("Spark 4 needs Java 17 or later on the PATH (apt-get install -y openjdk-17-jre-headless)")
    try:
        councils = council_names(args.councils)
    except ValueError as e:  # an unknown name or a number out of range
        p.error(str(e))
    months = months_from(shift_month(args.last, 1 - args.months), args.months)
    env = environment()
    shutil.rmtree(args.work, ignore_errors=True)
    spark_dir = args.work / "spark-state"
    loads, results = [load_average()], []
    doc = {
        "command": "make bench-spark" if argv is None and sys.argv[1:] == [] else
        ".venv/bin/python bench/spark_bench.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "environment": {**env, "date": datetime.now(UTC).isoformat(timespec="seconds")},
        "scale": args.scale, "months": months, "councils": results,
    }
    for council in councils:
        results.append(bench_council(council, months, args.scale, args.work / council, spark_dir))
        loads.append(load_average())
        last = results[-1]
        print(f"[spark bench {datetime.now():%H:%M:%S}] {council}: duckdb {last['duckdb build']['wall_s']:.0f} s, "
              f"spark {last['spark build']['wall_s']:.0f} s", flush=True)
        doc |= {"load_min": min(loads), "load_max": max(loads)}
        # after each council, so a later failure keeps what was measured
        (args.out / "spark_results.json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
        (args.out / "spark_results.md").write_text(render(doc))
    print(f"wrote {args.out / 'spark_results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
