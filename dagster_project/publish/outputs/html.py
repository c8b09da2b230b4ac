"""scorecard.html: the scorecard as one self-contained page (plotly charts, jinja2 page).

plotly.js is embedded once, inline, so the page opens with no network; every measure has a
trend chart over the months of the scorecard, grouped by the report's sections, with its
polarity (what good looks like), direction of travel, flags and their explanation,
restatements, the numerators and denominators, and its definition. Readable on a laptop
(one column, charts resize with the window) and printable (a measure never splits across pages).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import plotly.graph_objects as go
import plotly.io as pio
import plotly.offline

from dagster_project.publish.outputs.data import (
    COUNT,
    FLAG_LABELS,
    FLAG_MARKS,
    NOT_AVAILABLE,
    RESTATED,
    SIGNED_OFF,
    SUPPRESSED,
    WARNING,
    Measure,
    ScorecardData,
    display_value,
    format_value,
    month_label,
)

NAVY = "#1d3557"
FLAG_COLOURS = {WARNING: "#e0a100", SIGNED_OFF: "#2f6eba", RESTATED: "#3a8a3a"}
CHART_HEIGHT = 230
PLOT_CONFIG = {"displayModeBar": False, "responsive": True, "scrollZoom": False}


@cache
def plotly_js() -> str:
    """plotly.js, the version the installed plotly package ships (embedded once per page)."""
    return plotly.offline.get_plotlyjs()


def chart_id(measure_id: str) -> str:
    return f"chart-{measure_id}"


def _hover(fig, unit: str) -> str:
    text = display_value(fig, unit)
    if unit != COUNT and fig.numerator is not None and fig.denominator is not None:
        text += f" ({fig.numerator:,} of {fig.denominator:,})"
    return text


def measure_chart(data: ScorecardData, m: Measure) -> str:
    """The trend chart of one measure as an HTML fragment (a div and the script that draws it)."""
    series = data.series(m.measure_id)
    x = [month_label(f.month) for f in series]
    y = [None if f.value is None or f.is_suppressed("value") else f.value for f in series]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=x, y=y, mode="lines+markers", name=m.spec_name, connectgaps=False,
        line={"color": NAVY, "width": 2}, marker={"size": 7, "color": NAVY},
        text=[_hover(f, m.unit) for f in series], hovertemplate="%{x}: %{text}<extra></extra>",
    ))
    for flag in (SIGNED_OFF, WARNING, RESTATED):
        flagged = [(xi, yi, f) for xi, yi, f in zip(x, y, series, strict=True)
                   if f.flags and f.flags[0] == flag and yi is not None]
        if flagged:
            fig.add_trace(go.Scatter(
                x=[p[0] for p in flagged], y=[p[1] for p in flagged], mode="markers",
                name=f"[{FLAG_MARKS[flag]}] {flag.replace('_', ' ')}",
                marker={"size": 14, "symbol": "diamond-open", "color": FLAG_COLOURS[flag],
                        "line": {"width": 3}},
                text=[(p[2].note or "")[:300] for p in flagged],
                hovertemplate="%{x}: %{text}<extra></extra>",
            ))
    annotations: list[dict[str, Any]] = []
    for xi, f in zip(x, series, strict=True):
        if f.is_suppressed("value"):
            label = SUPPRESSED
        elif f.availability == NOT_AVAILABLE:
            label = "n/a"
        elif f.value is None:
            label = "no data"
        else:
            continue
        annotations.append({"x": xi, "y": 0, "yref": "paper", "yanchor": "bottom", "text": label,
                            "showarrow": False, "font": {"size": 10, "color": "#6b6b6b"}})
    fig.update_layout(
        height=CHART_HEIGHT, margin={"l": 56, "r": 12, "t": 8, "b": 36}, showlegend=False,
        paper_bgcolor="white", plot_bgcolor="white", font={"family": "system-ui, sans-serif", "size": 11},
        annotations=annotations,
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": x, "showgrid": False,
               "linecolor": "#999"},
        yaxis={"gridcolor": "#e6e6e6", "zeroline": False, "rangemode": "tozero",
               "ticksuffix": "" if m.unit == COUNT else "%",
               "title": {"text": "count" if m.unit == COUNT else "%"}},
    )
    if all(v is None for v in y):
        fig.update_yaxes(range=[0, 100 if m.unit != COUNT else 10])
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=chart_id(m.measure_id),
                       config=PLOT_CONFIG, default_width="100%", default_height=f"{CHART_HEIGHT}px")


def _measure_view(data: ScorecardData, m: Measure) -> dict[str, Any]:
    series = data.series(m.measure_id)
    last = series[-1]
    restated_months = {r.month for r in data.restatements_of(m.measure_id)}
    return {
        "m": m,
        "chart": measure_chart(data, m),
        "latest": display_value(last, m.unit),
        "latest_month": month_label(last.month),
        "direction": data.direction(m.measure_id),
        "cells": [{"month": month_label(f.month), "value": display_value(f, m.unit),
                   "numerator": SUPPRESSED if f.is_suppressed("numerator") else
                   ("" if f.numerator is None else f"{f.numerator:,}"),
                   "denominator": "" if m.unit == COUNT else SUPPRESSED if f.is_suppressed("denominator") else
                   ("" if f.denominator is None else f"{f.denominator:,}"),
                   "flags": f.flags, "marks": ",".join(FLAG_MARKS[x] for x in f.flags), "note": f.note or ""}
                  for f in series],
        # a restatement alone is shown once, in the restatements list below the flags
        "flagged": [{"month": month_label(f.month), "flags": f.flags, "note": f.note or "",
                     "marks": ",".join(FLAG_MARKS[x] for x in f.flags)} for f in series
                    if f.flags and not (f.flags == (RESTATED,) and f.month in restated_months)],
        "restatements": [{"month": month_label(r.month),
                          "extract": r.previous_extract_month.strftime("%b %Y"),
                          "was": format_value(r.previous_value, m.unit), "now": format_value(r.value, m.unit)}
                         for r in data.restatements_of(m.measure_id)],
        "not_available": all(f.availability == NOT_AVAILABLE for f in series),
    }


ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                         lstrip_blocks=True)
TEMPLATE = ENV.from_string("""<!doctype html>
{% macro figure_cell(c) -%}
<td class="n {{ c.flags[0] if c.flags else '' }}"{% if c.note %} title="{{ c.note }}"{% endif %}>
{{- c.value }}{% if c.marks %}<span class="mark"> [{{ c.marks }}]</span>{% endif %}</td>
{%- endmacro %}
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
:root { --navy: #1d3557; --muted: #5a5a5a; --line: #d9d9d9; --good: #00703c; --bad: #c00000;
        --warning: #fff1c2; --signed_off: #dbe8f7; --restated: #e2efda; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b;
       margin: 0; line-height: 1.4; background: #f6f7f9; }
main { max-width: 1180px; margin: 0 auto; padding: 1.2rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; color: var(--navy); margin: .2rem 0; }
h2 { font-size: 1.3rem; color: var(--navy); border-bottom: 2px solid var(--navy);
     padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { font-size: 1.05rem; margin: 0; }
.sub, .muted { color: var(--muted); font-size: .88rem; }
.badge { display: inline-block; padding: .1rem .55rem; border-radius: .7rem; font-size: .8rem;
         font-weight: 600; background: var(--navy); color: #fff; }
.badge.public { background: #7a3e9d; }
nav { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .6rem 1rem;
      margin: 1rem 0; font-size: .88rem; columns: 2 22rem; }
nav a { color: var(--navy); text-decoration: none; } nav a:hover { text-decoration: underline; }
nav ul { margin: .2rem 0 .6rem; padding-left: 1.1rem; }
table { border-collapse: collapse; width: 100%; font-size: .84rem; background: #fff; }
th, td { border: 1px solid var(--line); padding: .25rem .4rem; vertical-align: top; }
th { background: var(--navy); color: #fff; font-weight: 600; text-align: center; }
th.mo, table.months th { white-space: nowrap; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.section td { background: #d9e2f3; font-weight: 700; color: var(--navy); }
td.warning, li.warning { background: var(--warning); }
td.signed_off, li.signed_off { background: var(--signed_off); }
td.restated, li.restated { background: var(--restated); }
.mark { font-size: .72rem; vertical-align: super; font-weight: 700; }
.improving { color: var(--good); font-weight: 600; } .worsening { color: var(--bad); font-weight: 600; }
article.measure { background: #fff; border: 1px solid var(--line); border-radius: 6px;
                  padding: .9rem 1rem; margin: 1rem 0; break-inside: avoid; page-break-inside: avoid; }
.head { display: flex; justify-content: space-between; gap: 1rem; }
.head > div:first-child { flex: 1 1 auto; } .kpi { flex: 0 0 13rem; text-align: right; }
.kpi .value { font-size: 1.6rem; font-weight: 700; color: var(--navy); }
.polarity { font-size: .82rem; background: #eef1f6; border-radius: .5rem; padding: .05rem .45rem; }
.chart { margin: .4rem 0; min-height: {{ chart_height }}px; }
ul.flags, ul.restated { margin: .4rem 0; padding-left: 0; list-style: none; font-size: .84rem; }
ul.flags li, ul.restated li { padding: .25rem .5rem; margin: .2rem 0; border-radius: 4px; }
p.definition { font-size: .84rem; margin: .5rem 0 0; }
table.months td, table.months th { font-size: .76rem; padding: .15rem .3rem; }
table.months th { background: #eef1f6; color: #1b1b1b; }
.legend span { display: inline-block; padding: .05rem .45rem; margin-right: .4rem; border-radius: 4px;
               font-size: .8rem; }
footer { margin-top: 2.5rem; font-size: .8rem; color: var(--muted); }
@media print {
  body { background: #fff; } main { max-width: none; padding: 0; } nav { display: none; }
  article.measure { border-color: #bbb; } h2 { break-after: avoid; page-break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
@page { size: A4; margin: 12mm; }
</style>
<script>{{ plotly_js | safe }}</script>
</head>
<body><main>
<header>
<h1>{{ title }}</h1>
<p class="sub">Improvement-plan scorecard from the case-management extract of
 <b>{{ d.month.strftime('%B %Y') }}</b>: figures for {{ first_month }} to {{ last_month }},
 generated {{ d.generated_at.strftime('%d %B %Y %H:%M') }} UTC (run {{ d.run_id[:8] }}).
{% if d.public %}
 <span class="badge public">public version: counts of 1 to 5 children shown as c</span>
{% else %}
 <span class="badge">internal: not for publication</span>
{% endif %}
</p>
{% if q %}
<p class="sub">Data quality: <b>{{ q.outcome }}</b>; {{ q.counts.get('failed', 0) }} blocking,
 {{ q.counts.get('signed_off', 0) }} signed off, {{ q.counts.get('warn', 0) }} warnings,
 {{ q.counts.get('passed', 0) }} passed (<a href="#quality">quality summary</a>).</p>
{% endif %}
<p class="legend sub">Marks on figures:
 <span style="background:var(--warning)">[w] warning</span>
 <span style="background:var(--signed_off)">[s] signed off</span>
 <span style="background:var(--restated)">[r] restated</span>
 - hover a figure or a chart point, or read the notes under each measure.
 Direction of travel: {{ last_month }} against the month before, read against what good looks like.</p>
</header>
<nav aria-label="Contents"><b>Contents</b>
{% for section, views in sections %}
<div><a href="#{{ section_ids[section] }}">{{ section }}</a><ul>
{% for v in views %}
<li><a href="#m-{{ v.m.measure_id }}">{{ v.m.name }}</a></li>
{% endfor %}
</ul></div>
{% endfor %}
<div><a href="#overview">The report's table</a> &middot; <a href="#quality">Quality summary</a>
 &middot; <a href="#notes">About these figures</a></div>
</nav>

<section id="overview"><h2>The report's table</h2>
<table><thead><tr><th style="text-align:left">Measure</th><th>What good looks like</th>
{% for mo in table_months %}<th class="mo">{{ mo }}</th>{% endfor %}
<th>Direction of travel</th></tr></thead><tbody>
{% for section, views in sections %}
<tr class="section"><td colspan="{{ n_table + 3 }}">{{ section }}</td></tr>
{% for v in views %}
<tr><td><a href="#m-{{ v.m.measure_id }}">{{ v.m.name }}</a></td>
<td style="text-align:center">{{ v.m.polarity }}</td>
{% for c in v.cells[-n_table:] %}{{ figure_cell(c) }}{% endfor %}
<td class="{{ v.direction.verdict|replace(' ', '_') }}">{{ v.direction.text }}</td></tr>
{% endfor %}
{% endfor %}
</tbody></table></section>

{% for section, views in sections %}
<section id="{{ section_ids[section] }}"><h2>{{ section }}</h2>
{% for v in views %}
<article class="measure" id="m-{{ v.m.measure_id }}" data-measure="{{ v.m.measure_id }}">
<div class="head"><div><h3>{{ v.m.name }}</h3>
<div class="muted">{{ v.m.spec_name }} &middot; <code>{{ v.m.measure_id }}</code>
{% if v.m.is_snapshot %} &middot; snapshot: each month from its own extract{% endif %}</div>
<span class="polarity">What good looks like: <b>{{ v.m.polarity }}</b>
 {{ '&#9650; higher is better'|safe if v.m.polarity == 'High' else '&#9660; lower is better'|safe }}</span>
</div>
<div class="kpi"><div class="value">{{ v.latest }}</div><div class="muted">{{ v.latest_month }}</div>
<div class="{{ v.direction.verdict|replace(' ', '_') }}">{{ v.direction.text }}</div></div></div>
<div class="chart">{{ v.chart | safe }}</div>
{% if v.not_available %}
<p class="muted">Not available: the extract does not hold the optional data this measure needs
 ({{ v.m.requires_feature or 'see the definition' }}).</p>
{% endif %}
<table class="months"><tr><th></th>{% for c in v.cells %}<th>{{ c.month }}</th>{% endfor %}</tr>
<tr><th>value</th>{% for c in v.cells %}{{ figure_cell(c) }}{% endfor %}</tr>
<tr><th>{{ 'count' if v.m.unit == 'count' else 'numerator' }}</th>
{% for c in v.cells %}<td class="n">{{ c.numerator }}</td>{% endfor %}</tr>
{% if v.m.unit != 'count' %}
<tr><th>denominator</th>{% for c in v.cells %}<td class="n">{{ c.denominator }}</td>{% endfor %}</tr>
{% endif %}
</table>
{% if v.flagged %}
<ul class="flags">
{% for f in v.flagged %}
<li class="{{ f.flags[0] }}"><b>{{ f.month }} [{{ f.marks }}]</b> {{ f.note }}</li>
{% endfor %}
</ul>
{% endif %}
{% if v.restatements %}
<ul class="restated">
{% for r in v.restatements %}
<li class="restated"><b>{{ r.month }}</b> restated:
{% if r.was %}
 published as {{ r.was }} in the scorecard of {{ r.extract }}, now {{ r.now }}.
{% else %}
 a figure published in the scorecard of {{ r.extract }} has changed.
{% endif %}
</li>
{% endfor %}
</ul>
{% endif %}
<p class="definition"><b>Definition.</b> {{ v.m.definition }}.
{% if v.m.requires_feature %} Needs {{ v.m.requires_feature }} in the extract.{% endif %}</p>
</article>
{% endfor %}
</section>
{% endfor %}

<section id="quality"><h2>Quality summary</h2>
{% if q %}
<p>{{ q.counts.get('failed', 0) }} blocking, {{ q.counts.get('signed_off', 0) }} signed off,
 {{ q.counts.get('warn', 0) }} warnings, {{ q.counts.get('passed', 0) }} checks passed
{% if q.dbt_counts %}; dbt tests:
 {% for k, n in q.dbt_counts|dictsort %}{{ n }} {{ k }}{{ ', ' if not loop.last }}{% endfor %}
{% endif %}.
{% if not d.public %}
 The full quality report is <code>quality_report.html</code> beside this page.
{% endif %}
</p>
{% if q.flags %}
<table><thead><tr><th>check</th><th>severity</th><th>status</th><th>measure</th><th>figures</th>
<th>sign-off</th></tr></thead><tbody>
{% for f in q.flags %}
<tr><td><code>{{ f.check_id }}</code></td><td>{{ f.severity }}</td>
<td class="{{ 'warning' if f.status == 'warn' else f.status }}">{{ f.status }}</td>
<td>{{ names.get(f.measure_id or '', f.measure_id or '') }}</td><td>{{ f.summary }}</td>
<td>{% if f.signed_off_by %}{{ f.signed_off_by }}, {{ f.signed_off_at.strftime('%Y-%m-%d %H:%M') }} UTC:
 {{ f.signoff_reason }}{% endif %}</td></tr>
{% endfor %}
</tbody></table>
{% else %}
<p class="muted">No check flagged anything.</p>
{% endif %}
{% else %}
<p class="muted">No quality results were found for this run.</p>
{% endif %}
</section>

<footer id="notes"><h2>About these figures</h2>
<p>Each measure is defined exactly in the measure catalogue (the definitions above;
 spec/SCORECARD.md). Percentages are 100 &times; numerator &divide; denominator to one decimal
 place; <b>no data</b> means a zero denominator or, for snapshot measures, a month whose own
 extract was not loaded; <b>n/a</b> means the extract lacks the optional data the measure needs.
 The figures for every month are recomputed from the latest extract (except snapshot measures),
 so a later extract can restate a figure published earlier: restated figures are marked [r].</p>
{% if d.public %}
<p><b>c</b>: suppressed to protect children's privacy. Counts of 1 to 5 are not shown, nor any
 figure from which one could be worked out (a percentage of a suppressed count, a total minus its
 parts), following the DfE's practice.</p>
{% endif %}
</footer>
</main></body></html>
""")


def render_html(data: ScorecardData) -> str:
    sections = [(section, [_measure_view(data, m) for m in measures]) for section, measures in data.sections]
    title = (f"Children's social care scorecard: {data.month:%B %Y}"
             + (" (public version)" if data.public else ""))
    return TEMPLATE.render(
        d=data, q=data.quality, title=title, sections=sections, plotly_js=plotly_js(),
        section_ids={s: "s-" + "-".join(s.lower().split()) for s, _ in sections},
        table_months=[month_label(m) for m in data.months[-6:]], n_table=len(data.months[-6:]),
        first_month=month_label(data.months[0]), last_month=month_label(data.months[-1]),
        names={m.measure_id: m.name for m in data.measures}, chart_height=CHART_HEIGHT,
        flag_labels=FLAG_LABELS,
    )


def write_html(data: ScorecardData, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data), encoding="utf-8")
    return path
