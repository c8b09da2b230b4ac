"""The page's charts as inline SVG, drawn here from the publication (no script, no library).

Two drawings per measure: a 12-month **sparkline** for the committee summary and a **trend chart**
for the detail. Each point of a trend chart is a circle carrying ``data-month`` and a tooltip
(``<title>``) with the figure as printed; a month with no figure (no data, n/a, or ``c`` when
suppressed) has no point, a gap in the line and its reason written at the foot of the chart.
Flagged figures get the neutral flag mark (a grey square outline and the mark's letters), a
target a dashed line. Coordinates are written with one decimal, so the same data gives the same
bytes. Every text is escaped (:func:`html.escape`).
"""

from __future__ import annotations

import math
from html import escape

from dagster_project.publish.outputs.data import COUNT, Figure, Measure
from dagster_project.publish.outputs.present import FLAG_INK, display_value, format_value, marks, month_label

INK, GRID, MUTED = "#1d3557", "#e3e3e3", "#666666"


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _plotted(series: list[Figure]) -> list[float | None]:
    return [None if f.value is None or f.is_suppressed("value") else f.value for f in series]


def _segments(points: list[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive points (a month with no figure breaks the line)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for p in points:
        if p is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(p)
    return [r for r in runs if r]


def _polylines(points: list[tuple[float, float] | None], stroke: str, width: float) -> str:
    out = []
    for run in _segments(points):
        if len(run) > 1:
            coords = " ".join(f"{_n(x)},{_n(y)}" for x, y in run)
            out.append(f'<polyline points="{coords}" fill="none" stroke="{stroke}" stroke-width="{width}" '
                       'stroke-linejoin="round"/>')
    return "".join(out)


def sparkline(series: list[Figure], target: float | None = None, width: int = 110, height: int = 20) -> str:
    """A small line of the 12 months (with the target dashed, when there is one) and a dot on the
    latest figure."""
    values = _plotted(series)
    known = [v for v in values if v is not None] + ([target] if target is not None else [])
    label = "trend: " + (", ".join("-" if v is None else _n(v) for v in values))
    svg = [f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
           f'aria-label="{escape(label)}">']
    if known:
        low, high = min(known), max(known)
        span = (high - low) or 1.0
        step = (width - 6) / max(len(values) - 1, 1)

        def y(v: float) -> float:
            return height - 3 - (v - low) / span * (height - 6) if high != low else height / 2

        points = [None if v is None else (3 + i * step, y(v)) for i, v in enumerate(values)]
        if target is not None:
            svg.append(f'<line x1="0" x2="{width}" y1="{_n(y(target))}" y2="{_n(y(target))}" stroke="{MUTED}" '
                       'stroke-width="1" stroke-dasharray="3 2"/>')
        svg.append(_polylines(points, INK, 1.5))
        last = next((p for p in reversed(points) if p is not None), None)
        if last is not None:
            svg.append(f'<circle cx="{_n(last[0])}" cy="{_n(last[1])}" r="2.5" fill="{INK}"/>')
    svg.append("</svg>")
    return "".join(svg)


def _nice_top(high: float, unit: str) -> tuple[float, float]:
    """The top of the y axis and its tick step: 0 .. a round number above ``high``."""
    if high <= 0:
        return (100.0, 25.0) if unit != COUNT else (10.0, 2.5)
    raw = high / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if unit == COUNT:
        step = max(step, 1.0)
    top = step * math.ceil(high / step)
    if unit != COUNT and top > 100:
        top, step = 100.0, 25.0
    return top, step


def trend_chart(series: list[Figure], measure: Measure, target: float | None = None) -> str:
    """The measure's 12 months as a line chart with its axis, gridlines, month labels, target,
    flag marks and the reason for every gap."""
    w, h = 560, 200
    left, right, top_pad, bottom = 46, 10, 12, 40
    plot_w, plot_h = w - left - right, h - top_pad - bottom
    values = _plotted(series)
    known = [v for v in values if v is not None] + ([target] if target is not None else [])
    top, step = _nice_top(max(known, default=0.0), measure.unit)
    suffix = "" if measure.unit == COUNT else "%"
    slot = plot_w / len(series)

    def x(i: int) -> float:
        return left + slot * (i + 0.5)

    def y(v: float) -> float:
        return top_pad + plot_h - v / top * plot_h

    svg = [f'<svg class="trend" viewBox="0 0 {w} {h}" role="img" '
           f'aria-label="{escape(measure.name)}: the last {len(series)} months">']
    ticks = round(top / step)
    for k in range(ticks + 1):
        v = k * step
        svg.append(f'<line x1="{left}" x2="{w - right}" y1="{_n(y(v))}" y2="{_n(y(v))}" stroke="{GRID}"/>'
                   f'<text x="{left - 5}" y="{_n(y(v) + 3.5)}" text-anchor="end" class="tick">'
                   f'{_n(v) + suffix if suffix else f"{v:,.0f}"}</text>')
    for i, f in enumerate(series):
        svg.append(f'<text x="{_n(x(i))}" y="{h - bottom + 14}" text-anchor="middle" class="tick">'
                   f"{month_label(f.month)}</text>")
    if target is not None and target <= top:
        svg.append(f'<line x1="{left}" x2="{w - right}" y1="{_n(y(target))}" y2="{_n(y(target))}" '
                   f'stroke="{MUTED}" stroke-width="1.5" stroke-dasharray="6 4"/>'
                   f'<text x="{w - right - 2}" y="{_n(y(target) - 4)}" text-anchor="end" class="target">'
                   f"target {escape(format_value(target, measure.unit))}</text>")
    points = [None if v is None else (x(i), y(v)) for i, v in enumerate(values)]
    svg.append(_polylines(points, INK, 2))
    for i, (f, p) in enumerate(zip(series, points, strict=True)):
        month = f.month.strftime("%Y-%m")
        if p is None:
            svg.append(f'<text x="{_n(x(i))}" y="{h - bottom - 4}" text-anchor="middle" class="gap" '
                       f'data-month="{month}">{escape(display_value(f, measure.unit))}</text>')
            continue
        tip = f"{month_label(f.month)}: {display_value(f, measure.unit)}"
        if measure.unit != COUNT and f.numerator is not None and f.denominator is not None:
            tip += f" ({f.numerator:,} of {f.denominator:,})"
        if f.flags:
            tip += f" {marks(f.flags)}"
            svg.append(f'<rect x="{_n(p[0] - 7)}" y="{_n(p[1] - 7)}" width="14" height="14" fill="none" '
                       f'stroke="#{FLAG_INK}" stroke-width="1.5"/>'
                       f'<text x="{_n(p[0])}" y="{_n(p[1] - 10)}" text-anchor="middle" class="mark">'
                       f"{marks(f.flags)}</text>")
        svg.append(f'<circle cx="{_n(p[0])}" cy="{_n(p[1])}" r="4" fill="{INK}" data-month="{month}">'
                   f"<title>{escape(tip)}</title></circle>")
    svg.append("</svg>")
    return "".join(svg)
