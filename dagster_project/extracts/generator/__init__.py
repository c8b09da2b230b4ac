"""Demo-extract generator: simulated SSD monthly extracts for a Bradford-sized council.

``generate(out_dir, first, last, seed=42, scale=1.0, inject=())`` simulates children's journeys
(front door, help and protection, care, missing, care leavers) over the six years before the first
month and up to the last, then writes one full-refresh extract per month. See ``api.generate``.

Modules, by concern: ``timeline`` (which extracts, when taken), ``frontdoor`` (contacts and
decisions), ``protection`` (referrals, assessments, S47, conferences, plans, reviews), ``care`` and
``placements`` (periods of care, episodes, placements, legal statuses, reviews), ``missing``,
``leavers``, ``people`` and ``identity`` (the person register and its synthetic identifying
values), ``history`` (the whole simulated history), ``snapshot`` (one extract as a filter over the
history), ``writer`` (CSV files and manifest). ``params`` holds every calibration value;
``dates``, ``randomness``, ``codes`` and ``tables`` are vectorised helpers.
"""

from dagster_project.extracts.generator.api import GenerateReport, generate

__all__ = ["GenerateReport", "generate"]
