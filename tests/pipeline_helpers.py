"""Shared helpers for tests that run the real pipeline through the CLI."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

CLI = str(Path(sys.executable).parent / "csc-warehouse")
TEST_KEY = "5f0c" * 16  # a pseudonymisation key for dbt builds outside the pipeline (64 hex characters)


def cli(*args: str, env: dict | None = None, timeout: int = 1200) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def generate(out: Path, first: str, last: str, *, scale: float = 0.1, seed: int = 7,
             inject: tuple[str, ...] = (), council: str = "bradford", region: bool = False) -> None:
    args = ["generate", "--out", str(out), "--first", first, "--last", last,
            "--scale", str(scale), "--seed", str(seed), "--council", council, *["--region"] * region]
    for fault in inject:
        args += ["--inject", fault]
    res = cli(*args)
    assert res.returncode == 0, res.stderr


def run(extracts: Path, home: Path, *selection: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return cli("run", "--extracts", str(extracts), "--home", str(home), *selection, env=env)


def published_hashes(home: Path) -> dict[str, str]:
    """sha256 of every file readers see under <home>/published (the current publication, through
    the stable paths), keyed by its path relative to published/: the bytes analysts and committees see."""
    current = home / "published" / "current"
    if not current.exists():
        return {}
    return {name: hashlib.sha256(content).hexdigest() for name, content in files_of(current).items()}


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (a symlink to a version folder is followed once) by relative path."""
    folder = folder.resolve()
    return {str((Path(d) / n).relative_to(folder)): (Path(d) / n).read_bytes()
            for d, _, names in os.walk(folder) for n in names}


def copy_home(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst
