"""``csc-warehouse run --extracts ROOT --all-councils``: every council of a region, each gated alone.

A region's extracts root holds one folder per council, named by its DfE LA code
(``<root>/<la_code>/<YYYY-MM>/``). Each council runs as a ``csc-warehouse run`` of its own, in a
process of its own, against a home of its own (``<home>/<la_code>/``: its Dagster instance,
working warehouse, pseudonymisation key, baselines, sign-offs and published zone). So one
council's rejected, held or failed month never blocks, changes or delays what another council
publishes (its run lock is its own: councils can also be run side by side), its gate judges it
against its own history only, and no table ever holds two councils' children (docs/decisions.md,
"A region's councils").
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dagster_project.councils import Council, councils
from dagster_project.pseudonym import KEY_ENV, KEY_FILE_ENV
from dagster_project.settings import council_folders, extract_months

LA_CODE_FIELD = "{la_code}"  # in $CSC_PSEUDONYM_KEY_FILE: each council's own key file
BUSY = 75
DEMO_REGION = "demo: a fictional council"
OUTCOMES = {0: "up to date", 2: "rejected", 3: "blocked", BUSY: "busy", 1: "error"}
PRECEDENCE = (1, 2, 3, BUSY)  # the region's exit code: the first of these any council ended with


class RegionRefused(ValueError):
    """The region's root or configuration cannot be run; the message says what to change."""


@dataclass(frozen=True)
class CouncilResult:
    council: Council
    exit_code: int
    home: Path


def known_councils() -> dict[str, Council]:
    """The English LAs (seeds/dim_council.csv) and the generator's fictional demo councils, whose
    codes (5xx-7xx) no English LA has."""
    from dagster_project.extracts.generator.councils import COUNCILS

    known = dict(councils())
    for profile in COUNCILS.values():
        known.setdefault(profile.la_code, Council(profile.la_code, profile.title, DEMO_REGION))
    return known


def region_councils(root: Path) -> list[Council]:
    """The councils of a region's root, in LA-code order; refused when the root is not a region's
    (no council folders, or month folders beside them) or a folder is not the code of an English LA
    or of a demo council."""
    codes = council_folders(root)
    if not codes:
        raise RegionRefused(f"{root} has no council folders: a region's root holds one <la_code>/ folder "
                            "(the DfE three-digit LA code) per council, each holding its <YYYY-MM>/ months")
    stray = extract_months(root)
    if stray:
        raise RegionRefused(f"{root} holds month folders ({', '.join(stray[:3])}) beside its council folders: "
                            "move them into their council's <la_code>/ folder")
    known = known_councils()
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise RegionRefused(f"{root}: folder(s) {', '.join(unknown)} are not the LA code of an English council "
                            "(seeds/dim_council.csv) or of a demo council (csc-warehouse generate --help)")
    return [known[code] for code in codes]


def council_env(environ: Mapping[str, str], la_code: str) -> dict[str, str]:
    """The environment of one council's run: its own key. A key configured once for the whole region
    is refused, since every council's children must be pseudonymised under that council's key;
    ``$CSC_PSEUDONYM_KEY_FILE`` may name each council's file with ``{la_code}``."""
    env = dict(environ)
    if env.get(KEY_ENV):
        raise RegionRefused(f"${KEY_ENV} would give every council the same key: unset it (each council's home "
                            f"keeps its own key), or set ${KEY_FILE_ENV} to a path with {LA_CODE_FIELD} in it")
    if env.get(KEY_FILE_ENV):
        if LA_CODE_FIELD not in env[KEY_FILE_ENV]:
            raise RegionRefused(f"${KEY_FILE_ENV} names one file for every council: put {LA_CODE_FIELD} in its "
                                "path (one key file per council), or unset it")
        env[KEY_FILE_ENV] = env[KEY_FILE_ENV].replace(LA_CODE_FIELD, la_code)
    return env


def council_command(root: Path, home: Path, la_code: str, selection: Sequence[str]) -> list[str]:
    """One council's ``csc-warehouse run`` (``selection``: the month options, e.g. ``["--all"]``)."""
    return [sys.executable, "-m", "dagster_project.cli", "run", "--extracts", str(root / la_code),
            "--home", str(home / la_code), *selection]


def region_exit_code(results: Sequence[CouncilResult]) -> int:
    """0 when every council's run ended 0; else the first of error, rejected, blocked, busy."""
    codes = {r.exit_code for r in results}
    return next((code for code in PRECEDENCE if code in codes), 0 if codes <= {0} else 1)


def run_region(root: Path, home: Path, selection: Sequence[str], announce) -> list[CouncilResult]:
    """Run each council in turn (its output passes through); ``announce(council)`` before each."""
    results = []
    plan = [(council, council_env(os.environ, council.la_code)) for council in region_councils(root)]
    for council, env in plan:
        announce(council)
        done = subprocess.run(council_command(root, home, council.la_code, selection), env=env, check=False)
        results.append(CouncilResult(council, done.returncode, home / council.la_code))
    return results
