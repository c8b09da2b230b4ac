"""The dbt docs site published beside the analysts' warehouse: ``<home>/published/docs/``.

The manifest is the one the month's ``dbt build`` wrote (``<home>/private/dbt-target/<run>/``): every
model's description, column docs, lineage and the SQL it ran. The catalog (tables, columns,
types, comments) is read from the *published copy* of the warehouse (in the staging area, before
the swap), so it is exactly what analysts get; it is built by dbt's own catalog classes from the
same DuckDB query dbt-duckdb's ``get_catalog`` macro runs. (``dbt docs generate`` did the same in
a second dbt process: a full re-parse and compile of the project, 15 s of a 100 s Bradford-sized
run; see bench/results.md.) The site is ``index.html`` (dbt's docs page with the manifest and
catalog inlined, so it opens from the file system with no server), plus ``manifest.json`` and
``catalog.json`` for tools.

Nothing secret or identifying goes in: the pseudonymisation key is read at run time from an
in-memory table of dbt's connection (dbt/macros/pseudonymise.sql), so compiled SQL never carries it, and
:func:`check_no_secret` refuses to publish a site in which the key appears; the manifest's
usage-tracking id and environment are blanked. The docs describe data, they hold none: a dbt
manifest has no table rows (only the hand-made fixtures of the dbt unit tests).

The same warehouse gives the same bytes (:func:`_reproducible`): dbt's clock times (when it ran,
when it parsed each node) become the warehouse's extract month, its invocation id is dropped, the
paths of the private run folder become relative to it (``run/csc_warehouse/models/...``) and the
JSON is written with its keys sorted (dbt's node order follows its parse).
dbt's docs page shows none of these; when the month was published is in its publication.json.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, time
from pathlib import Path
from types import SimpleNamespace

import duckdb

from dagster_project.warehouse_sql import fetch_dicts

DOCS_FILES = ("index.html", "manifest.json", "catalog.json")

# dbt-duckdb's catalog query (dbt/include/duckdb/macros/catalog.sql), over every schema
CATALOG_SQL = """
with tables as (
    select database_name, schema_name, table_name, 'BASE TABLE' as table_type, comment
    from duckdb_tables() where not internal
    union all
    select database_name, schema_name, view_name, 'VIEW', comment
    from duckdb_views() where not internal
)
select
    t.schema_name as table_schema,
    t.table_name,
    t.table_type,
    t.comment as table_comment,
    c.column_name,
    c.column_index,
    c.data_type as column_type,
    c.comment as column_comment,
    null as table_owner
from tables as t
inner join duckdb_columns() as c using (database_name, schema_name, table_name)
where t.database_name = current_database()
order by t.schema_name, t.table_name, c.column_index
"""


class DocsSiteError(RuntimeError):
    """The docs site could not be generated, or would have published something secret."""


def _docs_index_template() -> Path:
    from dbt.task.docs import DOCS_INDEX_FILE_PATH

    return Path(DOCS_INDEX_FILE_PATH)


def extract_month(published_db: Path) -> date:
    """The extract month of the scorecard in ``published_db`` (what the docs describe)."""
    con = duckdb.connect(str(published_db), read_only=True)
    try:
        month = con.execute("select max(extract_month) from main.fct_scorecard").fetchone()[0]
    finally:
        con.close()
    if month is None:
        raise DocsSiteError(f"{published_db} holds no scorecard: no extract month to describe")
    return month


def build_catalog(published_db: Path, manifest: dict, stamp: datetime) -> dict:
    """dbt's catalog.json for the relations of ``published_db`` that the manifest describes,
    dated ``stamp``."""
    from dbt.artifacts.schemas.catalog import CatalogArtifact
    from dbt.task.docs.generate import Catalog

    con = duckdb.connect(str(published_db), read_only=True)
    try:
        rows = fetch_dicts(con, CATALOG_SQL)
    finally:
        con.close()
    database = next((n["database"] for n in manifest["nodes"].values() if n.get("database")), None)
    catalog = Catalog([{**row, "table_database": database} for row in rows])

    def relations(kind: str) -> dict:
        return {uid: SimpleNamespace(database=n.get("database"), schema=n["schema"],
                                     identifier=n.get("identifier") or n.get("alias") or n["name"])
                for uid, n in manifest[kind].items() if n.get("schema")}

    # dbt's own matching of catalog tables to manifest nodes and sources; it reads only each
    # relation's database, schema and identifier, so the manifest JSON stands in for dbt's object
    nodes, sources = catalog.make_unique_id_map(SimpleNamespace(nodes=relations("nodes"),
                                                                sources=relations("sources")))
    artifact = CatalogArtifact.from_results(generated_at=stamp, nodes=nodes, sources=sources,
                                            compile_results=None, errors=None)
    return artifact.to_dict(omit_none=False)


def _clean_manifest(manifest: dict) -> dict:
    """Without who built it and without disabled nodes (the region's benchmark, never in a council's
    warehouse: dbt lists a disabled model's sources in no fixed order)."""
    manifest["disabled"] = {}
    meta = manifest.get("metadata", {})
    meta["user_id"] = None
    meta["env"] = {}
    meta["send_anonymous_usage_stats"] = False
    return manifest


RUN_TIMES = ("generated_at", "invocation_started_at", "run_started_at")  # dbt artifacts' metadata


def _reproducible(artifact: dict, stamp: datetime, dbt_target: Path) -> dict:
    """``artifact`` (a manifest or catalog) without what differs between two builds of the same
    warehouse: run times become ``stamp``, the invocation id goes, each node's parse time
    (``created_at``) becomes ``stamp``, its build and compiled paths lose the private run
    folder ``dbt_target``, and a seed's ``root_path`` (the dbt project's folder on the machine that
    built it) becomes ``.``, as its other paths are relative to it."""
    meta = artifact.get("metadata", {})
    for name in RUN_TIMES:
        if name in meta:
            meta[name] = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    meta["invocation_id"] = None
    prefix = f"{dbt_target}/"
    for section in artifact.values():
        if not isinstance(section, dict):
            continue
        for entry in section.values():
            for node in entry if isinstance(entry, list) else [entry]:  # "disabled" holds lists
                if not isinstance(node, dict):
                    continue
                if isinstance(node.get("created_at"), float):
                    node["created_at"] = stamp.replace(tzinfo=UTC).timestamp()
                for name in ("build_path", "compiled_path"):
                    if isinstance(node.get(name), str) and node[name].startswith(prefix):
                        node[name] = node[name].removeprefix(prefix)
                if isinstance(node.get("root_path"), str):
                    node["root_path"] = "."
    return artifact


def check_no_secret(folder: Path, key: str) -> None:
    """Raise when the pseudonymisation key appears in any file of ``folder`` (naming the model
    whose compiled SQL holds it, when one does)."""
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if key not in text:
            continue
        try:
            nodes = json.loads(text).get("nodes", {}) if path.name == "manifest.json" else {}
        except json.JSONDecodeError:
            nodes = {}  # not a manifest dbt wrote: refused below all the same
        for uid, node in nodes.items():
            if key in (node.get("compiled_code") or ""):
                raise DocsSiteError(f"the pseudonymisation key is in the compiled SQL of {uid}")
        raise DocsSiteError(f"the pseudonymisation key appears in {path.name}: not publishing the docs site")


def build_manifest(dbt_target: Path) -> Path:
    """The manifest the month's dbt build left in ``dbt_target`` (read for the docs site and for the
    marts' keys: publish.outputs.marts.mart_keys)."""
    path = dbt_target / "manifest.json"
    if not path.exists():
        raise DocsSiteError(f"the dbt build left no manifest in {dbt_target}")
    return path


def write_docs_site(published_db: Path, dbt_target: Path, out_dir: Path, key: str) -> list[Path]:
    """Write the docs site for ``published_db`` into ``out_dir`` (a staging folder), from the
    manifest the month's dbt build left in ``dbt_target``; ``key``: the pseudonymisation key, which
    must appear nowhere in it."""
    manifest_path = build_manifest(dbt_target)
    stamp = datetime.combine(extract_month(published_db), time())
    manifest = _reproducible(_clean_manifest(json.loads(manifest_path.read_text(encoding="utf-8"))), stamp,
                             dbt_target)
    catalog = _reproducible(build_catalog(published_db, manifest, stamp), stamp, dbt_target)
    # keys sorted: dbt lists the nodes in the order its parse happened to meet them
    manifest_text = json.dumps(manifest, separators=(",", ":"), sort_keys=True)
    catalog_text = json.dumps(catalog, separators=(",", ":"), sort_keys=True)
    index = _docs_index_template().read_text(encoding="utf-8")
    index = index.replace('"MANIFEST.JSON INLINE DATA"', manifest_text)
    index = index.replace('"CATALOG.JSON INLINE DATA"', catalog_text)
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    (out_dir / "manifest.json").write_text(manifest_text, encoding="utf-8")
    (out_dir / "catalog.json").write_text(catalog_text, encoding="utf-8")
    (out_dir / "index.html").write_text(index, encoding="utf-8")
    check_no_secret(out_dir, key)
    return [out_dir / name for name in DOCS_FILES]
