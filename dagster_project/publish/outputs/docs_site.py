"""The dbt docs site published beside the analysts' warehouse: ``<home>/published/docs/``.

``dbt docs generate`` runs against the *published copy* of the warehouse (in the staging area,
before the swap), so the catalog (tables, columns, types) is exactly what analysts get; the
manifest carries every model's description, column docs, lineage and SQL. The site is
``index.html`` (dbt's docs page with the manifest and catalog inlined, so it opens from the file
system with no server), plus ``manifest.json`` and ``catalog.json`` for tools.

Nothing secret or identifying goes in: the pseudonymisation key is read at run time from the
working warehouse (dbt/macros/pseudonymise.sql), so compiled SQL never carries it, and
:func:`check_no_secret` refuses to publish a site in which the key appears; the manifest's
usage-tracking id and environment are blanked. The docs describe data, they hold none: a dbt
manifest has no table rows (only the hand-made fixtures of the dbt unit tests).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from dagster_project.models.pseudonym import DEMO_KEY, pseudonym_key

REPO_ROOT = Path(__file__).resolve().parents[3]
DBT_DIR = REPO_ROOT / "dbt"
DOCS_FILES = ("index.html", "manifest.json", "catalog.json")


class DocsSiteError(RuntimeError):
    """The docs site could not be generated, or would have published something secret."""


def _dbt_executable() -> str:
    import sys

    return str(Path(sys.executable).parent / "dbt")


def _docs_index_template() -> Path:
    from dbt.task.docs import DOCS_INDEX_FILE_PATH

    return Path(DOCS_INDEX_FILE_PATH)


def generate_docs(published_db: Path, extract_month: str, work: Path, timeout: int = 900) -> Path:
    """Run ``dbt docs generate`` against ``published_db``; returns dbt's target folder."""
    target = work / "target"
    shutil.rmtree(work, ignore_errors=True)
    target.mkdir(parents=True)
    env = {**os.environ, "CSC_WAREHOUSE_DB": str(published_db), "DBT_TARGET": "duckdb",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    cmd = [_dbt_executable(), "docs", "generate", "--profiles-dir", str(DBT_DIR),
           "--project-dir", str(DBT_DIR), "--target-path", str(target), "--log-path", str(work / "logs"),
           "--no-partial-parse",
           "--vars", json.dumps({"extract_month": extract_month}), "--quiet"]
    res = subprocess.run(cmd, cwd=DBT_DIR, env=env, capture_output=True, text=True, timeout=timeout,
                         check=False)
    if res.returncode != 0 or not all((target / f).exists() for f in ("manifest.json", "catalog.json")):
        output = (res.stdout + res.stderr)[-3000:]
        raise DocsSiteError(f"dbt docs generate failed ({res.returncode}): {output}")
    return target


def _clean_manifest(manifest: dict) -> dict:
    meta = manifest.get("metadata", {})
    meta["user_id"] = None
    meta["env"] = {}
    meta["send_anonymous_usage_stats"] = False
    return manifest


def check_no_secret(folder: Path, key: str | None = None) -> None:
    """Raise when the pseudonymisation key appears in any file of ``folder``.

    The published demo key is allowed only as the default in the source of the macro that
    reads the environment (it is public); it must not appear in any compiled SQL.
    """
    key = key if key is not None else pseudonym_key()
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if key != DEMO_KEY and key in text:
            raise DocsSiteError(f"the pseudonymisation key appears in {path.name}: "
                                "not publishing the docs site")
        if path.name == "manifest.json":
            manifest = json.loads(text)
            for uid, node in manifest.get("nodes", {}).items():
                if key in (node.get("compiled_code") or ""):
                    raise DocsSiteError(f"the pseudonymisation key is in the compiled SQL of {uid}")


def write_docs_site(published_db: Path, extract_month: str, out_dir: Path, work: Path) -> list[Path]:
    """Generate the docs site for ``published_db`` into ``out_dir`` (a staging folder)."""
    target = generate_docs(published_db, extract_month, work)
    manifest = _clean_manifest(json.loads((target / "manifest.json").read_text(encoding="utf-8")))
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))
    manifest_text = json.dumps(manifest, separators=(",", ":"))
    catalog_text = json.dumps(catalog, separators=(",", ":"))
    index = _docs_index_template().read_text(encoding="utf-8")
    index = index.replace('"MANIFEST.JSON INLINE DATA"', manifest_text)
    index = index.replace('"CATALOG.JSON INLINE DATA"', catalog_text)
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    (out_dir / "manifest.json").write_text(manifest_text, encoding="utf-8")
    (out_dir / "catalog.json").write_text(catalog_text, encoding="utf-8")
    (out_dir / "index.html").write_text(index, encoding="utf-8")
    check_no_secret(out_dir)
    shutil.rmtree(work, ignore_errors=True)
    return [out_dir / name for name in DOCS_FILES]
