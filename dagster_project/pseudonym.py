"""The pseudonymisation key: where it comes from, how it is checked, and how SQL reads it.

A child's ``child_key`` is the SHA-256 of ``<key>|<person id>`` (dbt/macros/pseudonymise.sql). The
key is a secret of the council: whoever holds it can map keys back to person ids by hashing
guesses. So:

* The key comes from ``$CSC_PSEUDONYM_KEY``, else the file named by ``$CSC_PSEUDONYM_KEY_FILE``,
  else the home's key file ``<home>/private/pseudonym.key``, which the first run makes from the
  operating system's cryptographic random generator (256 bits, hex) with mode 0600. There is no
  default key anywhere in the source.
* No warehouse file holds the key. Each connection that needs it (the ingest's, dbt's through
  :class:`dagster_project.models.key_plugin.Plugin`) attaches an in-memory database ``csc_key``
  holding it (:func:`attach_key`); the SQL reads ``csc_key.pseudonym_key`` at run time, so the
  key is never in compiled SQL, a log, or a file written by the pipeline.
* The working warehouse keeps the key's *fingerprint* (``private.key_fingerprint``). A run with a
  different key stops with :class:`KeyMismatch` before anything is built; changing the key is the
  explicit ``csc-warehouse rotate-key`` command, which re-pseudonymises the warehouse.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from dagster_project.settings import HomePaths
from dagster_project.warehouse_sql import transaction

KEY_ENV = "CSC_PSEUDONYM_KEY"
KEY_FILE_ENV = "CSC_PSEUDONYM_KEY_FILE"
KEY_DB = "csc_key"  # the in-memory database of a connection that holds the key
KEY_RELATION = f"{KEY_DB}.pseudonym_key"
FINGERPRINT_TABLE = "private.key_fingerprint"
MIN_KEY_LENGTH = 32  # characters: a 256-bit key is 64 hex characters; a passphrase needs at least this
KEY_BYTES = 32  # 256 bits


class PseudonymKeyError(Exception):
    """The key cannot be used: missing, too short, or not the warehouse's."""


class KeyMismatch(PseudonymKeyError):
    """The configured key is not the one the warehouse was built with."""


@dataclass(frozen=True)
class Key:
    value: str
    source: str  # where it came from, for messages (never the key itself)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.value)

    def __repr__(self) -> str:  # never print the key
        return f"Key(source={self.source!r}, fingerprint={self.fingerprint!r})"

    __str__ = __repr__


def fingerprint(key: str) -> str:
    """A short public name of a key (16 hex characters): tells keys apart, reveals nothing of them."""
    return hashlib.sha256(f"csc-warehouse key fingerprint|{key}".encode()).hexdigest()[:16]


def _checked(value: str, source: str) -> Key:
    value = value.strip()
    if len(value) < MIN_KEY_LENGTH:
        raise PseudonymKeyError(
            f"the pseudonymisation key from {source} is {len(value)} characters long; it must be at least "
            f"{MIN_KEY_LENGTH} (e.g. 64 hex characters: python -c 'import secrets; print(secrets.token_hex(32))')")
    return Key(value, source)


def _read_key_file(path: Path, source: str) -> Key:
    try:
        return _checked(path.read_text(encoding="utf-8"), source)
    except FileNotFoundError:
        raise PseudonymKeyError(f"the pseudonymisation key file {path} ({source}) does not exist") from None


def configured_key() -> Key | None:
    """The key set in the environment (``$CSC_PSEUDONYM_KEY`` or ``$CSC_PSEUDONYM_KEY_FILE``), if any."""
    if os.environ.get(KEY_ENV):
        return _checked(os.environ[KEY_ENV], f"${KEY_ENV}")
    if os.environ.get(KEY_FILE_ENV):
        path = Path(os.environ[KEY_FILE_ENV])
        return _read_key_file(path, f"${KEY_FILE_ENV}")
    return None


def write_new_key(path: Path) -> Key:
    """A fresh 256-bit key from the OS's cryptographic generator, written to ``path`` with mode 0600
    (replacing any key there, atomically)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".new")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secrets.token_hex(KEY_BYTES) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return _read_key_file(path, str(path))


def home_key(paths: HomePaths) -> Key:
    """The key of a home: the configured one, else the home's key file (made on first use)."""
    configured = configured_key()
    if configured is not None:
        return configured
    if paths.key_file.exists():
        return _read_key_file(paths.key_file, str(paths.key_file))
    return write_new_key(paths.key_file)


def key_env(paths: HomePaths) -> dict[str, str]:
    """Environment for a subprocess (dbt) that must use the home's key: where to read it, not the key."""
    if configured_key() is not None:
        return {}  # inherited as configured
    home_key(paths)  # made on first use
    return {KEY_FILE_ENV: str(paths.key_file)}


def attach_key(con: duckdb.DuckDBPyConnection, key: Key | None) -> None:
    """Give ``con`` an in-memory database ``csc_key`` with the one-row table ``pseudonym_key``.

    With no key the table is empty, and pseudonymising fails with a message saying so (the macro's
    ``error()``) rather than hashing with an empty key. The key is a bound parameter: it is in no
    SQL text."""
    attached = con.execute("select count(*) from duckdb_databases() where database_name = ?", [KEY_DB]).fetchone()[0]
    if not attached:
        con.execute(f"attach ':memory:' as {KEY_DB}")
    con.execute(f"create or replace table {KEY_RELATION} (key varchar not null)")
    if key is not None:
        con.execute(f"insert into {KEY_RELATION} values (?)", [key.value])


def pseudonymise_sql(expression: str) -> str:
    """SQL of the pseudonym of ``expression`` on a connection with :func:`attach_key` (the dbt macro's
    formula: lower-case hex SHA-256 of ``<key>|<id>``)."""
    return f"sha256((select k.key from {KEY_RELATION} as k) || '|' || ({expression}))"


def warehouse_fingerprint(con: duckdb.DuckDBPyConnection) -> str | None:
    con.execute("create schema if not exists private")
    con.execute(f"create table if not exists {FINGERPRINT_TABLE} (fingerprint varchar not null, "
                "recorded_at timestamp not null)")
    row = con.execute(f"select fingerprint from {FINGERPRINT_TABLE} order by recorded_at desc limit 1").fetchone()
    return row[0] if row else None


def record_fingerprint(con: duckdb.DuckDBPyConnection, key: Key) -> None:
    """Make ``key`` the warehouse's key (first run, or a rotation)."""
    warehouse_fingerprint(con)
    with transaction(con):
        con.execute(f"delete from {FINGERPRINT_TABLE}")
        con.execute(f"insert into {FINGERPRINT_TABLE} values (?, ?)",
                    [key.fingerprint, datetime.now(UTC).replace(tzinfo=None)])


def prepare_key(con: duckdb.DuckDBPyConnection, paths: HomePaths) -> Key:
    """The home's key, checked against the warehouse's fingerprint (recorded on first use) and
    attached to ``con``. Raises :class:`KeyMismatch` when the key is not the warehouse's."""
    key = home_key(paths)
    recorded = warehouse_fingerprint(con)
    if recorded is None:
        record_fingerprint(con, key)
    elif recorded != key.fingerprint:
        raise KeyMismatch(
            f"the pseudonymisation key from {key.source} (fingerprint {key.fingerprint}) is not the key this "
            f"warehouse was built with (fingerprint {recorded}). Configure that key again, or change the key "
            f"on purpose with `csc-warehouse rotate-key --home {paths.home}`, which re-pseudonymises the warehouse.")
    con.execute("drop table if exists private.pseudonym_key")  # where homes before 2026-12 kept the key itself
    attach_key(con, key)
    return key
