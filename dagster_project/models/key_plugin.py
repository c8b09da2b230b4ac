"""dbt-duckdb plugin: every dbt connection to the warehouse gets the pseudonymisation key in memory.

Named in dbt/profiles.yml (``plugins``). It attaches the in-memory database ``csc_key`` holding the
key configured in the environment (``$CSC_PSEUDONYM_KEY`` or ``$CSC_PSEUDONYM_KEY_FILE``; the
pipeline points dbt at the home's key file), which the ``pseudonymise`` macro reads at run time.
Without a configured key the table is empty and a model that pseudonymises fails saying so.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from dagster_project.pseudonym import attach_key, configured_key


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        attach_key(conn, configured_key())
