"""Demo-extract generator: simulated SSD monthly extracts for a Bradford-sized council or another
demo council.

``generate(out_dir, first, last, seed=42, scale=1.0, inject=(), council="bradford")`` simulates
children's journeys (front door, help and protection, care, missing, care leavers) over the six
years before the first month and up to the last, then writes one full-refresh extract per month.
See ``api.generate``.

Modules, by concern: ``timeline`` (which extracts, when taken), ``frontdoor`` (contacts and
decisions), ``protection`` (referrals, assessments, S47, conferences, plans, reviews), ``care`` and
``placements`` (periods of care, episodes, placements, legal statuses, reviews), ``missing``,
``leavers``, ``people`` and ``identity`` (the person register and its synthetic identifying
values), ``history`` (the whole simulated history), ``snapshot`` (one extract as a filter over the
history), ``writer`` (CSV files and manifest, in a council's file style). ``params`` holds every
calibration value; ``councils`` the demo councils and how each differs from that calibration;
``dates``, ``randomness``, ``codes`` and ``tables`` are vectorised helpers.

``generate`` and ``GenerateReport`` are imported on first use, so that ``councils`` can be read
(the CLI's help lists the councils) without loading numpy and polars.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagster_project.extracts.generator.api import GenerateReport, generate

__all__ = ["GenerateReport", "generate"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from dagster_project.extracts.generator import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
