"""Stand-ins for dbt's cross-database macros (`dbt.date_trunc` ...), rendering DuckDB SQL."""

from __future__ import annotations


def date_trunc(datepart: str, date: str) -> str:
    return f"date_trunc('{datepart}', {date})"


def dateadd(datepart: str, interval: str, from_date_or_timestamp: str) -> str:
    return f"({from_date_or_timestamp} + to_months(cast({interval} as integer)))"


def datediff(first_date: str, second_date: str, datepart: str) -> str:
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def last_day(date: str, datepart: str) -> str:
    return f"last_day({date})"


def safe_cast(field: str, type: str) -> str:  # noqa: A002 - dbt's argument name
    return f"try_cast({field} as {type})"


def type_string() -> str:
    return "varchar"


def type_int() -> str:
    return "integer"


def type_bigint() -> str:
    return "bigint"


def type_float() -> str:
    return "double"


def type_boolean() -> str:
    return "boolean"


def date_spine(datepart: str, start_date: str, end_date: str) -> str:
    return (
        f"select cast(range as date) as date_{datepart} "
        f"from range({start_date}, {end_date}, interval 1 {datepart})"
    )


def generate_series(upper_bound: int) -> str:
    return f"select generate_series as generated_number from generate_series(1, {upper_bound})"


def bool_or(expression: str) -> str:
    return f"bool_or({expression})"
