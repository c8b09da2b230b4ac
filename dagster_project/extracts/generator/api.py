"""``generate``: simulate the history once, then write one full-refresh extract per month."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from dagster_project.extracts.faults import check_faults, inject_into_files, inject_into_manifest, inject_into_tables
from dagster_project.extracts.generator.councils import DEFAULT_COUNCIL, CouncilProfile, council_profile
from dagster_project.extracts.generator.history import simulate_history
from dagster_project.extracts.generator.randomness import Streams
from dagster_project.extracts.generator.rowcache import CHANGED, ROW, RenderedRows
from dagster_project.extracts.generator.timeline import Extract, build_timeline
from dagster_project.extracts.generator.writer import manifest, write_manifest, write_tables


@dataclass(frozen=True)
class GenerateReport:
    """What ``generate`` wrote."""

    out_dir: Path
    months: tuple[str, ...]  # folder names, YYYY-MM
    rows_written: int  # data rows over every file of every month
    seconds: float  # wall-clock time of the whole run (simulation included)
    table_rows: dict[str, int]  # rows per table in the last month's extract
    faults: tuple[str, ...]  # faults injected into the last month
    council: str = DEFAULT_COUNCIL  # the council profile simulated (councils.COUNCILS)

    @property
    def rows_per_second(self) -> float:
        return self.rows_written / self.seconds if self.seconds > 0 else 0.0


def generate(
    out_dir: Path,
    first: date,
    last: date,
    seed: int = 42,
    scale: float = 1.0,
    inject: Sequence[str] = (),
    council: str = DEFAULT_COUNCIL,
) -> GenerateReport:
    """Write demo extracts ``out_dir/<YYYY-MM>/`` for every month from ``first`` to ``last``.

    Each folder is a full-refresh snapshot of the six-year rolling window as at its extract date
    (2-6 days after the month end), one CSV per contract table plus manifest.json. ``scale``
    multiplies volumes (1 = Bradford, about 70 = England). ``inject`` names faults from
    ``dagster_project.extracts.faults.FAULTS``, applied to the last month only. ``council`` names a
    profile of ``councils.COUNCILS`` (volume on top of ``scale``, behaviour, optional features,
    file styles); ValueError naming the valid ones on an unknown name. The same arguments always
    produce byte-identical files."""
    started = time.perf_counter()
    profile = council_profile(council)
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    faults = check_faults(inject, first, last)
    out_dir = Path(out_dir)
    sim_seed = profile.simulation_seed(seed)
    timeline = build_timeline(first, last, Streams(sim_seed))
    calibration = profile.calibration()
    history = simulate_history(timeline, sim_seed, scale * profile.volume, calibration, profile.absent_features)
    rows, table_rows = 0, {}
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".generator-", dir=out_dir) as scratch:
        # the rendered-rows cache pays off from the second month on; one month is rendered directly
        caches = history.render_caches(Path(scratch), profile.style) if len(timeline.extracts) > 1 else {}
        for extract in timeline.extracts:  # loop over months
            injected = faults if extract is timeline.extracts[-1] else ()
            table_rows = _write_extract(out_dir, history.snapshot(extract), extract, injected, seed, caches, profile)
            rows += sum(table_rows.values())
    return GenerateReport(
        out_dir,
        tuple(e.folder for e in timeline.extracts),
        rows,
        time.perf_counter() - started,
        table_rows,
        faults,
        profile.name,
    )


def _write_extract(
    out_dir: Path,
    frames: dict[str, pl.DataFrame],
    extract: Extract,
    faults: tuple[str, ...],
    seed: int,
    caches: dict[str, RenderedRows],
    council: CouncilProfile,
) -> dict[str, int]:
    folder = out_dir / extract.folder
    if faults:  # faulty tables are rendered directly, not from the cache
        frames = {name: frame.drop(ROW, CHANGED, strict=False) for name, frame in frames.items()}
        frames = inject_into_tables(frames, faults, (extract.month, extract.period_end), seed)
    files = write_tables(folder, frames, caches, council.style)
    files = inject_into_files(folder, files, faults)  # resent_previous_extract
    content = manifest(extract, files, council)
    write_manifest(folder, inject_into_manifest(content, faults, files))
    return {name: files[f"{name}.csv"].rows for name in frames}
