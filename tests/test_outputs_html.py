"""scorecard.html from a real pipeline run, rendered and printed in headless Chromium (Debian's package).

The page opens with no network (no script, no request leaving the file), every measure's trend chart
is drawn (an SVG with a point per figure), and its first section, the committee summary, prints to
exactly one A4 landscape page (counted in the PDF Chromium prints). Screenshots are kept as test
artifacts: test-artifacts/scorecard.png, scorecard-public.png and committee.png.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import pytest
from markupsafe import escape

from tests.chromium_helpers import A4_LANDSCAPE_POINTS, Page, ensure_chromium, pdf_pages
from tests.outputs_pipeline import LAST, XDIST_GROUP

pytestmark = XDIST_GROUP

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
LOCAL = ("file:", "data:", "blob:", "about:")
MAX_BYTES = 1_000_000

CHARTS_DRAWN = """
Array.from(document.querySelectorAll('article.measure')).map(a => {
  const svg = a.querySelector('svg.trend');
  return {
    measure: a.dataset.measure,
    width: svg ? svg.getBoundingClientRect().width : 0,
    height: svg ? svg.getBoundingClientRect().height : 0,
    points: svg ? svg.querySelectorAll('circle[data-month]').length : 0,
    lines: svg ? svg.querySelectorAll('polyline').length : 0,
  };
})
"""
COMMITTEE_ONLY = "document.querySelectorAll('main > :not(header):not(#committee)').forEach(e => e.remove())"


@pytest.fixture(scope="module")
def chromium() -> str:
    return ensure_chromium()


def _measures(home) -> list[tuple[str, int]]:
    """Measure ids in order, and how many of their 12 figures have a value."""
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute("""select m.measure_id, count(s.value) from dim_measure as m
                              left join fct_scorecard as s using (measure_id)
                              group by m.measure_id, m.sort_order order by m.sort_order""").fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("variant", ["internal", "public"])
def test_every_chart_is_drawn_and_nothing_leaves_the_page(chromium, published_home, variant):
    folder = published_home.month_dir(LAST) / ("public" if variant == "public" else "")
    page_file = folder / "scorecard.html"
    shot = ARTIFACTS / ("scorecard.png" if variant == "internal" else "scorecard-public.png")
    shot.unlink(missing_ok=True)
    with Page(chromium, width=1366, height=900) as page:
        page.open(page_file.as_uri())
        charts = page.evaluate(CHARTS_DRAWN)
        errors = [e for e in page.events if e.get("method") == "Runtime.exceptionThrown"]
        page.screenshot(shot)
        requests = list(page.requests)
    measures = _measures(published_home)
    assert [c["measure"] for c in charts] == [m for m, _ in measures]
    for c, (_, with_values) in zip(charts, measures, strict=True):
        assert c["width"] > 300 and c["height"] > 100, c
        if variant == "internal":
            assert c["points"] == with_values, c  # a point per figure, none where there is none
            assert c["lines"] >= 1 or with_values < 2, c
    assert errors == []
    assert requests and requests[0] == page_file.as_uri()
    assert [u for u in requests if not u.startswith(LOCAL)] == []
    assert shot.stat().st_size > 50_000  # a real full-page picture


@pytest.mark.parametrize("variant", ["internal", "public"])
def test_the_committee_summary_prints_on_one_a4_landscape_page(chromium, published_home, variant):
    folder = published_home.month_dir(LAST) / ("public" if variant == "public" else "")
    with Page(chromium, width=1366, height=900) as page:
        page.open((folder / "scorecard.html").as_uri())
        whole = pdf_pages(page.print_pdf())
        page.evaluate(COMMITTEE_ONLY)  # what prints of the committee summary (with the page's title)
        rows = page.evaluate("document.querySelectorAll('#committee tr[data-measure]').length")
        committee = pdf_pages(page.print_pdf())
        if variant == "internal":
            shot = page.screenshot_of("#committee", ARTIFACTS / "committee.png")
            assert shot.stat().st_size > 30_000
    assert rows == len(_measures(published_home))
    assert len(committee) == 1, committee
    width, height = committee[0]
    assert abs(width - A4_LANDSCAPE_POINTS[0]) < 2 and abs(height - A4_LANDSCAPE_POINTS[1]) < 2
    assert len(whole) > 5 and all(w > h for w, h in whole)  # the detail follows, landscape too


def test_the_page_is_self_contained_and_small(published_home):
    for folder in (published_home.month_dir(LAST), published_home.month_dir(LAST) / "public"):
        path = folder / "scorecard.html"
        html = path.read_text(encoding="utf-8")
        assert path.stat().st_size < MAX_BYTES / 2  # a small area's page; the demo's is measured in the README
        assert "<script" not in html  # charts are inline SVG: no script, no data block
        assert not re.search(r"<(link|img|iframe)[^>]+(src|href)=", html, re.I)
        assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
        assert "@page { size: A4 landscape" in html


def test_the_page_shows_sections_polarity_and_definitions(published_home):
    html = (published_home.month_dir(LAST) / "scorecard.html").read_text(encoding="utf-8")
    con = duckdb.connect(str(published_home.warehouse), read_only=True)
    try:
        measures = con.execute("select measure_id, measure_name, section, polarity, definition "
                               "from dim_measure order by sort_order").fetchall()
    finally:
        con.close()
    positions, committee = [], []
    for mid, name, _, polarity, definition in measures:
        start = html.index(f'id="m-{mid}"')
        article = html[start:html.index("</article>", start)]
        assert f"<h3>{escape(name)}</h3>" in article
        assert f"What good looks like: <b>{polarity}</b>" in article
        assert f"<b>Definition.</b> {escape(definition)}" in article
        positions.append(start)
        committee.append(html.index(f'<tr data-measure="{mid}">'))
    assert positions == sorted(positions) and committee == sorted(committee)
    assert max(committee) < html.index('id="committee"') + html[html.index('id="committee"'):].index("</section>")
    assert max(committee) < min(positions)  # the committee summary comes first
    for section in dict.fromkeys(m[2] for m in measures):
        assert f"<h2>{section}</h2>" in html
    assert "Quality summary" in html and "internal: not for publication" in html
    assert "@media print" in html


RAG = {"green": "● Green", "amber": "◆ Amber", "red": "■ Red"}
DIRECTION = {"better": "▲ better", "worse": "▼ worse", "same": "► same", None: ""}


def test_the_committee_summary_shows_the_status_model(published_home):
    """Each row: the latest figure, and target, RAG and direction as fct_scorecard_status gives them
    (never recomputed); no colour without a target; every colour with its shape and word."""
    html = (published_home.month_dir(LAST) / "scorecard.html").read_text(encoding="utf-8")
    committee = html[html.index('<section id="committee"'):html.index("</section>", html.index('id="committee"'))]
    con = duckdb.connect(str(published_home.warehouse), read_only=True)
    try:
        rows = con.execute("""select st.measure_id, st.value, st.unit, st.target, st.rag_status,
                                     st.direction_vs_previous_month, st.direction_vs_same_month_last_year
                              from fct_scorecard_status as st join dim_measure using (measure_id)
                              where st.month = st.extract_month order by sort_order""").fetchall()
    finally:
        con.close()
    assert len(rows) == 29
    for mid, value, unit, target, rag, vs_previous, vs_year in rows:
        row = re.search(rf'<tr data-measure="{mid}">(.*?)</tr>', committee, re.S).group(1)
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        shown = "" if value is None else f"{value:,.0f}" if unit == "count" else f"{value:.1f}%"
        assert cells[2].startswith(shown or "no data") or cells[2] == "n/a", (mid, cells)
        assert (cells[3] == "no target") == (target is None), (mid, cells)
        assert cells[4] == (RAG[rag] if rag else ""), (mid, cells)
        assert ('class="rag rag-' in row) == (rag is not None)  # no colour without a RAG status
        assert (cells[5], cells[6]) == (DIRECTION[vs_previous], DIRECTION[vs_year]), (mid, cells)
        assert "<svg class=\"spark\"" in row


def test_each_measure_says_what_its_direction_compares_with(published_home):
    """A card's direction of travel names the month compared with and, in the internal version,
    that month's figure (the year before is in no table of the page); the public version never
    prints an earlier figure. The summary's target names where it comes from (a printed page has
    no tooltip), and the key says both months are as this extract records them."""
    con = duckdb.connect(str(published_home.warehouse), read_only=True)
    try:
        rows = con.execute("""select st.measure_id, st.unit, st.target_comparator, st.month,
                                     st.direction_vs_previous_month, st.previous_month_value,
                                     st.direction_vs_same_month_last_year, st.same_month_last_year_value
                              from fct_scorecard_status as st
                              where st.month = st.extract_month""").fetchall()
    finally:
        con.close()
    folder = published_home.month_dir(LAST)
    for html, internal in (((folder / "scorecard.html").read_text(encoding="utf-8"), True),
                           ((folder / "public" / "scorecard.html").read_text(encoding="utf-8"), False)):
        assert "both months as this extract records them" in " ".join(html.split())
        for mid, unit, comparator, month, vs_prev, prev, vs_year, year in rows:
            start = html.index(f'id="m-{mid}"')
            article = html[start:html.index("</article>", start)]
            lines = re.findall(r'<div class="dir dir-[a-z]*">([^<]*)</div>', article)
            row = re.search(rf'<tr data-measure="{mid}">(.*?)</tr>', html, re.S).group(1)
            if comparator:
                assert f'<span class="cmp">{escape(comparator)}</span>' in row, mid
            if not internal:
                assert all("(" not in line for line in lines), (mid, lines)
                continue
            before = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
            expected = [
                f"{DIRECTION[direction]} {'as' if direction == 'same' else 'than'} {when:%b %y}"
                + ("" if value is None else f" ({value:,.0f})" if unit == "count" else f" ({value:.1f}%)")
                for direction, when, value in ((vs_prev, before, prev),
                                               (vs_year, month.replace(year=month.year - 1), year))
                if direction is not None
            ]
            assert lines == expected, (mid, lines)
