"""Sign-offs: a named person accepts a failed ``hold`` check for one month.

A sign-off records who, when, why and which figures (the summary and evidence of the check's
latest failed evaluation). The next run of that month evaluates the check again; when it still
fails, the sign-off turns it into ``signed_off`` (a pass, with the sign-off beside the figure).
``error`` checks cannot be signed off (the data must be fixed); ``warn`` checks never block.

The name and the reason are printed in the workbook, the quality report and the page, so they are
checked first (:func:`validate_text`: not empty, not too long, no control characters) and stored
as the text given (spaces tidied); every writer neutralises them on output
(:mod:`dagster_project.safe_text`, HTML escaping), so ``=HYPERLINK(...)`` is shown, never run.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, date, datetime

import duckdb

from dagster_project.checks.policy import Policy, Severity, check_id, split_check_id
from dagster_project.checks.results import (
    FAILED,
    QUALITY_SCHEMA,
    SIGNED_OFF,
    SignOff,
    ensure_quality_schema,
)


class SignOffRefused(ValueError):
    """The sign-off cannot be recorded; the message says why and what to do."""


BY_LENGTH = (2, 100)  # characters of --by, after tidying spaces
REASON_LENGTH = (5, 1000)  # characters of --reason
# control characters (tab, line breaks, NUL, ...), lone surrogates, line and paragraph separators
REFUSED_CATEGORIES = ("Cc", "Cs", "Zl", "Zp")
# invisible characters that reorder how text is shown (Unicode bidi controls, "Trojan Source")
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def validate_text(option: str, text: str, length: tuple[int, int]) -> str:
    """``text`` as stored (runs of spaces made one, ends trimmed), or :class:`SignOffRefused`
    saying what is wrong: a control character or bidi control, or a length outside ``length``."""
    bad = sorted({f"U+{ord(c):04X}" for c in text
                  if unicodedata.category(c) in REFUSED_CATEGORIES or c in BIDI_CONTROLS})
    if bad:
        raise SignOffRefused(f"{option} holds control characters ({', '.join(bad)}): give plain text on one line")
    tidy = " ".join(text.split())
    low, high = length
    if len(tidy) > high:
        raise SignOffRefused(f"{option} is {len(tidy)} characters long; at most {high} are allowed")
    if len(tidy) < low:
        what = "must name the person signing off" if option == "--by" else "must say why the figure is right"
        raise SignOffRefused(f"{option} {what} (at least {low} characters)")
    return tidy


def normalise_check_id(text: str) -> str:
    try:
        return check_id(*split_check_id(text))
    except ValueError as e:
        raise SignOffRefused(str(e)) from None


def signoffs_for_month(con: duckdb.DuckDBPyConnection, month: date) -> dict[str, SignOff]:
    """The month's sign-offs by check id (the latest when a check was signed off twice)."""
    ensure_quality_schema(con)
    rows = con.execute(
        f"""select check_id, signed_by, reason, signed_at, summary, evidence
            from {QUALITY_SCHEMA}.signoffs where month = ? order by signed_at""",
        [month],
    ).fetchall()
    return {
        r[0]: SignOff(month, r[0], r[1], r[2], r[3], r[4], json.loads(r[5]) if r[5] else None) for r in rows
    }


def _blocking_checks(con: duckdb.DuckDBPyConnection, month: date) -> list[str]:
    """Check ids that blocked the month's latest evaluation of them."""
    rows = con.execute(
        f"""select check_id, severity from {QUALITY_SCHEMA}.check_results where month = ?
            qualify row_number() over (partition by check_id order by checked_at desc) = 1
                and status = '{FAILED}'
            order by check_id""",
        [month],
    ).fetchall()
    return [f"{r[0]} ({r[1]})" for r in rows]


def record_signoff(
    con: duckdb.DuckDBPyConnection,
    policy: Policy,
    month: date,
    check: str,
    by: str,
    reason: str,
    at: datetime | None = None,
) -> SignOff:
    """Record a sign-off of ``check`` for ``month`` with the figures of its latest failed evaluation."""
    by, reason = validate_text("--by", by, BY_LENGTH), validate_text("--reason", reason, REASON_LENGTH)
    ensure_quality_schema(con)
    cid = normalise_check_id(check)
    family, subject = split_check_id(cid)
    try:
        severity = policy.rule(family, subject).severity
    except ValueError as e:
        raise SignOffRefused(f"unknown check {cid}: {e}") from None
    if severity is Severity.ERROR:
        raise SignOffRefused(
            f"{cid} is an error check ({policy.path.name}): it cannot be signed off; the data must be "
            "fixed and the month run again"
        )
    if severity is Severity.WARN:
        raise SignOffRefused(f"{cid} is a warn check: it never blocks, there is nothing to sign off")
    latest = con.execute(
        f"""select status, summary, evidence, run_id, measure_id, figure_month
            from {QUALITY_SCHEMA}.check_results where month = ? and check_id = ?
            order by checked_at desc limit 1""",
        [month, cid],
    ).fetchone()
    failed = con.execute(
        f"""select status, summary, evidence, run_id, measure_id, figure_month
            from {QUALITY_SCHEMA}.check_results where month = ? and check_id = ?
                and status in ('{FAILED}', '{SIGNED_OFF}')
            order by checked_at desc limit 1""",
        [month, cid],
    ).fetchone()
    if latest is None or failed is None or latest[0] not in (FAILED, SIGNED_OFF):
        blocking = _blocking_checks(con, month)
        hint = (
            ("checks blocking " + f"{month:%Y-%m}: " + ", ".join(blocking))
            if blocking
            else (f"no check is blocking {month:%Y-%m}")
        )
        state = "has not been evaluated" if latest is None else "passed in its latest evaluation"
        raise SignOffRefused(f"{cid} {state} for {month:%Y-%m}; nothing to sign off ({hint})")
    _status, summary, evidence, run_id, measure_id, figure_month = failed
    signed_at = (at or datetime.now(UTC)).replace(tzinfo=None)
    con.execute(
        f"INSERT INTO {QUALITY_SCHEMA}.signoffs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            month,
            cid,
            by,
            reason,
            signed_at,
            severity.value,
            summary,
            evidence,
            measure_id,
            figure_month,
            run_id,
        ],
    )
    return SignOff(month, cid, by, reason, signed_at, summary, json.loads(evidence) if evidence else None)
