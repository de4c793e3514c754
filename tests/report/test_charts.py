"""The charts are inline SVG that is safe to put in a page: outside text stays text,
nothing is linked, the bytes are stable, and threads drawing at once do not mix."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from newsletter import Newsletter
from newsletter.report import charts
from newsletter.store import LinkClicks
from tests.report.support import ISSUE, FakeEvents, totals

HOSTILE = '<script>alert(1)</script> & "$\\frac{1}{2}$" ]]> 日本語 🎉 Қазақстан'
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def _chart(label: str = HOSTILE) -> str:
    bars = [charts.Bar(label, 3, 1), charts.Bar("Second", 2)]
    return charts.bar_chart("Clicks per item", bars, value_label="human", extra_label="scanner")


def test_outside_text_stays_text() -> None:
    """A headline with markup, an ampersand, TeX between dollars, Chinese, an emoji and
    Kazakh: escaped for XML, never parsed as mathtext, no warning for glyphs the
    bundled font lacks (the test run turns warnings into errors)."""
    svg = _chart()
    assert "<script" not in svg
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert any(text.startswith("&lt;script&gt;alert(1)&lt;/script&gt; &amp;") for text in texts)
    assert any("$\\frac{1}{2}$" in text for text in texts)


def test_the_svg_links_and_loads_nothing() -> None:
    """The only URLs in a chart are the SVG and XLink namespace names (never fetched):
    no metadata, no href but to the SVG's own markers, no font or image; it starts at
    <svg, named for screen readers."""
    for svg in (
        _chart(),
        charts.rate_chart(
            "Rates", ["2025-09-05", "2025-09-12"], [("delivered", charts.BLUE, [0.9, None])]
        ),
    ):
        assert svg.startswith('<svg role="img" aria-label="')
        assert set(re.findall(r"https?://[^\"' <]+", svg)) <= NAMESPACES
        assert {href[:1] for href in re.findall(r'href="([^"]*)"', svg)} <= {"#"}  # in-SVG only
        assert "<metadata" not in svg and "<image" not in svg


def test_the_same_chart_draws_the_same_bytes_even_from_many_threads() -> None:
    """No date, stable ids: one chart twice is one text; eight threads drawing at once
    (as the web's thread pool can) each get that same text."""
    first = _chart()
    with ThreadPoolExecutor(8) as pool:
        drawn = list(pool.map(lambda _: _chart(), range(8)))
    assert drawn == [first] * 8


def test_a_reported_url_cannot_break_out_of_the_page(nl: Newsletter, events: FakeEvents) -> None:
    """A clicked URL as SendGrid reported it, with quotes and markup in it, is shown
    escaped in the page's table of other links."""
    url = 'https://evil.example/"><script>alert(1)</script>'
    events.by_issue[(ISSUE, None)] = totals(
        counts={"delivered": 3, "click_human": 1}, links=(LinkClicks(url, 1, 0, None),)
    )
    html = nl.report_page(ISSUE).html
    assert "<script" not in html
    assert "https://evil.example/&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
