"""dbt commands on the Spark target run one after another in one process, so that Spark's JVM (which
dbt-spark's session method starts in the process of the dbt that first queries it, and keeps until
that process ends) starts once for a whole test module rather than once per command.

Run by the Spark environment's Python (``.venv-spark/bin/python``; tests/test_spark.py starts it).
Each line read from stdin is a request, ``{"args": [...], "output": "<file>"}``: the dbt command line
after ``dbt``, run with ``dbtRunner`` (dbt's programmatic entry point), its standard output (file
descriptor 1, where dbt writes) into ``output`` and its standard error into ``output`` + ``.stderr``
(Spark's JVM, started by the first command, keeps that command's two files). Each request is answered, once
the command is over, by one line on the original stdout: ``{"success": true | false}``. The process
ends at the end of its input.
"""

from __future__ import annotations

import json
import os
import sys

from dbt.cli.main import dbtRunner


def run(args: list[str], output: str) -> bool:
    """One dbt command, its standard output into ``output`` and its standard error beside it: whether
    it succeeded."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(output, "w") as out, open(f"{output}.stderr", "w") as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            return dbtRunner().invoke(args).success
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def main() -> None:
    answers = os.fdopen(os.dup(1), "w")
    for line in sys.stdin:
        request = json.loads(line)
        answers.write(json.dumps({"success": run(request["args"], request["output"])}) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
