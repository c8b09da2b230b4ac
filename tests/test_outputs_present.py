"""How the published views say a direction of travel and list the RAG colours (publish/outputs/present.py)."""

from __future__ import annotations

from datetime import date

from dagster_project.publish.outputs.data import Figure, Measure, Publication, Status
from dagster_project.publish.outputs.present import NO_AMBER_BAND, RAG_MEANINGS, direction_against, rag_key

DEC = date(2023, 12, 1)


def test_a_direction_names_the_month_and_the_figure_it_is_compared_with():
    assert direction_against("better", "Nov 23", 3188.0, "count") == "▲ better than Nov 23 (3,188)"
    assert direction_against("worse", "Dec 22", 20.55, "percent") == "▼ worse than Dec 22 (20.6%)"
    assert direction_against("same", "Dec 22", 56.0, "count") == "► same as Dec 22 (56)"
    # the public version holds no earlier figure: the direction and the month only
    assert direction_against("better", "Nov 23", None, "count") == "▲ better than Nov 23"
    assert direction_against(None, "Nov 23", 12.0, "count") == ""


def _publication(*statuses: Status) -> Publication:
    measures = tuple(Measure(f"m{i}", f"m{i}", f"m{i}", "S", "High", "percent", "", i, False, None)
                     for i in range(len(statuses)))
    figures = {(m.measure_id, DEC): Figure(m.measure_id, DEC, 50.0, 1, 2, "available", status=st)
               for m, st in zip(measures, statuses, strict=True)}
    return Publication(DEC, (DEC,), measures, figures)


def test_the_rag_key_lists_amber_only_when_a_measure_has_an_amber_band():
    without = rag_key(_publication(Status(target=80.0), Status()))
    assert [r for r, _ in without] == ["green", "red"]
    assert NO_AMBER_BAND in dict(without)["red"]
    with_band = rag_key(_publication(Status(target=80.0), Status(target=20.0, amber_band=5.0)))
    assert with_band == [(r, RAG_MEANINGS[r]) for r in ("green", "amber", "red")]
