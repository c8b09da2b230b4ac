"""The severity policy: the reviewed file loads, covers every check the gate runs, and is strict."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dagster_project.checks.policy import (
    DEFAULT_POLICY,
    PolicyError,
    Severity,
    current_policy,
    load_policy,
    parse_policy,
    split_check_id,
)
from dagster_project.checks.results import FAILED, PASSED, SIGNED_OFF, WARN, Finding, SignOff, evaluate

FAMILIES = (
    "gx_suite",
    "volume_drift",
    "quarantine_rate",
    "freshness",
    "load_reconciliation",
    "completeness",
    "bounds",
    "consistency",
    "reconciliation",
    "history",
    "restatement",
)


def test_repository_policy_covers_every_family():
    policy = load_policy(DEFAULT_POLICY)
    for family in FAMILIES:
        rule = policy.rule(family, "anything")
        assert rule.severity in Severity
        assert policy.description(family), f"{family} has no description in {DEFAULT_POLICY.name}"


def test_default_severities():
    policy = load_policy(DEFAULT_POLICY)
    # figures that cannot be right are errors: they cannot be signed off
    for family in ("completeness", "bounds", "consistency", "reconciliation", "load_reconciliation"):
        assert policy.rule(family, "x").severity is Severity.ERROR
    # judgement calls are holds: a named person may sign them off
    for family in ("history", "restatement", "volume_drift", "quarantine_rate", "gx_suite", "freshness"):
        assert policy.rule(family, "x").severity is Severity.HOLD


def test_subject_overrides_merge_over_the_family(tmp_path):
    """A council tunes one subject (its care leavers' table moves more) and inherits the rest."""
    data = yaml.safe_load(DEFAULT_POLICY.read_text())
    data["checks"]["volume_drift"]["subjects"] = {"ssd_care_leavers": {"z_max": 6.0}}
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(data))
    policy = load_policy(path)
    base = policy.rule("volume_drift", "ssd_contacts")
    leavers = policy.rule("volume_drift", "ssd_care_leavers")
    assert base["z_max"] == 4.0
    assert leavers["z_max"] == 6.0
    assert leavers["min_rows_change"] == base["min_rows_change"]  # inherited
    assert leavers.severity is base.severity


def test_the_shipped_policy_holds_sensitivities_not_fitted_values():
    """Every family that judges history says how much history it needs; no subject is tuned."""
    policy = load_policy(DEFAULT_POLICY)
    for family, spec in policy.families.items():
        assert not spec.get("subjects"), f"{family}: the shipped policy tunes no subject"
    for family in ("volume_drift", "restatement"):
        assert policy.family(family)["min_history"] >= 1
    for family in ("history", "mix"):
        assert policy.family(family)["min_history_months"] >= 1


def test_nested_overrides_keep_sibling_thresholds(tmp_path):
    data = {
        "checks": {
            "history": {
                "severity": "hold",
                "percent": {"z_max": 4.0, "min_change_pp": 10},
                "subjects": {"rhi_accepted_pct": {"severity": "warn", "percent": {"z_max": 6}}},
            }
        }
    }
    policy = parse_policy(data, tmp_path / "p.yml")
    rule = policy.rule("history", "rhi_accepted_pct")
    assert rule.severity is Severity.WARN
    assert rule["percent"] == {"z_max": 6, "min_change_pp": 10}
    assert policy.rule("history", "contacts").severity is Severity.HOLD


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "'checks' section"),
        ({"checks": {"history": {"z_max": 3}}}, "has no severity"),
        ({"checks": {"history": {"severity": "block"}}}, "is not one of"),
        (
            {"checks": {"history": {"severity": "hold", "subjects": {"contacts": {"severity": "maybe"}}}}},
            "history.contacts",
        ),
    ],
)
def test_malformed_policies_are_refused(data, message, tmp_path):
    with pytest.raises(PolicyError, match=message):
        parse_policy(data, tmp_path / "p.yml")


def test_unknown_family_is_an_error(tmp_path):
    policy = parse_policy({"checks": {"history": {"severity": "hold"}}}, tmp_path / "p.yml")
    with pytest.raises(PolicyError, match="no policy for check family 'bounds'"):
        policy.rule("bounds", "contacts")


def test_policy_path_from_environment(tmp_path, monkeypatch):
    path = tmp_path / "tuned.yml"
    path.write_text(yaml.safe_dump({"checks": {"history": {"severity": "warn"}}}))
    monkeypatch.setenv("CSC_QUALITY_POLICY", str(path))
    assert current_policy().path == path
    assert current_policy().severity("history.contacts") is Severity.WARN


def test_check_ids_accept_both_spellings():
    assert split_check_id("history.rhi_accepted_pct") == ("history", "rhi_accepted_pct")
    assert split_check_id("history__rhi_accepted_pct") == ("history", "rhi_accepted_pct")
    assert split_check_id(" volume_drift.ssd_contacts ") == ("volume_drift", "ssd_contacts")
    with pytest.raises(ValueError, match="not a check id"):
        split_check_id("history")


def test_evaluation_applies_severity_and_signoffs(tmp_path):
    policy = parse_policy(
        {
            "checks": {
                "bounds": {"severity": "error"},
                "history": {"severity": "hold"},
                "restatement": {"severity": "warn"},
            }
        },
        tmp_path / "p.yml",
    )
    from datetime import date, datetime

    signed = {
        "history.rhi_accepted_pct": SignOff(
            date(2023, 12, 1),
            "history.rhi_accepted_pct",
            "A. Analyst",
            "checked with the missing team",
            datetime(2024, 1, 5, 9, 0),
        )
    }
    findings = [
        Finding("bounds", "contacts", True, "ok"),
        Finding("bounds", "rhi_accepted_pct", False, "percentage outside 0-100"),
        Finding("history", "rhi_accepted_pct", False, "83.0% vs 40.0%"),
        Finding("history", "contacts", False, "3,567 vs 1,000"),
        Finding("restatement", "contacts", False, "moved 10%"),
    ]
    statuses = {e.check_id: e.status for e in evaluate(findings, policy, signed)}
    assert statuses == {
        "bounds.contacts": PASSED,
        "bounds.rhi_accepted_pct": FAILED,  # error: a sign-off could not help
        "history.rhi_accepted_pct": SIGNED_OFF,
        "history.contacts": FAILED,  # hold without a sign-off
        "restatement.contacts": WARN,
    }


def test_error_checks_ignore_signoffs(tmp_path):
    from datetime import date, datetime

    policy = parse_policy({"checks": {"bounds": {"severity": "error"}}}, Path(tmp_path / "p.yml"))
    signed = {
        "bounds.contacts": SignOff(date(2023, 12, 1), "bounds.contacts", "X", "because", datetime(2024, 1, 1))
    }
    [e] = evaluate([Finding("bounds", "contacts", False, "negative count")], policy, signed)
    assert e.status == FAILED and e.blocks
