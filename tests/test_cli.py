"""The csc-warehouse command line: help everywhere, usage errors exit 2 with a clear message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CLI = [str(Path(sys.executable).parent / "csc-warehouse")]


def cli(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, **kw)


@pytest.mark.parametrize("command", [[], ["generate"], ["run"], ["signoff"]])
def test_help_on_every_command(command):
    res = cli(*command, "--help")
    assert res.returncode == 0, res.stderr
    assert "Usage: csc-warehouse" in res.stdout


def test_every_command_is_listed_in_main_help():
    out = cli("--help").stdout
    for command in ("generate", "run", "signoff"):
        assert command in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--extracts", "."], "exactly one of --month, --all"),
        (["run", "--extracts", ".", "--month", "2023-07", "--all"], "exactly one of --month, --all"),
        (["run", "--extracts", ".", "--month", "2023-13"], "not a month in the form YYYY-MM"),
        (["generate", "--out", "x", "--first", "2023-07", "--last", "2023-06"], "is after --last"),
        (["generate", "--out", "x", "--first", "2023-07", "--last", "2023-07", "--inject", "nope"],
         "unknown fault"),
    ],
)
def test_usage_errors_exit_2(args, message, tmp_path):
    res = cli(*args, cwd=tmp_path)
    assert res.returncode == 2
    assert message in " ".join((res.stderr + res.stdout).split())


def test_missing_extracts_folder_exits_2(tmp_path):
    res = cli("run", "--extracts", str(tmp_path / "nowhere"), "--home", str(tmp_path / "h"), "--all")
    assert res.returncode == 2
    assert "does not exist" in res.stderr
    assert not (tmp_path / "h").exists()


def test_month_folder_missing_is_rejected_with_exit_2(tmp_path):
    (tmp_path / "extracts" / "2023-06").mkdir(parents=True)
    res = cli("run", "--extracts", str(tmp_path / "extracts"), "--home", str(tmp_path / "h"), "--month", "2023-07")
    assert res.returncode == 2, res.stderr
    assert "2023-07" in res.stderr
    assert not (tmp_path / "h" / "published").exists()
