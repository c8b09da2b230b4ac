"""The layout shows the pipeline: imports run down extracts -> ingest -> models -> checks -> publish,
with cli/ and definitions.py on top and shared vocabulary in top-level modules below them all."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dagster_project"
STAGES = ("extracts", "ingest", "models", "checks", "publish")
TOP = ("cli", "definitions")


def _part(module: str) -> str:
    """The stage, top-level piece or shared module a dotted module name belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m.startswith("dagster_project.")}


def test_imports_run_down_the_pipeline_only():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = _part("dagster_project." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        for module in _imports(path):
            there = _part(module)
            if there in TOP and here not in TOP:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {module} (nothing imports cli or definitions)")
            elif here in STAGES and there in STAGES and STAGES.index(there) > STAGES.index(here):
                wrong.append(f"{path.relative_to(PACKAGE)} imports {module} ({here} comes before {there})")
            elif here not in STAGES + TOP and there in STAGES + TOP:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {module} (shared modules import no stage)")
    assert wrong == []
