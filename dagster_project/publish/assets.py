"""The publish stage as a Dagster asset: runs only when everything upstream built and passed."""


import dagster as dg
from pydantic import Field

from dagster_project.contract import parse_month
from dagster_project.models.dbt import csc_dbt_models
from dagster_project.partitions import monthly_partitions
from dagster_project.publish.wap import publish_month
from dagster_project.resources import WarehouseResource
from dagster_project.settings import WRITER_POOL, public_variant_by_default


class PublishConfig(dg.Config):
    """Publication settings of a month's run."""

    public: bool = Field(
        default=public_variant_by_default(),
        description="Also write the public variant (<YYYY-MM>/public/: csv, xlsx, html) with counts of "
                    "1 to 5 children suppressed as 'c' (DfE practice). The internal outputs are always "
                    "written. Default: $CSC_PUBLIC_VARIANT (1 yes, else no).",
    )


# A multi-asset of one (not @asset): the same asset, and its backfill policy (months one by one, as
# the other stages) is a stable parameter of multi_asset, where on @asset it warns as beta.
@dg.multi_asset(
    specs=[dg.AssetSpec(["published", "scorecard"], group_name="publish", deps=[csc_dbt_models],
                        kinds={"duckdb", "csv", "parquet"},
                        description="The month's published scorecard (CSV, Parquet, the committee workbook "
                                    "and page, the quality report, the marts as Parquet) and the analysts' "
                                    "warehouse (write-audit-publish).")],
    name="published__scorecard",
    partitions_def=monthly_partitions,
    pool=WRITER_POOL,
    backfill_policy=dg.BackfillPolicy.multi_run(1),
)
def published_scorecard(context: dg.AssetExecutionContext, config: PublishConfig,
                        warehouse: WarehouseResource) -> dg.MaterializeResult:
    month = parse_month(context.partition_key)
    context.log.info(f"[{context.partition_key}] publish: writing {warehouse.paths.published_dir}")
    with warehouse.connect() as con:
        published = publish_month(con, warehouse.paths, month, context.run_id, public=config.public)
    return dg.MaterializeResult(
        metadata={
            "month_dir": dg.MetadataValue.path(str(published.month_dir)),
            "warehouse": dg.MetadataValue.path(str(published.warehouse)) if published.warehouse else "unchanged",
            "tables_published": len(published.tables),
            "public_variant": config.public,
        }
    )
