"""A 3-month backfill through Dagster's own backfill machinery (what the UI's "Materialize" over a
range of partitions launches), on the real code location and a real DuckDB warehouse.

The backfill is submitted as Dagster stores it (a ``PartitionBackfill``), then the backfill
daemon's own iteration (``execute_backfill_iteration``) is ticked until it completes; runs are
launched on submission by the synchronous in-memory launcher, one after another.
The selection is the ingest step (every ``raw/*`` asset of ``ssd_extract`` and its checks): the
backfill policy must give one run per month, oldest first, and the load log must then hold each
month once.
"""

from __future__ import annotations

import logging
import textwrap
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import InProcessTestWorkspaceLoadTarget, create_test_daemon_workspace_context
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._daemon.backfill import execute_backfill_iteration

from tests.pipeline_helpers import generate

pytestmark = pytest.mark.e2e  # real pipeline runs

MONTHS = ["2023-04", "2023-05", "2023-06"]


def _code_location(tmp_path: Path, home: Path, extracts: Path) -> Path:
    """The project's definitions for this test's warehouse home and extracts folder."""
    location = tmp_path / "location.py"
    location.write_text(textwrap.dedent(f"""
        from dagster_project.definitions import build_definitions
        from dagster_project.resources import WarehouseResource

        defs = build_definitions(WarehouseResource(home={str(home)!r}, extracts_dir={str(extracts)!r}))
    """))
    return location


@pytest.mark.xdist_group(name="backfill")
def test_a_three_month_backfill_runs_one_ingest_per_month(tmp_path):
    extracts, home = tmp_path / "extracts", tmp_path / "home"
    generate(extracts, MONTHS[0], MONTHS[-1], scale=0.02, seed=7)
    location = _code_location(tmp_path, home, extracts)

    from dagster_project.ingest.assets import ssd_extract

    overrides = {"run_launcher": {"module": "dagster._core.launcher.sync_in_memory_run_launcher",
                                  "class": "SyncInMemoryRunLauncher"},
                 # launch on submit (the daemon's queue would apply the warehouse_writer pool of 1)
                 "run_coordinator": {"module": "dagster._core.run_coordinator",
                                     "class": "DefaultRunCoordinator"}}
    with dg.instance_for_test(overrides=overrides) as instance:
        target = InProcessTestWorkspaceLoadTarget(
            InProcessCodeLocationOrigin(LoadableTargetOrigin(python_file=str(location)), location_name="csc")
        )
        with create_test_daemon_workspace_context(target, instance) as workspace:
            asset_graph = workspace.create_request_context().asset_graph
            backfill = PartitionBackfill.from_asset_partitions(
                backfill_id="csc3month",
                asset_graph=asset_graph,
                partition_names=MONTHS,
                asset_selection=sorted(ssd_extract.keys),
                backfill_timestamp=time.time(),
                tags={},
                dynamic_partitions_store=instance,
                all_partitions=False,
                title="three months",
                description=None,
                run_config=None,
            )
            instance.add_backfill(backfill)
            logger = logging.getLogger("csc.backfill.test")
            for _ in range(20):
                errors = [e for e in execute_backfill_iteration(workspace, logger) if e is not None]
                assert not errors, errors[0].to_string()
                if instance.get_backfill("csc3month").status != BulkActionStatus.REQUESTED:
                    break
            assert instance.get_backfill("csc3month").status == BulkActionStatus.COMPLETED_SUCCESS

            records = sorted(instance.get_run_records(filters=dg.RunsFilter(tags={"dagster/backfill": "csc3month"})),
                             key=lambda r: r.create_timestamp)
            runs = [r.dagster_run for r in records]
            assert [r.tags["dagster/asset_partition_range_start"] for r in runs] == MONTHS  # a run per month, in order
            assert all(r.tags["dagster/asset_partition_range_end"] == r.tags["dagster/asset_partition_range_start"]
                       for r in runs)
            assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
            status = instance.get_status_by_partition(dg.AssetKey(["raw", "ssd_contacts"]), MONTHS,
                                                      ssd_extract.partitions_def)
            assert set(status.values()) == {dg.AssetPartitionStatus.MATERIALIZED}

    con = duckdb.connect(str(home / "private" / "warehouse.duckdb"), read_only=True)
    try:
        loaded = con.execute("select strftime(extract_month, '%Y-%m'), count(distinct run_id) "
                             "from raw.load_log group by 1 order by 1").fetchall()
    finally:
        con.close()
    assert loaded == [(m, 1) for m in MONTHS]
