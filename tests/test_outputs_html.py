"""scorecard.html from a real pipeline run, rendered in headless Chromium (Debian's package).

Every measure's chart must be drawn by the embedded plotly.js (an SVG plot with its trace), no
request may leave the page (everything it loads is the file itself or inline data), and the
screenshot is kept as a test artifact: test-artifacts/scorecard.png (and scorecard-public.png).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from markupsafe import escape

from dagster_project.publish.outputs.html import chart_id, plotly_js
from tests.chromium_helpers import Page, ensure_chromium
from tests.outputs_pipeline import LAST, XDIST_GROUP

pytestmark = XDIST_GROUP

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
LOCAL = ("file:", "data:", "blob:", "about:")

CHARTS_DRAWN = """
Array.from(document.querySelectorAll('article.measure')).map(a => {
  const plot = a.querySelector('div.js-plotly-plot');
  return {
    measure: a.dataset.measure,
    chart: plot ? plot.id : null,
    svg: plot ? plot.querySelectorAll('svg.main-svg').length : 0,
    traces: plot ? plot.querySelectorAll('.scatterlayer .trace').length : 0,
    points: plot ? plot.querySelectorAll('.scatterlayer .point').length : 0,
    width: plot ? plot.getBoundingClientRect().width : 0,
  };
})
"""


@pytest.fixture(scope="module")
def chromium() -> str:
    return ensure_chromium()


def _measures(home) -> list[tuple[str, bool]]:
    """Measure ids in order, and whether the measure has any figure to plot."""
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute("""select m.measure_id, count(s.value) > 0 from dim_measure as m
                              left join fct_scorecard as s using (measure_id)
                              group by m.measure_id, m.sort_order order by m.sort_order""").fetchall()
    finally:
        con.close()


def _render(chromium: str, page_file: Path, screenshot: Path) -> tuple[list[dict], list[str], int]:
    with Page(chromium, width=1366, height=900) as page:
        page.open(page_file.as_uri())
        page.evaluate("new Promise(r => setTimeout(r, 500))")  # let responsive charts settle
        charts = page.evaluate(CHARTS_DRAWN)
        errors = [e for e in page.events if e.get("method") == "Runtime.exceptionThrown"]
        page.screenshot(screenshot)
        return charts, list(page.requests), len(errors)


@pytest.mark.parametrize("variant", ["internal", "public"])
def test_every_chart_is_drawn_and_nothing_leaves_the_page(chromium, published_home, variant):
    folder = published_home.month_dir(LAST) / ("public" if variant == "public" else "")
    page_file = folder / "scorecard.html"
    shot = ARTIFACTS / ("scorecard.png" if variant == "internal" else "scorecard-public.png")
    shot.unlink(missing_ok=True)
    charts, requests, errors = _render(chromium, page_file, shot)

    measures = _measures(published_home)
    assert [c["measure"] for c in charts] == [m for m, _ in measures]
    for c, (mid, has_values) in zip(charts, measures, strict=True):
        assert c["chart"] == chart_id(mid)
        assert c["svg"] >= 1 and c["traces"] >= 1 and c["width"] > 300, c
        if has_values and variant == "internal":
            assert c["points"] >= 1, c
    assert errors == 0
    assert requests and requests[0] == page_file.as_uri()
    assert [u for u in requests if not u.startswith(LOCAL)] == []
    assert shot.stat().st_size > 50_000  # a real full-page picture


def test_the_page_is_self_contained(published_home):
    for folder in (published_home.month_dir(LAST), published_home.month_dir(LAST) / "public"):
        html = (folder / "scorecard.html").read_text(encoding="utf-8")
        assert html.count(plotly_js()) == 1  # plotly.js inline, once
        rest = html.replace(plotly_js(), "")
        assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", rest, re.I)
        assert "http://" not in rest.replace("http://www.w3.org", "") and "https://" not in rest


def test_the_page_shows_sections_polarity_and_definitions(published_home):
    html = (published_home.month_dir(LAST) / "scorecard.html").read_text(encoding="utf-8")
    rest = html.replace(plotly_js(), "")
    con = duckdb.connect(str(published_home.warehouse), read_only=True)
    try:
        measures = con.execute("select measure_id, measure_name, section, polarity, definition "
                               "from dim_measure order by sort_order").fetchall()
    finally:
        con.close()
    positions = []
    for mid, name, _, polarity, definition in measures:
        start = rest.index(f'id="m-{mid}"')
        article = rest[start:rest.index("</article>", start)]
        assert f"<h3>{escape(name)}</h3>" in article
        assert f"What good looks like: <b>{polarity}</b>" in article
        assert f"<b>Definition.</b> {escape(definition)}" in article
        positions.append(start)
    assert positions == sorted(positions)
    for section in dict.fromkeys(m[2] for m in measures):
        assert f"<h2>{section}</h2>" in rest
    assert "Quality summary" in rest and "internal: not for publication" in rest
    assert "@media print" in rest
