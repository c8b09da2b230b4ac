"""Stand-ins for dbt's jinja context, for sqlfluff's jinja templater (dbt/.sqlfluff).

sqlfluff renders the models without dbt, so dbt's cross-database macros (`dbt.*`), `adapter`,
`env_var` and `api` are replaced here by functions that render plausible DuckDB SQL. Only the
lint sees them; dbt itself never imports this package.
"""

from __future__ import annotations

from typing import Any


def env_var(name: str, default: str = "") -> str:
    return default or "lint"


class _Adapter:
    @staticmethod
    def dispatch(macro_name: str, macro_namespace: str | None = None):
        def call(*args: Any, **kwargs: Any) -> str:
            return f"{macro_name}({', '.join(str(a) for a in args)})"

        return call


adapter = _Adapter()
