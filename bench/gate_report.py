"""The report of ``make gate-eval``: the summary of its two targets (no clean month blocked, at least
``CATCH_TARGET`` of the fault x council pairs stopped), ``bench/<results>.json`` and the markdown
beside it."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from typing import Any

from benchlib import GB, REPO, memory_total_bytes, rel  # beside this script
from gate_config import RESULTS, Config, hand_written

CATCH_TARGET = 0.95


def families(result: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(c["family"] for c in result.get("failed_checks", [])))


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
    return {"nproc": len(os.sched_getaffinity(0)), "cpu_count": os.cpu_count(), "memory_gb": round(mem / GB, 1),
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
