"""csc-warehouse generate keeps freed memory for reuse (dagster_project/cli/allocators.py)."""

import json
import os
import subprocess
import sys

PROBE = """
import json, os, sys
from dagster_project.cli.allocators import JEMALLOC_CONF_ENV, keep_freed_memory
took = keep_freed_memory()
import polars  # after the settings, as in the generate command
print(json.dumps({"glibc": took, "jemalloc": os.environ.get(JEMALLOC_CONF_ENV)}))
"""


def probe(env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "_RJEM_"))}


# polars puts its own defaults in front of the setting when it is imported; jemalloc reads the
# options left to right, so the last one of each name wins


def test_settings_apply_in_a_fresh_process():
    got = probe(clean_env())
    assert got["glibc"] is True
    assert got["jemalloc"].endswith("dirty_decay_ms:-1,muzzy_decay_ms:-1"), got


def test_the_users_own_settings_win():
    got = probe({**clean_env(), "_RJEM_MALLOC_CONF": "narenas:1"})
    assert got["jemalloc"].endswith("narenas:1") and "decay_ms:-1" not in got["jemalloc"], got
