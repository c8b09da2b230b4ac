"""Debian packages the tests need (Chromium, PostgreSQL's server, Java for Spark), installed with
apt-get when missing: CI runs as root on a fresh machine.

One install at a time across the xdist workers (a file lock): apt-get refuses to start while another
holds dpkg's lock, and two workers can each find their package missing at once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from typing import TypeVar

from filelock import FileLock

INSTALL_TIMEOUT = 1800
LOCK = os.path.join(tempfile.gettempdir(), "csc-tests-apt.lock")

T = TypeVar("T")


def ensure_installed(find: Callable[[], T | None], *packages: str, recommends: bool = True) -> T | None:
    """``find()``, or, when it finds nothing, ``find()`` after installing ``packages`` (Debian's, with
    their recommended packages unless told otherwise). None when nothing is found and nothing can be
    installed (not root, or no apt-get): the caller says what to install. A failed install, or one
    after which ``find()`` still finds nothing, raises with what apt-get said."""
    found = find()
    if found is not None or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    with FileLock(LOCK):
        found = find()  # another worker may have installed it meanwhile
        if found is not None:
            return found
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        said = ""
        for cmd in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", *([] if recommends else ["--no-install-recommends"]),
                     *packages]):
            res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
                                 check=False)
            said = f"{res.stdout[-2000:]}{res.stderr[-2000:]}"
            if res.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed: {said}")
    found = find()
    if found is None:
        raise RuntimeError(f"apt-get installed {' '.join(packages)}, but it is still not found: {said}")
    return found
