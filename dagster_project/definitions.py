"""The Dagster code location: thin wiring of the stages (ingest -> dbt build -> checks -> publish)."""

from __future__ import annotations

import dagster as dg

from dagster_project.checks.assets import quality_checks
from dagster_project.ingest.assets import ssd_extract
from dagster_project.ingest.automation import build_automation
from dagster_project.models.dbt import csc_dbt_models, dbt_resource
from dagster_project.partitions import monthly_partitions
from dagster_project.progress import progress_logger
from dagster_project.publish.assets import published_scorecard
from dagster_project.resources import WarehouseResource
from dagster_project.settings import collect_garbage_less_often, restrict_umask

MONTHLY_JOB = "csc_monthly"

# One run = one extract month, every stage. Steps run in one process, one after another: DuckDB
# has a single writer, and the warehouse_writer pool (limit 1) keeps runs from overlapping.
csc_monthly = dg.define_asset_job(
    MONTHLY_JOB,
    selection=dg.AssetSelection.all(),
    partitions_def=monthly_partitions,
    executor_def=dg.in_process_executor,
    description="Ingest the month's extract, build the warehouse, run the checks, publish.",
)

new_extract_sensor, monthly_schedule = build_automation(csc_monthly)


def build_definitions(warehouse: WarehouseResource) -> dg.Definitions:
    """The code location for one warehouse home and extracts folder."""
    return dg.Definitions(
        assets=[ssd_extract, csc_dbt_models, published_scorecard],
        asset_checks=quality_checks,
        jobs=[csc_monthly],
        sensors=[new_extract_sensor],
        schedules=[monthly_schedule],
        resources={"warehouse": warehouse, "dbt": dbt_resource(warehouse.engine)},
        loggers={"progress": progress_logger},
    )


restrict_umask()  # files a run makes are private; publish opens the published zone on purpose
collect_garbage_less_often()  # every process that loads the code location (code servers, run workers)
defs = build_definitions(WarehouseResource.from_env())
