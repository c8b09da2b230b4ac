"""The pooled SQLite event log (dagster_project/event_log.py): what it answers is what Dagster's
own storage answers, asked less often."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME

from dagster_project.event_log import PooledSqliteEventLogStorage


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables Dagster's own ``has_table`` is asked about (it opens an engine of its own each time)."""
    tables: list[str] = []
    original = SqliteEventLogStorage.has_table

    def counting(self, table_name: str) -> bool:
        tables.append(table_name)
        return original(self, table_name)

    monkeypatch.setattr(SqliteEventLogStorage, "has_table", counting)
    return tables


def test_a_table_found_is_remembered(tmp_path: Path, asked: list[str]) -> None:
    storage = PooledSqliteEventLogStorage(str(tmp_path))
    try:
        asked.clear()
        assert all(storage.supports_asset_checks for _ in range(5))
        assert asked == ["asset_check_executions"]
    finally:
        storage.dispose()


def test_a_table_not_found_is_asked_again(tmp_path: Path, asked: list[str]) -> None:
    storage = PooledSqliteEventLogStorage(str(tmp_path))
    try:
        asked.clear()
        assert not storage.has_table("added_later")
        assert not storage.has_table("added_later")
        with sqlite3.connect(tmp_path / f"{INDEX_SHARD_NAME}.db") as con:  # a migration adds it
            con.execute("create table added_later (id integer)")
        assert storage.has_table("added_later")
        assert storage.has_table("added_later")
        assert asked == ["added_later"] * 3
    finally:
        storage.dispose()
