"""The severity policy of the quality gate: ``quality_policy.yml`` at the repository root.

Every check id is ``<family>.<subject>`` (``history.rhi_accepted_pct``,
``volume_drift.ssd_contacts``). The policy gives each family a severity and its thresholds;
``subjects:`` may override either for one subject. ``$CSC_QUALITY_POLICY`` points at another
file (tests, a council's own tuned copy).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_POLICY = REPO_ROOT / "quality_policy.yml"
POLICY_ENV = "CSC_QUALITY_POLICY"


class Severity(StrEnum):
    ERROR = "error"  # blocks; cannot be signed off
    HOLD = "hold"  # blocks until a named person signs it off
    WARN = "warn"  # shown only

    @property
    def blocks(self) -> bool:
        return self is not Severity.WARN


class PolicyError(ValueError):
    """The policy file is malformed."""


def check_id(family: str, subject: str) -> str:
    return f"{family}.{subject}"


def split_check_id(cid: str) -> tuple[str, str]:
    """'history.rhi_accepted_pct' -> ('history', 'rhi_accepted_pct'); Dagster spelling accepted."""
    cid = cid.strip()
    if "." not in cid and "__" in cid:
        cid = cid.replace("__", ".", 1)
    family, sep, subject = cid.partition(".")
    if not sep or not family or not subject:
        raise ValueError(f"{cid!r} is not a check id of the form <family>.<subject>")
    return family, subject


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class Rule:
    """The resolved policy of one check id: its severity and thresholds."""

    check_id: str
    severity: Severity
    params: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


@dataclass(frozen=True)
class Policy:
    path: Path
    families: Mapping[str, Mapping[str, Any]]

    def family(self, family: str) -> Mapping[str, Any]:
        try:
            return self.families[family]
        except KeyError:
            raise PolicyError(f"{self.path}: no policy for check family {family!r}") from None

    def rule(self, family: str, subject: str) -> Rule:
        spec = self.family(family)
        base = {k: v for k, v in spec.items() if k != "subjects"}
        over = (spec.get("subjects") or {}).get(subject) or {}
        params = _merge(base, over)
        return Rule(check_id(family, subject), Severity(params["severity"]), params)

    def severity(self, cid: str) -> Severity:
        return self.rule(*split_check_id(cid)).severity

    def description(self, family: str) -> str:
        return " ".join(str(self.family(family).get("description", "")).split())


def parse_policy(data: Any, path: Path) -> Policy:
    if not isinstance(data, Mapping) or not isinstance(data.get("checks"), Mapping):
        raise PolicyError(f"{path}: expected a mapping with a 'checks' section")
    families: dict[str, Mapping[str, Any]] = {}
    allowed = {s.value for s in Severity}
    for family, spec in data["checks"].items():
        if not isinstance(spec, Mapping):
            raise PolicyError(f"{path}: checks.{family} must be a mapping")
        entries = [(family, spec)] + [
            (f"{family}.{s}", o or {}) for s, o in (spec.get("subjects") or {}).items()
        ]
        for where, entry in entries:
            sev = entry.get("severity")
            if where == family and sev is None:
                raise PolicyError(f"{path}: checks.{family} has no severity")
            if sev is not None and sev not in allowed:
                raise PolicyError(f"{path}: {where}: severity {sev!r} is not one of {sorted(allowed)}")
        families[family] = spec
    return Policy(path, families)


def load_policy(path: Path | None = None) -> Policy:
    path = Path(path or os.environ.get(POLICY_ENV) or DEFAULT_POLICY)
    with path.open(encoding="utf-8") as f:
        return parse_policy(yaml.safe_load(f), path)


@cache
def _cached(path: str, mtime: float) -> Policy:
    return load_policy(Path(path))


def current_policy() -> Policy:
    """The policy in force (re-read when the file changes)."""
    path = Path(os.environ.get(POLICY_ENV) or DEFAULT_POLICY)
    return _cached(str(path), path.stat().st_mtime)
