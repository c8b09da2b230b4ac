"""dbt commands on the Spark target run one after another in one process, so that Spark's JVM (which
dbt-spark's session method starts in the process of the dbt that first queries it, and keeps until
that process ends) starts once for a whole test module rather than once per command.

Run by the Spark environment's Python (``.venv-spark/bin/python spark_dbt_session.py <log>``;
tests/test_spark.py starts it). The process's own output, at the level of its file descriptors 1 and
2, goes to ``<log>``: what Spark's JVM writes (it inherits them) and anything of the session's own.
Each line read from stdin is a request, ``{"args": [...], "output": "<file>", "errors": "<file>"}``:
the dbt command line after ``dbt``, run with ``dbtRunner`` (dbt's programmatic entry point), what dbt
prints into ``output`` and its Python warnings into ``errors``. Each request is answered, once the
command is over, by one line on the session's original stdout: ``{"success": true | false,
"exception": <repr of what stopped dbt, or null>}``. The process ends at the end of its input.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import redirect_stderr, redirect_stdout

from dbt.cli.main import dbtRunner


def run(args: list[str], output: str, errors: str) -> dict:
    """One dbt command, what it prints into ``output`` and its warnings into ``errors``: the answer."""
    with open(output, "w") as out, open(errors, "w") as err, redirect_stdout(out), redirect_stderr(err):
        result = dbtRunner().invoke(args)
    return {"success": result.success, "exception": None if result.exception is None else repr(result.exception)}


def main() -> None:
    """Answers each request read from stdin, one line each, with the session's output in argv[1]."""
    answers = os.fdopen(os.dup(1), "w")
    with open(sys.argv[1], "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    for line in sys.stdin:
        request = json.loads(line)
        answers.write(json.dumps(run(request["args"], request["output"], request["errors"])) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
