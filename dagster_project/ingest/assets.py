"""The ingest stage as Dagster assets: one month's extract folder into the raw layer.

One multi-asset materialises every raw table of a month at once (a month loads whole or not at
all); each table's materialisation carries its reconciliation numbers from the load log.
"""


import threading
from collections.abc import Iterator

import dagster as dg

from dagster_project.contract import TABLES, parse_month
from dagster_project.gx_import import import_great_expectations
from dagster_project.ingest.load import ExtractRejected, LoadResult, load_extract
from dagster_project.ingest.raw_schema import LOG_TABLES_DDL, RAW_SCHEMA
from dagster_project.partitions import monthly_partitions
from dagster_project.pseudonym import prepare_key
from dagster_project.resources import WarehouseResource
from dagster_project.settings import WRITER_POOL

REJECTED_TAG = "csc/extract_rejected"


def _import_great_expectations_in_background() -> None:
    """Import Great Expectations on a daemon thread. The raw checks after this step use it, and its
    import costs seconds of Python: started here it overlaps the load (DuckDB and polars work, which
    releases the GIL). An import error is not lost: the check importing it again reports it."""
    threading.Thread(target=import_great_expectations, name="import-great_expectations", daemon=True).start()


def raw_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([RAW_SCHEMA, name])


RAW_TABLE_KEYS = [raw_key(t.name) for t in TABLES]
RAW_LOG_KEYS = [raw_key(name) for name in LOG_TABLES_DDL]


def table_metadata(result: LoadResult, table: str) -> dict[str, object]:
    """What the Dagster UI shows on a raw table's materialisation."""
    rec = result.tables.get(table)
    if rec is None:  # optional table absent from this extract
        return {"present_in_extract": False, "dagster/row_count": 0}
    return {
        "present_in_extract": True,
        "file": rec.file_name,
        "sha256": rec.sha256,
        "rows_read": rec.rows_read,
        "rows_loaded": rec.rows_loaded,
        "rows_quarantined": rec.rows_quarantined,
        "duplicates_dropped": rec.duplicates_dropped,
        "manifest_verified": rec.manifest_verified,
        "reconciles": rec.rows_read == rec.rows_loaded + rec.rows_quarantined + rec.duplicates_dropped,
        "dagster/row_count": rec.rows_loaded,
    }


@dg.multi_asset(
    name="ssd_extract",
    specs=[
        *[dg.AssetSpec(k, group_name="ingest", kinds={"polars", "duckdb"},
                       description=f"Raw snapshots of {k.path[-1]}: every loaded extract month, as sent.")
          for k in RAW_TABLE_KEYS],
        *[dg.AssetSpec(k, group_name="ingest", kinds={"duckdb"},
                       description=f"Ingest bookkeeping: raw.{k.path[-1]}.") for k in RAW_LOG_KEYS],
    ],
    partitions_def=monthly_partitions,
    pool=WRITER_POOL,
    backfill_policy=dg.BackfillPolicy.multi_run(1),
    can_subset=False,
)
def ssd_extract(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[dg.MaterializeResult]:
    """Validate and load the month's extract folder; reject the whole month on a file-level failure."""
    month = parse_month(context.partition_key)
    folder = warehouse.extract_folder(context.partition_key)
    context.log.info(f"[{context.partition_key}] ingest: loading {folder}")
    _import_great_expectations_in_background()
    try:
        with warehouse.connect() as con:
            prepare_key(con, warehouse.paths)  # stops here if the key is not the warehouse's
            result = load_extract(con, folder, month, run_id=context.run_id,
                                  worklist=warehouse.paths.worklist(month))
    except ExtractRejected as rejected:  # its reason names file, line and rule, never a value
        context.instance.add_run_tags(context.run_id, {REJECTED_TAG: "true"})
        raise dg.Failure(
            description=f"Extract {context.partition_key} rejected: {rejected}",
            metadata={"month": context.partition_key, "file": rejected.file, "reason": rejected.reason,
                      **({"line": rejected.line} if rejected.line is not None else {})},
            allow_retries=False,
        ) from rejected
    quarantined = sum(r.rows_quarantined for r in result.tables.values())
    # counts and paths only: the values of failing rows stay in the private zone (the worklist)
    context.log.info(
        f"[{context.partition_key}] ingest: {sum(r.rows_loaded for r in result.tables.values()):,} rows loaded, "
        f"{quarantined:,} quarantined in {result.seconds:.1f}s; worklist of failures: {result.worklist}"
    )
    for table in TABLES:
        yield dg.MaterializeResult(asset_key=raw_key(table.name), metadata=table_metadata(result, table.name))
    for key in RAW_LOG_KEYS:
        yield dg.MaterializeResult(asset_key=key)
