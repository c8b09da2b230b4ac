"""Dagster's SQLite event log, with its database connections kept open for the life of the process.

Dagster's ``SqliteEventLogStorage`` creates a SQLAlchemy engine, opens a connection and disposes
of both for every event it stores (a run shard write, and an index-shard mirror for asset and
check events). A month's run stores about 700 events, and the profile of ``csc-warehouse run``
showed 21 s of a Bradford-sized run (about a fifth) spent there. This subclass keeps one engine
per shard (the index and the few most recent run shards) and commits with
``synchronous = NORMAL`` (the databases are already in WAL mode: a crashed or killed process
loses nothing committed; only a power cut can lose the last commits). Same files, same schema:
the webserver, the daemon and older homes read them unchanged.

Dagster also asks whether a table exists before storing each asset check event
(``supports_asset_checks``) and each asset event's tags, each time through an engine and a
connection of its own: 337 times a month, 2% of a small month's Python. A table found is
remembered (migrations add tables; nothing drops one while a process runs); one not found is asked
again.

The CLI writes it into each new home's ``dagster.yaml`` (``dagster_project.cli.runner``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as db
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import SingletonThreadPool

OPEN_SHARDS = 4  # the index shard, the current run's shard and a few others


def _pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` that reuses its engines and connections (see the module docstring)."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables_found: set[str] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledSqliteEventLogStorage:  # ty: ignore[invalid-method-override]
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=SingletonThreadPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            db.event.listen(engine, "connect", _pragmas)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
        self._engines[shard] = engine  # most recently used last
        while len(self._engines) > OPEN_SHARDS:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    def has_table(self, table_name: str) -> bool:
        if table_name not in self._tables_found:
            if not super().has_table(table_name):
                return False
            self._tables_found.add(table_name)
        return True

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()
        super().dispose()
