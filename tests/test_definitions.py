"""The code location loads, wires every stage into one job, and builds the right dbt command."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import dagster as dg

from dagster_project.models.dbt import (
    carry_partial_parse,
    dbt_build_args,
    dbt_build_env,
    keep_partial_parse,
    manifest_is_stale,
    month_start,
)
from dagster_project.settings import PUBLIC_VARIANT_ENV


def test_definitions_load():
    from dagster_project.definitions import defs

    dg.Definitions.validate_loadable(defs)


def test_monthly_job_covers_ingest_models_and_publish():
    from dagster_project.definitions import MONTHLY_JOB, defs

    job = defs.resolve_job_def(MONTHLY_JOB)
    keys = {k.to_user_string() for k in job.asset_layer.executable_asset_keys}
    assert {"raw/ssd_contacts", "raw/quarantine", "fct_contacts", "fct_scorecard", "published/scorecard"} <= keys


def test_dbt_sources_are_the_ingest_assets():
    from dagster_project.definitions import defs

    graph = defs.resolve_asset_graph()
    stg = dg.AssetKey(["staging", "stg_ssd__contacts"])
    assert dg.AssetKey(["raw", "ssd_contacts"]) in graph.get(stg).parent_keys


def test_dbt_tests_are_blocking_asset_checks():
    from dagster_project.definitions import defs

    checks = [spec for a in defs.resolve_asset_graph().assets_defs for spec in a.check_specs]
    dbt_checks = [c for c in checks if c.asset_key == dg.AssetKey("fct_scorecard")]
    assert dbt_checks, "fct_scorecard has dbt tests"
    assert any(c.blocking for c in dbt_checks)


def test_dbt_build_gets_the_extract_month_from_its_environment(tmp_path):
    assert month_start("2023-07") == "2023-07-01"
    assert dbt_build_args() == ["build", "--exclude-resource-type", "unit_test"]
    env = dbt_build_env("2023-07", tmp_path / "warehouse.duckdb")
    assert env == {"CSC_WAREHOUSE_DB": str(tmp_path / "warehouse.duckdb"), "CSC_EXTRACT_MONTH": "2023-07-01"}


def test_partial_parse_state_carries_from_build_to_build(tmp_path):
    saved = tmp_path / "dbt-target"
    saved.mkdir()
    first = saved / "run1"
    carry_partial_parse(saved, first)  # nothing saved yet: dbt parses from scratch
    assert not (first / "partial_parse.msgpack").exists()
    first.mkdir()
    (first / "partial_parse.msgpack").write_bytes(b"state 1")
    keep_partial_parse(first, saved)
    carry_partial_parse(saved, saved / "run2")
    assert (saved / "run2" / "partial_parse.msgpack").read_bytes() == b"state 1"
    assert sorted(p.name for p in saved.iterdir()) == ["partial_parse.msgpack", "run1", "run2"]


def test_a_new_month_reparses_nothing(tmp_path):
    """dbt learns the month from $CSC_EXTRACT_MONTH only when it executes (macro extract_month), so
    its partial parsing never records the variable: a month's build after another month's keeps the
    parsed project whole (when it recorded it, every model calling the macro was parsed again)."""
    from dagster_project.models.engines import DBT_DIR, DBT_EXECUTABLE

    def parse(month: str) -> str:
        subprocess.run([DBT_EXECUTABLE, "parse", "--quiet", "--profiles-dir", str(DBT_DIR), "--target-path",
                        str(tmp_path), "--log-path", str(tmp_path), "--log-level-file", "debug"],
                       cwd=DBT_DIR, check=True, env={**os.environ, "DBT_TARGET": "lint", "CSC_EXTRACT_MONTH": month})
        log = (tmp_path / "dbt.log").read_text(encoding="utf-8")
        (tmp_path / "dbt.log").unlink()
        return log

    parse("2023-06-01")
    assert "Partial parsing enabled, no changes found, skipping parsing" in parse("2023-07-01")


def test_manifest_staleness(tmp_path):
    project = tmp_path / "dbt"
    (project / "models").mkdir(parents=True)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (project / "dbt_project.yml").write_text("name: x")
    manifest = project / "target" / "manifest.json"
    assert manifest_is_stale(manifest, project, seeds)
    manifest.parent.mkdir()
    manifest.write_text("{}")
    assert not manifest_is_stale(manifest, project, seeds)
    import os
    import time

    later = time.time() + 10
    (project / "models" / "m.sql").write_text("select 1")
    os.utime(project / "models" / "m.sql", (later, later))
    assert manifest_is_stale(manifest, project, seeds)


def test_partitions_start_at_the_first_extract_in_london_time(tmp_path):
    """The UI lists the months that exist: partitions start at the earliest extract folder (or
    $CSC_FIRST_MONTH), and the months and the schedule are in Europe/London time."""
    for month in ("2023-05", "2023-03", "notes"):
        (tmp_path / month).mkdir()
    code = ("from dagster_project.definitions import defs, monthly_partitions as p;"
            "s = defs.resolve_schedule_def('monthly_schedule');"
            "print(p.get_first_partition_key(), p.timezone, s.execution_timezone)")
    env = {**os.environ, "CSC_EXTRACTS_DIR": str(tmp_path), "CSC_FIRST_MONTH": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["2023-03", "Europe/London", "Europe/London"]
    env["CSC_FIRST_MONTH"] = "2022-11"  # the partitions alone (the code location's schedule is checked above)
    code = "from dagster_project.partitions import monthly_partitions as p; print(p.get_first_partition_key())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["2022-11"]


def _public_defaults(*values: str | None) -> list[str]:
    """The publish step's public-variant default (PublishConfig's and its run config schema's) in the
    code location loaded with each $CSC_PUBLIC_VARIANT (None: unset), or the error it refuses to load
    with; in one process, the publish assets' module and the code location executed afresh for each
    value (importlib.reload)."""
    code = f"""
import importlib, json, os, sys
import dagster_project.definitions
for value in json.loads(sys.argv[1]):
    os.environ.pop("{PUBLIC_VARIANT_ENV}", None)
    os.environ.update({{}} if value is None else {{"{PUBLIC_VARIANT_ENV}": value}})
    try:
        assets = importlib.reload(sys.modules["dagster_project.publish.assets"])
    except ValueError as error:
        print("refused:", error)
        continue
    importlib.reload(sys.modules["dagster_project.definitions"])
    schema = assets.PublishConfig.to_config_schema().as_field().config_type.fields["public"]
    print(assets.PublishConfig().public, schema.default_value)
"""
    env = {k: v for k, v in os.environ.items() if k != PUBLIC_VARIANT_ENV}
    done = subprocess.run([sys.executable, "-c", code, json.dumps(values)], env=env, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


def test_a_region_council_publishes_its_public_variant_from_the_sensor_and_schedule():
    """Runs the sensor and the schedule start carry no run config: $CSC_PUBLIC_VARIANT=1 makes the
    public variant (which the regional benchmark pools) the publish step's default."""
    unset, on, bad = _public_defaults(None, "1", "yes")
    assert (unset.split(), on.split()) == (["False", "False"], ["True", "True"])
    assert bad.startswith("refused:") and f"${PUBLIC_VARIANT_ENV}='yes'" in bad
