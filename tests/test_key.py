"""The pseudonymisation key: made per home, never stored in a warehouse, checked on every run,
changed only on purpose (dagster_project/pseudonym.py)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import duckdb
import pytest

from dagster_project import pseudonym
from dagster_project.settings import HomePaths
from tests.pipeline_helpers import cli, copy_home, generate, published_hashes, run

MONTH = "2023-07"
NO_KEY = {"CSC_PSEUDONYM_KEY": "", "CSC_PSEUDONYM_KEY_FILE": ""}  # nothing configured: each home makes its own


# --------------------------------------------------------------------------------------------
# the key module


@pytest.fixture
def no_configured_key(monkeypatch):
    monkeypatch.delenv(pseudonym.KEY_ENV, raising=False)
    monkeypatch.delenv(pseudonym.KEY_FILE_ENV, raising=False)


def test_a_home_makes_a_random_256_bit_key_once_readable_by_its_owner_only(tmp_path, no_configured_key):
    paths = HomePaths(tmp_path / "home")
    key = pseudonym.home_key(paths)
    assert re.fullmatch(r"[0-9a-f]{64}", key.value)
    assert paths.key_file.stat().st_mode & 0o777 == 0o600
    assert pseudonym.home_key(paths).value == key.value  # the same key on every later run
    other = pseudonym.home_key(HomePaths(tmp_path / "other"))
    assert other.value != key.value
    assert key.value not in repr(key) and key.value not in str(key) and key.fingerprint in repr(key)


def test_a_configured_key_wins_and_a_short_one_is_refused(tmp_path, monkeypatch, no_configured_key):
    paths = HomePaths(tmp_path / "home")
    key_file = tmp_path / "council.key"
    key_file.write_text("k" * 40 + "\n")
    monkeypatch.setenv(pseudonym.KEY_FILE_ENV, str(key_file))
    assert pseudonym.home_key(paths).value == "k" * 40
    assert not paths.key_file.exists()
    monkeypatch.setenv(pseudonym.KEY_ENV, "e" * 40)
    assert pseudonym.home_key(paths).value == "e" * 40
    monkeypatch.setenv(pseudonym.KEY_ENV, "short")
    with pytest.raises(pseudonym.PseudonymKeyError, match="5 characters long; it must be at least 32"):
        pseudonym.home_key(paths)


def test_the_warehouse_keeps_a_fingerprint_and_refuses_another_key(tmp_path, monkeypatch, no_configured_key):
    paths = HomePaths(tmp_path / "home")
    con = duckdb.connect(":memory:")
    key = pseudonym.prepare_key(con, paths)
    assert con.execute("select fingerprint from private.key_fingerprint").fetchall() == [(key.fingerprint,)]
    digest = con.execute(f"select {pseudonym.pseudonymise_sql(repr('P001'))}").fetchone()[0]
    assert digest == hashlib.sha256(f"{key.value}|P001".encode()).hexdigest()  # the dbt macro's formula
    monkeypatch.setenv(pseudonym.KEY_ENV, "z" * 64)
    with pytest.raises(pseudonym.KeyMismatch, match="not the key this warehouse was built with"):
        pseudonym.prepare_key(con, paths)


# --------------------------------------------------------------------------------------------
# through the pipeline


@pytest.fixture(scope="module")
def two_homes(tmp_path_factory) -> tuple[Path, Path, Path]:
    """The same extract run in two homes with no key configured."""
    root = tmp_path_factory.mktemp("keys")
    extracts = root / "extracts"
    generate(extracts, MONTH, MONTH, scale=0.05)
    homes = []
    for name in ("a", "b"):
        res = run(extracts, root / name, "--month", MONTH, env=NO_KEY)
        assert res.returncode == 0, res.stderr[-3000:]
        assert "Warning" not in res.stderr  # a normal run prints no warning (Dagster's included)
        homes.append(root / name)
    return extracts, homes[0], homes[1]


def _child_keys(home: Path) -> set[str]:
    con = duckdb.connect(str((home / "published" / "warehouse.duckdb").resolve()), read_only=True)
    try:
        return {r[0] for r in con.execute("select child_key from dim_child").fetchall()}
    finally:
        con.close()


@pytest.mark.e2e
def test_two_homes_give_the_same_child_different_keys_and_no_warehouse_holds_a_key(two_homes):
    _, a, b = two_homes
    keys_a, keys_b = _child_keys(a), _child_keys(b)
    assert len(keys_a) == len(keys_b) > 100
    assert not keys_a & keys_b
    for home in (a, b):
        paths = HomePaths(home)
        key = paths.key_file.read_text().strip()
        assert paths.key_file.stat().st_mode & 0o777 == 0o600
        assert paths.private_dir.stat().st_mode & 0o777 == 0o700
        assert paths.work_db.stat().st_mode & 0o777 == 0o600
        for db in (paths.work_db, paths.published_db.resolve()):
            assert key.encode() not in db.read_bytes(), db
        for path in paths.private_dir.rglob("*"):
            if path.is_file() and path != paths.key_file:
                assert key.encode() not in path.read_bytes(), path


@pytest.mark.e2e
def test_a_run_with_another_key_stops_and_rotating_re_pseudonymises(two_homes, tmp_path):
    extracts, base, _ = two_homes
    home = copy_home(base, tmp_path / "home")
    before, keys_before = published_hashes(home), _child_keys(home)

    wrong = run(extracts, home, "--month", MONTH, "--force", env={**NO_KEY, "CSC_PSEUDONYM_KEY": "w" * 64})
    assert wrong.returncode == 2, wrong.stderr[-3000:]
    assert "not the key this warehouse was built with" in wrong.stderr and "rotate-key" in wrong.stderr
    assert "w" * 64 not in wrong.stderr + wrong.stdout
    assert published_hashes(home) == before

    old_key = HomePaths(home).key_file.read_text()
    rotated = cli("rotate-key", "--extracts", str(extracts), "--home", str(home), env=NO_KEY)
    assert rotated.returncode == 0, rotated.stderr[-3000:]
    assert "key rotated: fingerprint" in rotated.stderr
    assert HomePaths(home).key_file.read_text() != old_key
    keys_after = _child_keys(home)
    assert len(keys_after) == len(keys_before) and not keys_after & keys_before
    assert [p.name for p in (home / "published" / "versions").iterdir()] == \
        [(home / "published" / "current").resolve().name]  # no version under the old key is left
    again = run(extracts, home, "--month", MONTH, "--force", env=NO_KEY)  # the new key is now the warehouse's
    assert again.returncode == 0, again.stderr[-3000:]
