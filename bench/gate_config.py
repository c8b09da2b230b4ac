"""What ``make gate-eval`` evaluates: the councils and faults of the project's own registries
(the generator's councils, hand-written and sampled, and the fault catalogue), and one
evaluation's configuration (bench/gate_eval.py runs it; bench/gate_report.py reports it)."""

from __future__ import annotations

import dataclasses
import importlib
import os
import subprocess
from pathlib import Path
from typing import Any

from benchlib import BENCH, CLI  # beside this script

RESULTS = "gate_results"  # bench/<name>.json and .md (--out)


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
