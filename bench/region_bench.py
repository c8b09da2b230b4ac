#!/usr/bin/env python
"""The regional benchmark: a region's councils through ``run --all-councils``, measured.

``--councils`` councils (20 by default: the generator's six hand-written councils, then sampled-1,
sampled-2, ...; their volumes differ from 0.2 to 2.1 times Bradford's at the same scale, and their
mixes, recording and file styles differ) get ``--months`` monthly extracts in a region's layout
(``<root>/<la_code>/<YYYY-MM>/``); then, each in a fresh region home:

1. ``run --all-councils`` with one council at a time (the default), and
2. ``run --all-councils --jobs 2`` (``--jobs`` lists the job counts run);

each measured from outside (wall time, CPU time, peak RSS of the whole process tree; run_bench's
``run_measured``), with every council-month's own run read back from its Dagster instance (its wall
time, from the run's first to its last event, and its stages). Then ``run --all-councils`` once more
with nothing pending: what pooling the councils' published figures and publishing the benchmark
costs on its own.

From the council-months it fits time = a + b x rows (least squares): ``a`` is what a month costs
whatever its size, ``b`` what each row adds; with them, docs/scaling.md says how many councils and
months one machine holds. Linear in councils means a council's month costs no more for the councils
run before it: fitting time = a + b x rows + c x position (the council's place in the run), issue 18's
"20 councils <= 22 x one council's data-dependent time" is 1 + c x sum(positions) / sum(b x rows)
<= 1.1 (``linearity``). Results: ``bench/region_results.{json,md}``.

``--reverse`` runs the same councils one at a time in the reverse of ``run --all-councils``'s
order, each council's own command as ``run --all-councils`` starts it (``council_command`` and
``council_env`` of dagster_project/cli/region.py), so a council's place in the run is no longer
tied to its LA code (the hand-written councils first, the sampled ones last): whether a later
place costs more because of the place or because of the councils there. Results:
``bench/region_results_reverse.{json,md}``.

Usage (``make bench-region``)::

    .venv/bin/python bench/region_bench.py [--councils 20] [--jobs 1,2] [--scale 1] [--months 3] [--last 2023-12]
    .venv/bin/python bench/region_bench.py --reverse [--councils 20] ...
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
from benchlib import (  # beside this script (and puts the checkout on sys.path), as the two below
    BENCH,
    CLI,
    GB,
    REPO,
    environment,
    months_from,
    report_header,
    shift_month,
)
from measure import load_average, measured_dict, run_measured
from run_bench import manifest_rows

from dagster_project.extracts.generator.councils import COUNCILS, CouncilProfile
from dagster_project.extracts.generator.sampled import SAMPLED_COUNT, sampled_council
from dagster_project.publish.wap import published_months
from dagster_project.settings import HomePaths

LINEAR_LIMIT = 1.1  # issue 18: 20 councils <= 22 x one council's data-dependent time


def bench_councils(count: int) -> list[CouncilProfile]:
    """The hand-written councils, then as many sampled ones as ``count`` needs; ValueError beyond them."""
    most = len(COUNCILS) + SAMPLED_COUNT
    if not 1 <= count <= most:
        raise ValueError(f"--councils {count}: the bench has 1 to {most} councils")
    written = list(COUNCILS.values())
    return written[:count] + [sampled_council(n) for n in range(1, count - len(written) + 1)]


def read_months(home: Path, months: list[str]) -> dict[str, dict]:
    """Each month's run in a council's home: its wall time and stages (run_bench's reader, in a child
    process: it opens that home's Dagster instance)."""
    out = {}
    for month in months:
        reader = subprocess.run([sys.executable, str(BENCH / "run_bench.py"), "--read-run", str(home), month],
                                capture_output=True, text=True, check=True, cwd=REPO)
        info = json.loads(reader.stdout or "{}")
        steps = info.get("steps") or {}
        ends = [s["end"] for s in steps.values() if "end" in s]
        if info.get("run_created") is None or not ends:
            continue
        out[month] = {"status": info["status"], "run_s": round(max(ends) - info["run_created"], 2),
                      "steps_s": {k: round(s["end"] - s["start"], 2) for k, s in steps.items() if "end" in s}}
    return out


def extract_rows(folder: Path) -> int:
    """The rows of a month's extract: its manifest's count, or (a council whose extracts have no
    manifest) DuckDB's count of every CSV file's rows."""
    if (folder / "manifest.json").is_file():
        return manifest_rows(folder)
    files = sorted(str(f) for f in folder.glob("*.csv"))
    return sum(duckdb.sql(f"select count(*) from read_csv('{f}', header = true, all_varchar = true)").fetchall()[0][0]
               for f in files)


def run_order(profiles: list[CouncilProfile], reverse: bool = False) -> list[CouncilProfile]:
    """The order the councils ran: LA-code order (``run --all-councils``'s), or its reverse."""
    return sorted(profiles, key=lambda c: c.la_code, reverse=reverse)


def council_results(root: Path, homes: Path, months: list[str], profiles: list[CouncilProfile],
                    reverse: bool = False) -> list[dict]:
    """Each council's size and its months' runs (one at a time), in the order they ran."""
    return [{"name": profile.name, "la_code": profile.la_code, "volume": profile.volume,
             "rows": extract_rows(root / profile.la_code / months[-1]),
             "rows_by_month": {m: extract_rows(root / profile.la_code / m) for m in months},
             "runs": read_months(homes / profile.la_code, months),
             "published": sorted(set(published_months(HomePaths(homes / profile.la_code))) & set(months))}
            for profile in run_order(profiles, reverse)]


def fit(points: list[tuple[int, float]]) -> tuple[float, float] | None:
    """Least squares ``seconds = a + b * rows``: (a seconds, b seconds per million rows); None
    without two points."""
    n = len(points)
    if n < 2:
        return None
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0
    return my - b * mx, b * 1e6


def fitted_points(councils: list[dict], months: list[str]) -> list[tuple[int, int, float]]:
    """(position in the run, rows, seconds) of every council-month after each council's first (a
    first month also builds the council's home); councils are listed in the order they ran."""
    return [(i, c["rows_by_month"][m], r["run_s"]) for i, c in enumerate(councils) for m, r in c["runs"].items()
            if m != months[0]]


def linearity(councils: list[dict], months: list[str]) -> dict | None:
    """Does a council's month cost more the more councils ran before it? Least squares
    ``seconds = a + b * rows + c * position`` (position: 0 for the first council run): linear in
    councils is ``c`` = 0. The ratio puts ``c`` against the data-dependent time, as issue 18 does
    (20 councils <= 22 x one council's data-dependent time): the region's months' data-dependent
    time over what it would be if every council ran first, 1 + c x sum(positions) / sum(b x rows),
    with its standard error. None with too few council-months, or sizes, to tell."""
    points = fitted_points(councils, months)
    if len(points) < 6 or len({pos for pos, _, _ in points}) < 3:
        return None
    x = np.array([[1.0, rows / 1e6, pos] for pos, rows, _ in points])
    y = np.array([t for _, _, t in points])
    if np.linalg.matrix_rank(x) < 3:  # every council of one size: rows and position cannot be told apart
        return None
    (a, b, c), *_ = np.linalg.lstsq(x, y, rcond=None)
    residual_sd = float(np.sqrt(np.sum((y - x @ np.array([a, b, c])) ** 2) / (len(y) - 3)))
    c_se = residual_sd * float(np.sqrt(np.linalg.inv(x.T @ x)[2, 2]))
    data_s = b * float(x[:, 1].sum())
    positions = float(x[:, 2].sum())
    return {"position_s": round(float(c), 3), "position_se_s": round(c_se, 3), "residual_sd_s": round(residual_sd, 2),
            "ratio": round(1 + c * positions / data_s, 3), "ratio_se": round(c_se * positions / data_s, 3),
            "limit": LINEAR_LIMIT, "councils": len(councils)}


def derive(doc: dict) -> dict:
    """The fit of a month's time to its rows, and the linearity in councils, from the councils' runs."""
    points = [(rows, t) for _, rows, t in fitted_points(doc["councils"], doc["months"])]
    return doc | {"fit": fit(points), "linearity": linearity(doc["councils"], doc["months"])}


def region_run(root: Path, home: Path, logs: Path, tag: str, jobs: int) -> dict:
    cmd = [CLI, "run", "--extracts", str(root), "--home", str(home), "--all-councils", "--jobs", str(jobs)]
    m = run_measured(cmd, logs / f"region-{tag}.log")
    return measured_dict(m)


def reverse_run(root: Path, home: Path, logs: Path, profiles: list[CouncilProfile]) -> dict:
    """Every council's pending months, one council at a time in reverse LA-code order, each by the
    command ``run --all-councils`` starts for it; measured council by council and added up (wall,
    CPU), the peak the largest council's."""
    from dagster_project.cli.region import MonthOptions, council_command, council_env

    options = MonthOptions().resolved()
    total = {"wall_s": 0.0, "cpu_s": 0.0, "peak_rss_bytes": 0, "returncode": 0}
    for profile in run_order(profiles, reverse=True):
        m = measured_dict(run_measured(council_command(root, home, profile.la_code, options),
                                       logs / f"reverse-{profile.la_code}.log",
                                       env=council_env(os.environ, profile.la_code)))
        total["wall_s"] += m["wall_s"]
        total["cpu_s"] += m["cpu_s"]
        total["peak_rss_bytes"] = max(total["peak_rss_bytes"], m["peak_rss_bytes"])
        total["returncode"] = total["returncode"] or m["returncode"]
    return total


def render(doc: dict) -> str:
    runs = doc["runs"]
    one = runs["jobs 1"]
    council_months = sum(r["run_s"] for c in doc["councils"] for r in c["runs"].values())
    lines = [
        *report_header("csc-warehouse regional benchmark", doc),
        f"{len(doc['councils'])} demo councils ({', '.join(c['name'] for c in doc['councils'])}) "
        f"x {len(doc['months'])} months ({doc['months'][0]} .. "
        f"{doc['months'][-1]}) at scale {doc['scale']}, in a region's layout, "
        + ("each council run by the command `run --all-councils` starts for it, one at a time in the reverse of "
           "its order (its last councils first), into a fresh region home." if doc.get("reverse") else
           "run by `run --all-councils` into a fresh region home each time."),
        "",
        "| run | wall | CPU | peak RSS (process tree) | exit |",
        "|---|---|---|---|---|",
    ]
    for tag, m in runs.items():
        label = ("`run --all-councils` again, nothing pending: the benchmark only" if tag == "benchmark only" else
                 "each council's run, in reverse LA-code order" if doc.get("reverse") else
                 "`run --all-councils" + ("`" if tag == "jobs 1" else f" --{tag}`"))
        lines.append(f"| {label} | "
                     f"{m['wall_s']:.0f} s | {m['cpu_s']:.0f} s | {m['peak_rss_bytes'] / GB:.2f} GB | "
                     f"{m['returncode']} |")
    lines.append("")
    for tag, m in runs.items():
        if tag not in ("jobs 1", "benchmark only"):
            lines.append(f"{tag.split()[1]} councils at a time took {m['wall_s'] / one['wall_s']:.2f} x the time "
                         f"of one at a time ({m['wall_s']:.0f} s against {one['wall_s']:.0f} s) on this machine.")
    unpublished = [f"{c['name']} {m}" for c in doc["councils"] for m in doc["months"]
                   if m not in c.get("published", doc["months"])]
    lines += [
        f"One at a time, the councils' month runs add up to {council_months:.0f} s of the {one['wall_s']:.0f} s: "
        "the rest is each run's process start-up"
        + (". " if doc.get("reverse") else " and pooling and publishing the benchmark. ")
        + ("Every council-month was published." if not unpublished else
           f"Not published (held or failed): {', '.join(unpublished)}."),
        "",
        "## Each council (one at a time, in the order they ran)",
        "",
        "| council | code | volume | rows per month (latest) | months run | seconds per month (each run) |",
        "|---|---|---|---|---|---|",
    ]
    for c in doc["councils"]:
        per = ", ".join(f"{r['run_s']:.1f}" for r in c["runs"].values())
        lines.append(f"| {c['name']} | {c['la_code']} | {c['volume']} | {c['rows']:,} | {len(c['runs'])} | {per} |")
    if doc["fit"]:
        a, b = doc["fit"]
        lines += [
            "",
            f"Least squares over the council-months after each council's first (a first month also builds "
            f"the council's home): a month's run takes **{a:.1f} s + {b:.1f} s per million rows** of its "
            "extract (the run's first to last event; the process's start-up, about 3 s, comes on top once per "
            "council and command: a run of several months starts once).",
            "",
        ]
    lin = doc.get("linearity")
    if lin:
        met = "met" if lin["ratio"] <= lin["limit"] else "**not met**"
        lines += [
            f"Linear in councils: fitting each month's time to its rows and to its council's place in the run "
            f"(0 for the first of the {lin['councils']} councils run), a council's month costs "
            f"{lin['position_s']:+.2f} s (standard error {lin['position_se_s']:.2f} s) for each council run before it. "
            f"So the region's data-dependent time is {lin['ratio']:.2f} x (+/- {lin['ratio_se']:.2f}) what it would "
            "be if every council ran first (issue 18: 20 councils <= 22 x one council's data-dependent time, "
            f"i.e. <= {lin['limit']}): {met}. A month's time scatters by {lin['residual_sd_s']:.1f} s around the fit.",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--councils", type=int, default=20, help="how many councils (the six hand-written first)")
    p.add_argument("--jobs", default="1,2", help="the --jobs values to run, comma-separated (1 is always run)")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--months", type=int, default=3)
    p.add_argument("--last", default="2023-12")
    p.add_argument("--work", type=Path, default=BENCH / "work" / "region")
    p.add_argument("--out", type=Path, default=BENCH)
    p.add_argument("--reverse", action="store_true",
                   help="one council at a time in reverse LA-code order (no --jobs runs, no benchmark)")
    p.add_argument("--render", action="store_true", help="only rewrite the report from its json")
    args = p.parse_args(argv)
    results = args.out / ("region_results_reverse" if args.reverse else "region_results")
    if args.render:  # the fit and linearity recomputed from the councils' runs
        doc = derive(json.loads(results.with_suffix(".json").read_text()))
        results.with_suffix(".json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
        results.with_suffix(".md").write_text(render(doc))
        return 0
    try:
        jobs_list = sorted({1, *(int(j) for j in args.jobs.split(","))})
    except ValueError:
        p.error(f"--jobs {args.jobs!r}: comma-separated whole numbers")
    if jobs_list[0] < 1:
        p.error(f"--jobs {args.jobs!r}: every value must be at least 1")
    try:
        profiles = bench_councils(args.councils)
    except ValueError as e:
        p.error(str(e))
    months = months_from(shift_month(args.last, 1 - args.months), args.months)
    env = environment()
    shutil.rmtree(args.work, ignore_errors=True)
    root, logs = args.work / "extracts", args.work / "logs"
    loads = [load_average()]
    for profile in profiles:
        subprocess.run([CLI, "generate", "--out", str(root), "--first", months[0], "--last", months[-1],
                        "--scale", str(args.scale), "--council", profile.name, "--region"],
                       check=True, cwd=REPO, capture_output=True)
    print(f"[region bench {datetime.now():%H:%M:%S}] generated {len(profiles)} councils", flush=True)
    runs = {}
    for jobs in [1] if args.reverse else jobs_list:
        tag = f"jobs {jobs}"
        runs[tag] = (reverse_run(root, args.work / "jobs1", logs, profiles) if args.reverse else
                     region_run(root, args.work / f"jobs{jobs}", logs, f"jobs{jobs}", jobs))
        loads.append(load_average())
        print(f"[region bench {datetime.now():%H:%M:%S}] {tag}: {runs[tag]['wall_s']:.0f} s", flush=True)
    if not args.reverse:
        runs["benchmark only"] = region_run(root, args.work / "jobs1", logs, "again", 1)
    councils = council_results(root, args.work / "jobs1", months, profiles, args.reverse)
    doc = {
        "command": "make bench-region" if argv is None and sys.argv[1:] == [] else
        ".venv/bin/python bench/region_bench.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "environment": {**env, "date": datetime.now(UTC).isoformat(timespec="seconds")},
        "scale": args.scale, "months": months, "runs": runs, "councils": councils, "reverse": args.reverse,
        "load_min": min(loads), "load_max": max(loads + [load_average()]),
    }
    results.with_suffix(".json").write_text(json.dumps(doc, indent=1, default=str) + "\n")  # kept first
    doc = derive(doc)
    results.with_suffix(".json").write_text(json.dumps(doc, indent=1, default=str) + "\n")
    results.with_suffix(".md").write_text(render(doc))
    print(f"wrote {results.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
