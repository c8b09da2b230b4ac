"""dbt in the run's own process (models/dbt_in_process.py): the same Dagster events as dagster-dbt's
dbt process, a failure reported by dbt's own error, and the warehouse file free for the run's next step;
and which loaded extracts a month's staging tests check.

One generated month is loaded into a working warehouse; each test builds the models on a copy of it
through the project's dbt assets (``dg.materialize``), as a run does.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_dbt import DbtCliResource, dbt_assets

from dagster_project.ingest.load import load_extract
from dagster_project.models.dbt import (
    EXTRACT_MONTH_ENV,
    WAREHOUSE_DB_ENV,
    csc_dbt_models,
    dbt_build_args,
    dbt_build_env,
    dbt_project,
    dbt_resource,
    translator,
)
from dagster_project.models.dbt_in_process import dbt_argv
from dagster_project.partitions import monthly_partitions
from dagster_project.progress import DBT_ERRORS, failure_line, failure_reason
from dagster_project.pseudonym import KEY_FILE_ENV, key_env
from dagster_project.resources import WarehouseResource
from tests.pipeline_helpers import copy_home, generate

MONTH = "2023-05"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> WarehouseResource:
    """A home whose working warehouse holds one generated month, loaded and not yet built."""
    root = tmp_path_factory.mktemp("in_process")
    generate(root / "extracts", MONTH, MONTH, scale=0.02, seed=11)
    loaded = WarehouseResource(home=str(root / "home"), extracts_dir=str(root / "extracts"))
    with loaded.connect() as con:
        load_extract(con, loaded.extract_folder(MONTH), date.fromisoformat(f"{MONTH}-01"))
    return loaded


def copy_of(loaded: WarehouseResource, home: Path) -> WarehouseResource:
    return WarehouseResource(home=str(copy_home(loaded.paths.home, home)), extracts_dir=loaded.extracts_dir)


@pytest.fixture
def warehouse(loaded, tmp_path, monkeypatch) -> WarehouseResource:
    """A copy of the loaded home; the variables a build sets in the process are put back after the test."""
    for name in (WAREHOUSE_DB_ENV, EXTRACT_MONTH_ENV, KEY_FILE_ENV):
        monkeypatch.setenv(name, "")
    return copy_of(loaded, tmp_path / "home")


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, partitions_def=monthly_partitions,
            dagster_dbt_translator=translator)
def through_dbts_process(context, dbt: DbtCliResource, warehouse: WarehouseResource):
    """The same build as dagster-dbt runs it, in a dbt process of its own: what the in-process build replaces."""
    import os

    os.environ.update({**dbt_build_env(context.partition_key, warehouse.paths.work_db), **key_env(warehouse.paths)})
    yield from dbt.cli(dbt_build_args(), context=context,
                       target_path=warehouse.paths.dbt_target / context.run_id[:8]).stream()


def build(assets, warehouse: WarehouseResource, selection=None) -> dg.ExecuteInProcessResult:
    return dg.materialize([assets], partition_key=MONTH, raise_on_error=False, selection=selection,
                          resources={"dbt": dbt_resource(), "warehouse": warehouse})


def outcomes(result: dg.ExecuteInProcessResult) -> dict[str, set]:
    """What a run's dbt events say: the assets materialised, and each check with its outcome."""
    checks = {(e.event_specific_data.asset_key.to_user_string(), e.event_specific_data.check_name,
               e.event_specific_data.passed, e.event_specific_data.severity.value)
              for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    built = {e.asset_key.to_user_string() for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}
    return {"checks": checks, "materialized": built}


def test_the_in_process_build_gives_the_events_of_dbts_own_process(loaded, warehouse, tmp_path):
    in_process = build(csc_dbt_models, warehouse)
    assert in_process.success
    process = build(through_dbts_process, copy_of(loaded, tmp_path / "other"))
    assert process.success
    mine, theirs = outcomes(in_process), outcomes(process)
    assert len(mine["materialized"]) > 50 and len(mine["checks"]) > 50
    assert all(passed for _, _, passed, _ in mine["checks"])
    assert mine == theirs
    # the step closed dbt's connection: the warehouse opens read-only in this process, as the checks open it
    with duckdb.connect(str(warehouse.paths.work_db), read_only=True) as con:
        assert con.execute("select count(*) from main.fct_contacts").fetchone()[0] > 0


def test_a_failed_dbt_test_fails_the_step_with_dbts_own_error(warehouse):
    with warehouse.connect() as con:  # one contact twice: the contacts' key test fails where they are staged
        con.execute("insert into raw.ssd_contacts select * from raw.ssd_contacts limit 1")
    result = build(csc_dbt_models, warehouse)
    assert not result.success
    failed = [(asset, check) for asset, check, passed, severity in outcomes(result)["checks"]
              if not passed and severity == "ERROR"]
    assert failed == [("staging/stg_ssd__contacts", "column_rules_stg_ssd__contacts")]
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    error = failure.step_failure_data.error
    assert DBT_ERRORS in error.message
    reason = failure_reason(error)
    assert reason.startswith("dbt build failed: "), reason
    assert "Failure in test column_rules_stg_ssd__contacts (models/staging/ssd/stg_ssd__contacts.yml)" in reason
    # the terminal's line for the step (cli.runner.run_month) gives dbt's error, not the wrapper's
    line = failure_line(MONTH, failure.step_key, failure.step_failure_data)
    assert line.startswith(f"[{MONTH}] build + dbt tests: FAILED - dbt build failed: "), line
    assert "Failure in test column_rules_stg_ssd__contacts" in line
    with duckdb.connect(str(warehouse.paths.work_db), read_only=True) as con:
        assert con.execute("select count(*) from raw.ssd_contacts").fetchone()[0] > 0


def test_a_subset_of_the_assets_builds_only_them_and_their_checks(warehouse):
    """What the UI's "Materialize selected" asks: dagster-dbt's selection reaches the in-process dbt."""
    assert build(csc_dbt_models, warehouse).success  # the reference codes its rules read are built
    result = build(csc_dbt_models, warehouse, selection=[dg.AssetKey(["staging", "stg_ssd__contacts"])])
    assert result.success
    seen = outcomes(result)
    assert seen["materialized"] == {"staging/stg_ssd__contacts"}
    assert {asset for asset, *_ in seen["checks"]} == {"staging/stg_ssd__contacts"}


def test_a_months_staging_tests_check_the_extracts_its_build_reads(warehouse):
    """A staging test checks the extract being built, and every earlier one where the marts read
    them (persons: dim_child, fct_care_leavers); not every loaded extract, whose checks grew with the
    months loaded (column_rules' snapshot / snapshots_through)."""
    assert build(csc_dbt_models, warehouse).success
    with warehouse.connect() as con:  # an earlier and a later extract, each with one record twice
        for table in ("ssd_contacts", "ssd_person"):
            for month in ("2023-04-01", "2023-04-01", "2023-06-01", "2023-06-01"):
                con.execute(f"insert into raw.{table} select * replace (cast(? as date) as _extract_month) "
                            f"from raw.{table} limit 1", [month])
    staged = [dg.AssetKey(["staging", name]) for name in ("stg_ssd__contacts", "stg_ssd__person")]
    result = build(csc_dbt_models, warehouse, selection=staged)
    checks = {(asset, check): passed for asset, check, passed, _ in outcomes(result)["checks"]}
    assert checks == {("staging/stg_ssd__contacts", "column_rules_stg_ssd__contacts"): True,
                      ("staging/stg_ssd__person", "column_rules_stg_ssd__person"): False}


def test_the_in_process_command_carries_what_dagster_dbt_gives_its_process():
    argv = dbt_argv(["build", "--exclude-resource-type", "unit_test"], dbt_resource(), Path("/project"),
                    Path("/home/private/dbt-target/run1"), ["--select", "fqn:*"], "empty")
    assert argv[:6] == ["--no-use-colors", "--no-send-anonymous-usage-stats", "build", "--exclude-resource-type",
                        "unit_test", "--project-dir"]
    options = dict(zip(argv[5::2], argv[6::2], strict=False))
    assert options["--project-dir"] == "/project"
    assert options["--target-path"] == options["--log-path"] == "/home/private/dbt-target/run1"
    assert options["--target"] == "duckdb"
    assert options["--indirect-selection"] == "empty"
    assert argv[-2:] == ["--select", "fqn:*"]
