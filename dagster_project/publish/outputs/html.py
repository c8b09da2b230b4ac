"""scorecard.html: the scorecard as one self-contained page (jinja2 template, inline SVG charts).

The first section is the **committee summary**: one row per measure with its latest figure,
target, RAG status, direction of travel against the month before and the same month last year,
a 12-month sparkline and its flags, with a key; printed, it is exactly one A4 landscape page
(``@page { size: A4 landscape }``; the detail starts on the next page). The detail follows: one
card per measure (trend chart, the 12 months with numerators and denominators, flags and their
explanation, restatements, the target and where it comes from, definition), the quality summary and notes.

The charts are SVG drawn in Python (:mod:`.svg`) from the publication: no script, no plotting
library, no data block, so the page is small (well under 1 MB), opens with no network, and
prints as it shows. Every text is escaped: jinja's autoescape in the page, :func:`html.escape`
in the SVG. The page holds no run id or clock time, so the same data gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from dagster_project.contract import NOT_AVAILABLE
from dagster_project.publish.outputs.data import (
    AMBER,
    COUNT,
    FLAG_ORDER,
    GREEN,
    RED,
    RESTATED,
    SUPPRESSED,
    Figure,
    Measure,
    Publication,
)
from dagster_project.publish.outputs.present import (
    DIRECTION_BASIS,
    DIRECTION_ORDER,
    DIRECTION_SHAPES,
    FLAG_LABELS,
    FLAG_MARKS,
    FLAG_OUTLINES,
    FLAG_WORDS,
    NO_DATA_NOTE,
    NO_TARGET,
    RAG_COLOURS,
    RAG_SHAPES,
    RAG_WORDS,
    SUPPRESSED_NOTE,
    amber_text,
    comparator_text,
    direction_against,
    direction_text,
    display_value,
    flag_summary,
    format_value,
    marks,
    month_label,
    polarity_text,
    rag_key,
    rag_text,
    target_comparators,
    target_text,
)
from dagster_project.publish.outputs.svg import sparkline, trend_chart

TEMPLATE_PATH = Path(__file__).with_name("scorecard.html.j2")


def _cell(f: Figure, m: Measure) -> dict[str, Any]:
    return {"value": display_value(f, m.unit), "flag": f.flags[0] if f.flags else "", "marks": marks(f.flags),
            "note": f.note or "",
            "numerator": SUPPRESSED if f.is_suppressed("numerator") else
            ("" if f.numerator is None else f"{f.numerator:,}"),
            "denominator": "" if m.unit == COUNT else SUPPRESSED if f.is_suppressed("denominator") else
            ("" if f.denominator is None else f"{f.denominator:,}")}


def _measure_view(pub: Publication, m: Measure) -> dict[str, Any]:
    series = pub.series(m.measure_id)
    last = series[-1]
    st = last.status
    restated_months = {r.month for r in pub.restatements_of(m.measure_id)}
    return {
        "m": m, "good": polarity_text(m), "latest": _cell(last, m), "latest_month": month_label(last.month),
        "target": target_text(st, m), "target_source": st.target_source or "" if st.target is not None else "",
        "rag": st.rag_status or "", "rag_text": rag_text(st.rag_status),
        "vs_previous": st.direction_vs_previous_month or "",
        "vs_previous_text": direction_text(st.direction_vs_previous_month),
        "vs_year": st.direction_vs_same_month_last_year or "",
        "vs_year_text": direction_text(st.direction_vs_same_month_last_year),
        "vs_previous_line": direction_against(st.direction_vs_previous_month, month_label(pub.month_before),
                                              st.previous_month_value, m.unit),
        "vs_year_line": direction_against(st.direction_vs_same_month_last_year, month_label(pub.year_before),
                                          st.same_month_last_year_value, m.unit),
        "spark": sparkline(series, st.target), "chart": trend_chart(series, m, st.target),
        "flag_summary": flag_summary(series),
        "target_comparator": comparator_text(st),
        "target_title": "; ".join(t for t in (comparator_text(st), amber_text(st, m)) if t),
        "cells": [{"month": month_label(f.month), **_cell(f, m)} for f in series],
        # a restatement alone is shown once, in the restatements list below the flags
        "flagged": [{"month": month_label(f.month), "flag": f.flags[0], "note": f.note or "", "marks": marks(f.flags)}
                    for f in series if f.flags and not (f.flags == (RESTATED,) and f.month in restated_months)],
        "restatements": [{"month": month_label(r.month), "extract": r.previous_extract_month.strftime("%b %Y"),
                          "was": format_value(r.previous_value, m.unit), "now": format_value(r.value, m.unit)}
                         for r in pub.restatements_of(m.measure_id)],
        "not_available": all(f.availability == NOT_AVAILABLE for f in series),
    }


ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                         keep_trailing_newline=True)


def render_html(pub: Publication) -> str:
    sections = [(section, [_measure_view(pub, m) for m in measures]) for section, measures in pub.sections]
    months = pub.months
    title = (f"Children's social care scorecard: {pub.month:%B %Y}" + (" (public version)" if pub.public else ""))
    return ENV.from_string(TEMPLATE_PATH.read_text(encoding="utf-8")).render(
        d=pub, q=pub.quality, title=title, sections=sections,
        section_ids={s: "s-" + "-".join(s.lower().split()) for s, _ in sections},
        first_month=month_label(months[0]), last_month=month_label(months[-1]),
        previous_month=month_label(pub.month_before), year_before=month_label(pub.year_before),
        direction_basis=DIRECTION_BASIS,
        comparators=target_comparators(pub),
        names={m.measure_id: m.name for m in pub.measures},
        rag_key=[(r, RAG_SHAPES[r], RAG_WORDS[r], meaning) for r, meaning in rag_key(pub)],
        rag_colours=RAG_COLOURS, green=GREEN, amber=AMBER, red=RED, no_target=NO_TARGET,
        direction_key=[(DIRECTION_SHAPES[d], d) for d in DIRECTION_ORDER],
        flag_key=[(f, FLAG_MARKS[f], FLAG_WORDS[f], FLAG_LABELS[f], FLAG_OUTLINES[f]) for f in FLAG_ORDER],
        flag_outlines=FLAG_OUTLINES, no_data_note=NO_DATA_NOTE, suppressed_note=SUPPRESSED_NOTE,
    )


def write_html(pub: Publication, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(pub), encoding="utf-8")
    return path
