"""The region's benchmark pages: ``index.html`` and one self-contained page per council.

A council's page has one section per measure (each starts a new printed page): every council's
value of the council's newest published month as a bar (a percentage best first by the measure's
polarity, a count, which grows with the council's size, largest first and not ranked), the
council itself highlighted and the group's median marked; then the trend of the group's median,
its interquartile range and the council's own value over the months of the pool (a line is broken
where a month has no value). Every number is a
row of ``fct_scorecard_benchmark`` (nothing is computed here but positions on the page); no
script, no request leaves the file. Colours carry no judgement: blue is "this council", grey
the others (red, amber and green mean RAG status elsewhere in our outputs).
"""

from __future__ import annotations

from collections import defaultdict
from html import escape
from pathlib import Path

from dagster_project.wording import counted

HIGHLIGHT, OTHERS, INK, BAND = "#1d70b8", "#b1b4b6", "#0b0c0c", "#e8e8e8"
BAR_HEIGHT, LABEL_WIDTH, PLOT_WIDTH, LABEL_CHARS = 18, 300, 360, 34
TREND_LEFT = 64  # room for the axis's labels
TREND_WIDTH, TREND_HEIGHT = 640, 150
STYLE = f"""body{{font-family:Arial,sans-serif;color:{INK};margin:2em;max-width:60em}}
section{{break-after:page;margin-bottom:3em}}h2{{margin-bottom:.2em}}p.summary{{margin:.3em 0 1em}}
table{{border-collapse:collapse}}
td,th{{border:1px solid {OTHERS};padding:.2em .6em;text-align:left}}"""


# What every figure of the pool is, as the pages and the workbook say it.
POOL_BASIS = ("Each council's figure as it published it in its own scorecard of the month (public variant: counts "
              "of 1 to 5 children suppressed as c), beside the group of councils benchmarked together. An earlier "
              "month keeps the figure first published for it: a later extract that restated it changes the "
              "council's own scorecard ([r]), not this benchmark.")


def _shown(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}%" if unit == "percent" else (f"{value:,.0f}" if value == int(value) else f"{value:,.1f}")


def _why_none(availability: str) -> str:
    return {"suppressed": "c (suppressed to protect small numbers)", "not_available": "not available",
            "no_data": "no data"}.get(availability, availability)


def _short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[:LABEL_CHARS - 1].rstrip() + "…"


def _ranked(r: dict) -> str:
    return f'{r["rank_in_group"]}. ' if r["rank_in_group"] is not None else ""


def _lines(points: list[tuple[int, float | None]], xy, **attributes: str) -> str:
    """One polyline per run of consecutive months with a value: no line bridges a gap."""
    runs, run = [], []
    for i, v in points:
        if v is None:
            runs, run = runs + [run] * bool(run), []
        else:
            run.append(xy(i, v))
    runs += [run] * bool(run)
    style = " ".join(f'{k.replace("_", "-")}="{v}"' for k, v in attributes.items())
    return "".join(f'<polyline points="{" ".join(r)}" fill="none" {style}/>' for r in runs)


def _bars(rows: list[dict], la_code: str, unit: str) -> str:
    valued = sorted((r for r in rows if r["value"] is not None),
                    key=lambda r: (r["rank_in_group"] or 0, -r["value"], r["la_code"]))
    top = max([r["value"] for r in valued] + [1e-9])  # the median lies between the values
    scale = PLOT_WIDTH / top
    height = BAR_HEIGHT * len(valued) + 24
    parts = [f'<svg role="img" width="{LABEL_WIDTH + PLOT_WIDTH + 80}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg" font-size="12">']
    for i, r in enumerate(valued):
        y = i * BAR_HEIGHT
        colour = HIGHLIGHT if r["la_code"] == la_code else OTHERS
        weight = ' font-weight="bold"' if r["la_code"] == la_code else ""
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end"{weight}>'
                     f'{_ranked(r)}{escape(_short(r["la_name"]))}</text>'
                     f'<rect data-la-code="{r["la_code"]}" data-value="{r["value"]}" x="{LABEL_WIDTH}" y="{y + 3}" '
                     f'width="{r["value"] * scale:.1f}" height="{BAR_HEIGHT - 6}" '
                     f'fill="{colour}"><title>{escape(r["la_name"])}: {_shown(r["value"], unit)}</title></rect>'
                     f'<text x="{LABEL_WIDTH + r["value"] * scale + 4:.1f}" y="{y + 13}"{weight}>'
                     f'{_shown(r["value"], unit)}</text>')
    if valued and valued[0]["group_median"] is not None:
        x = LABEL_WIDTH + valued[0]["group_median"] * scale
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height - 20}" stroke="{INK}" '
                     f'stroke-dasharray="4 3"/><text x="{x:.1f}" y="{height - 6}" text-anchor="middle">'
                     f'median {_shown(valued[0]["group_median"], unit)}</text>')
    return "".join(parts) + "</svg>"


def _trend(series: list[dict], la_code: str, unit: str) -> str:
    months = sorted({r["month"] for r in series})
    by_month = {m: [r for r in series if r["month"] == m] for m in months}
    group = {m: rs[0] for m, rs in by_month.items()}
    own = {m: next((r for r in rs if r["la_code"] == la_code), None) for m, rs in by_month.items()}
    values = [r["value"] for r in series if r["value"] is not None]  # the group's lie between them
    if not values:
        return "<p>No council has a value in any month: nothing to chart.</p>"
    top = max(values) or 1  # every value 0: the axis runs 0 to 1, not 0 to 0
    step = TREND_WIDTH / max(len(months) - 1, 1)

    def xy(i: int, v: float) -> str:
        return f"{TREND_LEFT + i * step:.1f},{TREND_HEIGHT - 20 - v / top * (TREND_HEIGHT - 40):.1f}"

    band = [(i, group[m]) for i, m in enumerate(months) if group[m]["group_lower_quartile"] is not None]
    parts = [f'<svg role="img" width="{TREND_LEFT + TREND_WIDTH + 40}" height="{TREND_HEIGHT}" '
             f'xmlns="http://www.w3.org/2000/svg" font-size="12">',
             f'<line x1="{TREND_LEFT}" x2="{TREND_LEFT}" y1="20" y2="{TREND_HEIGHT - 20}" stroke="{OTHERS}"/>'
             f'<text x="{TREND_LEFT - 6}" y="{TREND_HEIGHT - 20}" text-anchor="end">0</text>'
             f'<text x="{TREND_LEFT - 6}" y="24" text-anchor="end">{_shown(top, unit)}</text>']
    if band:
        outline = [xy(i, g["group_upper_quartile"]) for i, g in band]
        outline += [xy(i, g["group_lower_quartile"]) for i, g in reversed(band)]
        parts.append(f'<polygon points="{" ".join(outline)}" fill="{BAND}"/>')
    parts.append(_lines([(i, group[m]["group_median"]) for i, m in enumerate(months)], xy, stroke=INK,
                        stroke_width="2", stroke_dasharray="4 3"))
    parts.append(_lines([(i, own[m]["value"] if own[m] else None) for i, m in enumerate(months)], xy,
                        stroke=HIGHLIGHT, stroke_width="2"))
    mine = [(i, own[m]["value"]) for i, m in enumerate(months) if own[m] and own[m]["value"] is not None]
    if mine:
        parts += [f'<circle cx="{xy(i, v).split(",")[0]}" cy="{xy(i, v).split(",")[1]}" r="3" fill="{HIGHLIGHT}">'
                  f'<title>{months[i]:%b %Y}: {_shown(v, unit)}</title></circle>' for i, v in mine]
    for i, m in enumerate(months):
        if i in (0, len(months) - 1) or len(months) <= 13:
            parts.append(f'<text x="{TREND_LEFT + i * step:.1f}" y="{TREND_HEIGHT - 4}" text-anchor="middle">'
                         f'{m:%b %y}</text>')
    return "".join(parts) + "</svg>"


def _group_figures(g: dict, unit: str) -> str:
    """The group's median, quartiles and range, or why it has none (fct_scorecard_benchmark gives
    them only for a whole group: two or more councils with a value, none suppressed)."""
    with_value = f"{g['councils_with_value']} with a value"
    if g["councils_suppressed"]:
        return (f"{with_value}, {g['councils_suppressed']} suppressed (c: a count of 1 to 5 children, or a figure "
                "made from one): no group median, range or ranks, which would leave them out.")
    if g["group_median"] is None:
        return f"{with_value}: too few councils for a group median, range or ranks."
    return (f"{with_value}: median {_shown(g['group_median'], unit)}, quartiles "
            f"{_shown(g['group_lower_quartile'], unit)} to {_shown(g['group_upper_quartile'], unit)}, range "
            f"{_shown(g['group_min'], unit)} to {_shown(g['group_max'], unit)}.")


def _section(measure: dict, rows: list[dict], la_code: str) -> str:
    own_months = [r["month"] for r in rows if r["la_code"] == la_code]
    latest = max(own_months or [r["month"] for r in rows])  # the council's newest published month
    now = [r for r in rows if r["month"] == latest]
    mine = next((r for r in now if r["la_code"] == la_code), None)
    unit = measure["unit"]
    g = now[0]
    if mine is None:
        own = "This council has not published this month"
    elif mine["value"] is None:
        own = f"This council: {_why_none(mine['availability'])}"
    else:
        own = f"This council: {_shown(mine['value'], unit)}"
        if mine["rank_in_group"] is not None:
            own += f", rank {mine['rank_in_group']} of {g['councils_with_value']}"
    group = counted(g["councils_in_group"], "council")
    ranked = (" Equal values share a rank." if unit == "percent" else
              " Counts grow with a council's size: they are shown largest first, not ranked.")
    summary = (f"{latest:%B %Y}. {own}. Group of {group}, {_group_figures(g, unit)} "
               f"{'Higher' if measure['polarity'] == 'High' else 'Lower'} is better.{ranked}")
    missing = [f"{escape(r['la_name'])}: {_why_none(r['availability'])}" for r in now if r["value"] is None]
    return (f'<section id="{escape(measure["measure_id"])}"><h2>{escape(measure["measure_name"])}</h2>'
            f'<p class="summary">{escape(summary)}</p>{_bars(now, la_code, unit)}'
            + (f"<p>No value: {'; '.join(missing)}.</p>" if missing else "")
            + "<p>The trend: the group's median (dashed), its quartiles (grey band) and this council (blue).</p>"
            f'{_trend(rows, la_code, unit)}</section>')


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>\n")


def write_pages(rows: list[dict], folder: Path) -> None:
    """index.html and <la_code>.html for every council of the benchmark ``rows``
    (``region.benchmark_rows``: in the scorecard's measure order)."""
    by_measure: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_measure[r["measure_id"]].append(r)
    councils = sorted({(r["la_code"], r["la_name"], r["region_name"]) for r in rows})
    for la_code, name, region in councils:
        body = (f"<p>{escape(region)}. {escape(POOL_BASIS)}</p>"
                + "".join(_section(series[0], series, la_code) for series in by_measure.values()))
        (folder / f"{la_code}.html").write_text(_page(f"{name}: regional benchmark", body), encoding="utf-8")
    links = "".join(f'<tr><td><a href="{code}.html">{escape(name)}</a></td><td>{code}</td>'
                    f"<td>{escape(region)}</td></tr>" for code, name, region in councils)
    months = sorted({r["month"] for r in rows})
    about = (f"<p>{counted(len(councils), 'council')}, {months[0]:%B %Y} to {months[-1]:%B %Y}. "
             f"{escape(POOL_BASIS)} Each council's page shows, measure by measure, its newest month beside every "
             "other council's and the trend of the group's median. The same figures are in benchmark.csv, "
             "benchmark.parquet and benchmark.xlsx beside this page.</p>")
    (folder / "index.html").write_text(_page("Regional benchmark", about + "<table><tr><th>council</th>"
                                             f"<th>LA code</th><th>region</th></tr>{links}</table>"),
                                       encoding="utf-8")
