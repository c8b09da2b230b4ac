"""Check findings, their evaluation under the policy, and where they are kept.

A *finding* is one check id's verdict on the data (passed or not, a one-line summary with the
figures, and the figures as evidence). Evaluating it under the policy and the month's sign-offs
gives its status:

* ``passed``      the data passed;
* ``failed``      an ``error`` or an un-signed ``hold`` check failed: publication is blocked;
* ``signed_off``  a ``hold`` check failed and a named person signed it off for the month;
* ``warn``        a ``warn`` check failed: shown, never blocks.

Every evaluation is stored in the working warehouse (``quality.check_results``) so that the
quality report and ``csc-warehouse signoff`` can read it; sign-offs live in ``quality.signoffs``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from dagster_project.checks.policy import Policy, Severity, check_id
from dagster_project.contract import DOB, JSON, TABLES_BY_NAME

QUALITY_SCHEMA = "quality"

QUALITY_DDL = {
    "check_results": """(
        month DATE NOT NULL, check_id VARCHAR NOT NULL, family VARCHAR NOT NULL, subject VARCHAR NOT NULL,
        asset_key VARCHAR, severity VARCHAR NOT NULL, status VARCHAR NOT NULL, summary VARCHAR,
        evidence JSON, measure_id VARCHAR, figure_month DATE, run_id VARCHAR, checked_at TIMESTAMP)""",
    "signoffs": """(
        month DATE NOT NULL, check_id VARCHAR NOT NULL, signed_by VARCHAR NOT NULL, reason VARCHAR NOT NULL,
        signed_at TIMESTAMP NOT NULL, severity VARCHAR, summary VARCHAR, evidence JSON,
        measure_id VARCHAR, figure_month DATE, evaluated_run_id VARCHAR)""",
}

PASSED, FAILED, SIGNED_OFF, WARN = "passed", "failed", "signed_off", "warn"


def private_column(table: str, column: str | None) -> bool:
    """Values of this column never appear in evidence or reports: people's ids (and ssd_person's
    key), identifying columns, dates of birth, free text (JSON)."""
    t = TABLES_BY_NAME.get(table)
    if column is None or t is None:
        return False
    if (
        column.endswith("person_id")
        or column == t.person_column
        or (table == "ssd_person" and column == t.key)
    ):
        return True
    c = next((c for c in t.columns if c.name == column), None)
    return c is not None and (c.identifying or c.kind in (JSON, DOB))


def ensure_quality_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {QUALITY_SCHEMA}")
    for name, ddl in QUALITY_DDL.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {QUALITY_SCHEMA}.{name} {ddl}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 6)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy / decimal scalars
        return _jsonable(value.item())
    return value


def to_json(value: Any) -> str:
    return json.dumps(_jsonable(value), default=str, sort_keys=True)


@dataclass
class Finding:
    """One check id's verdict on the data."""

    family: str
    subject: str
    passed: bool
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    measure_id: str | None = None
    figure_month: date | None = None
    asset_key: str | None = None  # Dagster asset the check is attached to ('raw/ssd_contacts')

    @property
    def check_id(self) -> str:
        return check_id(self.family, self.subject)


@dataclass(frozen=True)
class SignOff:
    month: date
    check_id: str
    signed_by: str
    reason: str
    signed_at: datetime
    summary: str | None = None
    evidence: Any = None

    def as_text(self) -> str:
        return f"signed off by {self.signed_by} on {self.signed_at:%Y-%m-%d %H:%M} UTC: {self.reason}"


@dataclass
class Evaluation:
    finding: Finding
    severity: Severity
    status: str
    signoff: SignOff | None = None

    @property
    def check_id(self) -> str:
        return self.finding.check_id

    @property
    def blocks(self) -> bool:
        return self.status == FAILED

    def line(self) -> str:
        """One line for logs and messages: the check, its severity and status, the figures."""
        text = f"{self.check_id} [{self.severity.value}, {self.status}]: {self.finding.summary}"
        if self.signoff is not None:
            text += f" ({self.signoff.as_text()})"
        return text


def evaluate(
    findings: Iterable[Finding], policy: Policy, signoffs: Mapping[str, SignOff]
) -> list[Evaluation]:
    """Apply the policy's severities and the month's sign-offs to findings."""
    out = []
    for f in findings:
        severity = policy.rule(f.family, f.subject).severity
        signoff = None
        if f.passed:
            status = PASSED
        elif severity is Severity.WARN:
            status = WARN
        elif severity is Severity.HOLD and f.check_id in signoffs:
            status, signoff = SIGNED_OFF, signoffs[f.check_id]
        else:
            status = FAILED
        out.append(Evaluation(f, severity, status, signoff))
    return out


def store_evaluations(
    con: duckdb.DuckDBPyConnection,
    month: date,
    evaluations: Sequence[Evaluation],
    run_id: str,
    checked_at: datetime | None = None,
) -> None:
    """Append evaluations to quality.check_results (one row per check id)."""
    ensure_quality_schema(con)
    if not evaluations:
        return
    at = checked_at or datetime.now(UTC).replace(tzinfo=None)
    rows = [
        (
            month,
            e.check_id,
            e.finding.family,
            e.finding.subject,
            e.finding.asset_key,
            e.severity.value,
            e.status,
            e.finding.summary,
            to_json(e.finding.evidence),
            e.finding.measure_id,
            e.finding.figure_month,
            run_id,
            at,
        )
        for e in evaluations
    ]
    insert_rows(con, f"{QUALITY_SCHEMA}.check_results", CHECK_RESULT_COLUMNS, rows)


CHECK_RESULT_COLUMNS = (
    "month", "check_id", "family", "subject", "asset_key", "severity", "status", "summary", "evidence",
    "measure_id", "figure_month", "run_id", "checked_at",
)  # fmt: skip


def insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Bulk insert through Arrow (DuckDB's executemany goes row by row and is slow)."""
    if not rows:
        return
    import pyarrow as pa

    data = pa.Table.from_pylist([dict(zip(columns, r, strict=True)) for r in rows])
    name = f"_rows_{id(data)}"
    con.register(name, data)
    try:
        cols = ", ".join(columns)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {name}")
    finally:
        con.unregister(name)
