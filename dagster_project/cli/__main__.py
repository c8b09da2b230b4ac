"""``python -m dagster_project.cli``: the same command as ``csc-warehouse``."""

from dagster_project.cli import main

main()
