"""What one ``make bench`` run found (``ScaleResult``), issue 17's targets judged on it, and
``bench/results.md`` written from ``bench/results.json`` (bench/run_bench.py measures)."""

from __future__ import annotations

from dataclasses import dataclass, field

from benchlib import BENCH, GB, report_header  # beside this script

# Issue 17's targets (2-core, 24 GB machine); issue 7's are the baseline in before_after.md.
FIXED_COST_CPU_S = 10.0  # the probe month's whole process tree, user + system
BACKFILL_FACTOR = 4.0  # run --all over the backfill's months <= this x one month's time
NATIONAL_FLOOR_FACTOR = 6.0
INGEST_FLOOR_FACTOR = 2.0
PUBLISH_FLOOR_FACTOR = 0.3
NATIONAL_RSS_BYTES = 6 * GB
GENERATOR_ROWS_PER_S = 1_000_000
BRADFORD_SCALE = 1  # scales below it are fixed-cost probes: reported, not held to the scale targets
NATIONAL_SCALE = 70
PROBE_MONTHS = 2  # the probe's measured month runs after a first one, as a council's next month does
IMPORTS_SCRIPT = "import dagster_project.definitions"


@dataclass
class ScaleResult:
    scale: float
    months: list[str]
    rows_latest_month: int = 0
    csv_bytes_latest_month: int = 0
    rows_generated: int = 0
    generate: dict = field(default_factory=dict)
    floor: dict = field(default_factory=dict)
    setup_runs: list[dict] = field(default_factory=list)
    runs: list[dict] = field(default_factory=list)  # the latest month, --repeat times
    summary: dict = field(default_factory=dict)
    failed: str | None = None  # why this scale did not complete


def fixed_cost_probe(results: list[ScaleResult]) -> ScaleResult | None:
    """The smallest completed scale below Bradford's, if one was run."""
    probes = [r for r in results if r.summary and r.scale < BRADFORD_SCALE]
    return min(probes, key=lambda r: r.scale) if probes else None


def stage_over_floor(s: dict, stage: str) -> float | None:
    seconds = (s.get("stages") or {}).get(stage)
    return None if seconds is None else seconds / s["floor_s"]


def check_targets(results: list[ScaleResult], extra: dict | None = None) -> list[dict]:
    """Issue 17's targets over the scales measured; ``extra`` holds the imports and backfill phases."""
    extra = extra or {}
    by_scale = {r.scale: r for r in results if r.summary and r.scale >= BRADFORD_SCALE}
    targets = []

    def add(name, measured, limit, ok, note=""):
        targets.append({"target": name, "measured": measured, "limit": limit, "met": bool(ok), "note": note})

    for r in results:
        if r.failed:
            add(f"scale {r.scale:g} completes", r.failed, "completes", False)
    probe = fixed_cost_probe(results)
    if probe:
        s = probe.summary
        imports = extra.get("imports")
        note = (f"wall {s['e2e_wall_s']:.1f} s at load {s['load']:.1f}" if s.get("load") is not None else
                f"wall {s['e2e_wall_s']:.1f} s")
        if imports:
            note += f"; the imports alone: {imports['cpu_s']:.1f} s CPU"
        add(f"fixed cost of a month: CPU of `run --month` at scale {probe.scale:g} "
            f"({probe.rows_latest_month:,} rows, after a first month)",
            f"{s['e2e_cpu_s']:.1f} s", f"<= {FIXED_COST_CPU_S:g} s", s["e2e_cpu_s"] <= FIXED_COST_CPU_S, note)
    backfill = extra.get("backfill")
    if backfill and backfill.get("one_month_wall_s"):
        ratio = backfill["wall_s"] / backfill["one_month_wall_s"]
        add(f"backfill: `run --all` over {backfill['months']} months at scale {backfill['scale']:g} vs one month",
            f"{backfill['wall_s']:.0f} s = {ratio:.1f} x one month ({backfill['one_month_wall_s']:.1f} s)",
            f"<= {BACKFILL_FACTOR:g} x", ratio <= BACKFILL_FACTOR,
            f"CPU {backfill['cpu_s']:.0f} s vs {backfill['one_month_cpu_s']:.1f} s")
    elif backfill:
        add("backfill completes", backfill.get("failed", "not measured"), "completes", False)
    if not by_scale:
        return targets
    big = max(by_scale)
    if big >= NATIONAL_SCALE:
        s = by_scale[big].summary
        add(f"scale {big:g} end to end vs the floor",
            f"{s['e2e_wall_s']:.0f} s = {s['e2e_over_floor']:.2f} x floor ({s['floor_s']:.1f} s)",
            f"<= {NATIONAL_FLOOR_FACTOR:g} x floor", s["e2e_over_floor"] <= NATIONAL_FLOOR_FACTOR)
        for stage, factor in (("ingest", INGEST_FLOOR_FACTOR), ("publish", PUBLISH_FLOOR_FACTOR)):
            ratio = stage_over_floor(s, stage)
            add(f"scale {big:g} {stage} vs the floor",
                "not measured" if ratio is None else f"{s['stages'][stage]:.1f} s = {ratio:.2f} x floor",
                f"<= {factor:g} x floor", ratio is not None and ratio <= factor)
        add(f"scale {big:g} peak RSS (process tree)", f"{s['peak_rss_bytes'] / GB:.2f} GB",
            f"<= {NATIONAL_RSS_BYTES / GB:g} GB", s["peak_rss_bytes"] <= NATIONAL_RSS_BYTES)
    else:
        add(f"scale {NATIONAL_SCALE} measured", f"largest scale {big:g}", f"scale >= {NATIONAL_SCALE}", False,
            "not measured in this run")
    gen = [r for r in results if r.generate.get("rows_per_s")]
    if gen:
        g = max(gen, key=lambda r: r.scale)
        add(f"generator speed (scale {g.scale:g}, {len(g.months)} months, whole process)",
            f"{g.generate['rows_per_s'] / 1e6:.2f} M rows/s", f">= {GENERATOR_ROWS_PER_S / 1e6:g} M rows/s",
            g.generate["rows_per_s"] >= GENERATOR_ROWS_PER_S)
    return targets


def fmt_s(x: float | None) -> str:
    return "-" if x is None else (f"{x:.1f}" if x < 100 else f"{x:.0f}")


def fmt_rate(rows_per_s: float) -> str:
    return f"{rows_per_s / 1e6:.2f} M" if rows_per_s >= 1e6 else f"{rows_per_s / 1e3:,.0f} k"


def steal_sentence(results: list[dict]) -> str:
    """The range of CPU steal over the measured commands (absent in reports from before it was kept)."""
    steals = [m["steal"] for r in results for m in measured_of(r) if m.get("steal") is not None]
    if not steals:
        return ""
    return (f" CPU time taken by the host (steal) while commands ran: {min(steals):.0%} to "
            f"{max(steals):.0%} of the machine's CPU time.")


def measured_of(result: dict) -> list[dict]:
    runs = result.get("setup_runs", []) + result.get("runs", [])
    floor = (result.get("floor") or {}).get("measured", [])
    gen = (result.get("generate") or {}).get("measured")
    return [r["measured"] for r in runs] + list(floor) + ([gen] if gen else [])


def render_markdown(doc: dict) -> str:
    results, targets = doc["scales"], doc["targets"]
    lines = [
        *report_header("csc-warehouse benchmark", doc, steal_sentence(results)),
        "## Targets (issue 17)",
        "",
        "| target | measured | limit | met |",
        "|---|---|---|---|",
    ]
    for t in targets:
        met = "yes" if t["met"] else "**no**"
        measured = f"{t['measured']}; {t['note']}" if t.get("note") else t["measured"]
        lines.append(f"| {t['target']} | {measured} | {t['limit']} | {met} |")
    lines += [
        "",
        "## Results per scale",
        "",
        "Pipeline = `csc-warehouse run --month <latest>` (ingest -> dbt build -> checks -> publish), "
        "after the earlier month(s) were run; median of the repeats. Floor = DuckDB parsing every "
        "column of the same CSV files once." + (
            " A scale below 1 is the fixed-cost probe: the same pipeline on a month of a few thousand "
            "rows, so its time is what a month costs whatever its size (start-up, dbt's and Dagster's "
            "per-node work, the checks' set-up, publishing)."
            if any(r["scale"] < BRADFORD_SCALE for r in results) else ""),
        "",
        "| scale | rows (latest month) | CSV | generate | generator rows/s | floor | end to end | "
        "x floor | rows/s end to end | start-up | peak RSS | CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.get("failed"):
            lines.append(f"| {r['scale']:g} | failed: {r['failed']} |" + " |" * 10)
            continue
        s, g = r["summary"], r["generate"]
        gen_wall = g["measured"]["wall_s"] if g else None
        lines.append(
            f"| {r['scale']:g} | {r['rows_latest_month']:,} | {r['csv_bytes_latest_month'] / 1e6:,.0f} MB | "
            f"{fmt_s(gen_wall)} s ({r['rows_generated']:,} rows) | "
            f"{fmt_rate(g['rows_per_s']) if g else '-'} | {fmt_s(s['floor_s'])} s | "
            f"{fmt_s(s['e2e_wall_s'])} s ({', '.join(fmt_s(w) for w in s['e2e_wall_all_s'])}) | "
            f"{s['e2e_over_floor']:.2f} | {fmt_rate(s['rows_per_s'])} | {fmt_s(s['startup_s'])} s | "
            f"{s['peak_rss_bytes'] / GB:.2f} GB | {fmt_s(s['e2e_cpu_s'])} s |")
    for r in results:
        if not r.get("failed"):
            continue
        lines += ["", f"### Scale {r['scale']:g} did not complete", "", f"{r['failed']}.", ""]
        g = r.get("generate") or {}
        if g.get("rows_per_s"):
            lines.append(f"* generate: {fmt_s(g['measured']['wall_s'])} s for {g['rows']:,} rows "
                         f"({fmt_rate(g['rows_per_s'])} rows/s), peak RSS "
                         f"{g['measured']['peak_rss_bytes'] / GB:.2f} GB")
        elif g:
            lines.append(f"* generate: stopped after {fmt_s(g['measured']['wall_s'])} s, peak RSS "
                         f"{g['measured']['peak_rss_bytes'] / GB:.2f} GB")
        if r.get("floor"):
            lines.append(f"* floor: {fmt_s(r['floor']['wall_s'])} s for {r['rows_latest_month']:,} rows "
                         f"({r['csv_bytes_latest_month'] / 1e6:,.0f} MB of CSV)")
        for label, run in [("set-up run", x) for x in r.get("setup_runs", [])] + [
                ("run", x) for x in r.get("runs", [])]:
            m = run["measured"]
            lines.append(f"* {label}: {fmt_s(m['wall_s'])} s, exit {m['returncode']}"
                         f"{' (' + m['aborted'] + ')' if m.get('aborted') else ''}; stages (s) {run.get('stages')}; "
                         f"peak RSS by stage (GB) {run.get('peak_rss_by_stage')}")
    results = [r for r in results if r.get("summary")]
    lines += ["", "## Wall time per stage (seconds, median run)", ""]
    names = list(dict.fromkeys(k for r in results for k in r["summary"]["stages"]))
    lines.append("| stage | " + " | ".join(f"scale {r['scale']:g}" for r in results) + " |")
    lines.append("|---|" + "---|" * len(results))
    for n in names:
        lines.append(f"| {n} | " + " | ".join(fmt_s(r["summary"]["stages"].get(n)) for r in results) + " |")
    lines += ["", "## Peak memory per stage (GB, process tree, median run)", ""]
    names = list(dict.fromkeys(k for r in results for k in r["summary"].get("peak_rss_by_stage", {})))
    lines.append("| stage | " + " | ".join(f"scale {r['scale']:g}" for r in results) + " |")
    lines.append("|---|" + "---|" * len(results))
    for n in names:
        lines.append(f"| {n} | " + " | ".join(
            f"{r['summary'].get('peak_rss_by_stage', {}).get(n, '-')}" for r in results) + " |")
    lines += ["", "## dbt build", ""]
    lines.append("| scale | nodes | start-up + parse | execute | models (sum of node times) | "
                 "tests (sum) | slowest nodes |")
    lines.append("|---|---|---|---|---|---|---|")
    for r in results:
        d = r["summary"]["dbt"] or {}
        bt = d.get("by_type", {})
        slow = ", ".join(f"{x['node']} {x['seconds']:.1f}" for x in d.get("slowest", [])[:4])
        lines.append(f"| {r['scale']:g} | {d.get('nodes', '-')} | {fmt_s(d.get('startup_and_parse_s'))} s | "
                     f"{fmt_s(d.get('execute_s'))} s | {fmt_s(bt.get('model', {}).get('seconds'))} s | "
                     f"{fmt_s(bt.get('test', {}).get('seconds'))} s | {slow} |")
    lines.append("")
    lines.append("Dagster events per run: " + ", ".join(
        f"scale {r['scale']:g}: {r['summary']['dagster_events']}" for r in results) + ".")
    imports, backfill = doc.get("imports"), doc.get("backfill")
    if imports:
        lines += ["", f"Importing the code location alone (`python -c '{IMPORTS_SCRIPT}'`, the floor of a "
                  f"month's fixed cost): {imports['cpu_s']:.1f} s CPU, {imports['wall_s']:.1f} s wall."]
    if backfill and backfill.get("wall_s"):
        one = backfill["one_month"]
        lines += ["", "## Backfill", "",
                  f"`csc-warehouse run --all` over {backfill['months']} months ({backfill['first']}.."
                  f"{backfill['last']}, scale {backfill['scale']:g}) in a fresh home: "
                  f"{fmt_s(backfill['wall_s'])} s wall, {fmt_s(backfill['cpu_s'])} s CPU, peak RSS "
                  f"{backfill['measured']['peak_rss_bytes'] / GB:.2f} GB. One more month in that home "
                  f"(`run --month {backfill['last']} --force`): {fmt_s(backfill['one_month_wall_s'])} s wall, "
                  f"{fmt_s(backfill['one_month_cpu_s'])} s CPU; stages (s) {one.get('stages')}."]
    before = BENCH / "before_after.md"
    if before.exists():
        lines += ["", before.read_text().strip()]
    lines.append("")
    return "\n".join(lines)
