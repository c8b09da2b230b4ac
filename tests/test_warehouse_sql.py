"""dagster_project.warehouse_sql.transaction: all of the block or none of it."""

import duckdb
import pytest

from dagster_project.warehouse_sql import transaction


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create table t (x integer)")
    con.execute("insert into t values (1)")
    yield con
    con.close()


def rows(con):
    return [r[0] for r in con.execute("select x from t order by x").fetchall()]


def test_the_block_is_committed(con):
    with transaction(con):
        con.execute("delete from t")
        con.execute("insert into t values (2)")
    assert rows(con) == [2]


@pytest.mark.parametrize("error", [ValueError("broken rule"), KeyboardInterrupt()])
def test_anything_escaping_the_block_rolls_it_back(con, error):
    with pytest.raises(type(error)), transaction(con):
        con.execute("delete from t")
        con.execute("insert into t values (2)")
        raise error
    assert rows(con) == [1]
    with transaction(con):  # the connection is usable again: no transaction left open
        con.execute("insert into t values (3)")
    assert rows(con) == [1, 3]
