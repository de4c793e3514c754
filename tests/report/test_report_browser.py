"""The HTML report in headless Chromium: served behind its token, it makes no request
of its own, its three charts are drawn, it fits a phone, and axe-core finds nothing
serious, light or dark. The screenshot in docs/report.md is taken here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from newsletter import Newsletter
from newsletter.browser import Shot, screenshots
from newsletter.store import Store
from tests.conftest import REPO
from tests.report.support import ISSUE, FakeEvents
from tests.tools import axe_js
from tests.transports.harness import free_port
from tests.web.support import served

pytestmark = pytest.mark.browser

TOKEN = "reports-token-for-tests-0123456789abcdef"  # noqa: S105 - a test token
SCREENSHOT = REPO / "docs" / "img" / "report.png"


@pytest.fixture
def url(nl: Newsletter, heard: FakeEvents, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The report of 2025-09-12 served by the real app (uvicorn on 127.0.0.1)."""
    monkeypatch.setenv("NEWSLETTER_REPORT_TOKEN", TOKEN)
    with Store.from_config(nl.config) as store, served(nl.config, store, free_port()) as base:
        yield f"{base}/reports/{ISSUE}"


def open_report(browser: Any, url: str, width: int = 1280, **options: Any) -> tuple[Any, list[str]]:
    """The page at `url` with the token, and the list every request it makes is added to."""
    context = browser.new_context(
        viewport={"width": width, "height": 900},
        extra_http_headers={"Authorization": f"Bearer {TOKEN}"},
        **options,
    )
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url, wait_until="load")
    return page, requests


def test_the_page_requests_nothing_and_draws_its_charts(browser: Any, url: str) -> None:
    """Playwright's request log holds the page itself and nothing else (no font, script,
    style or image from anywhere); the funnel, clicks-per-item and trend charts are
    drawn at a real size, named for screen readers; the item chart shows headlines."""
    page, requests = open_report(browser, url)
    assert requests == [url]
    charts = page.locator('svg[role="img"]')
    assert charts.count() == 3
    labels = [charts.nth(n).get_attribute("aria-label") for n in range(3)]
    assert labels == ["Delivery funnel", "Clicks per item", "Rates of the last 2 issues"]
    for n in range(3):
        box = charts.nth(n).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100
    assert "Pakistan, Kazakhstan target $1 billion" in charts.nth(1).inner_html()
    assert page.get_by_role("heading", level=1).inner_text() == f"Issue {ISSUE}"


def test_the_page_fits_a_phone(browser: Any, url: str) -> None:
    """At 375 px nothing scrolls sideways but the wide tables inside their own box."""
    page, _ = open_report(browser, url, 375)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 1280])
def test_the_page_passes_axe(browser: Any, url: str, width: int, scheme: str) -> None:
    """axe-core finds no serious or critical violation, at phone and desktop width,
    light and dark."""
    page, _ = open_report(browser, url, width, color_scheme=scheme, bypass_csp=True)
    page.add_script_tag(path=str(axe_js()))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []


@pytest.mark.golden
def test_the_documentation_s_screenshot(nl: Newsletter, heard: FakeEvents, tmp_path: Path) -> None:
    """The page renders to a full-height PNG through newsletter.browser (what
    docs/img/report.png is; `make golden` (UPDATE_GOLDEN=1) retakes it)."""
    html = nl.report_page(ISSUE).html
    target = SCREENSHOT if os.environ.get("UPDATE_GOLDEN") == "1" else tmp_path / "report.png"
    # In a thread of its own: the session's browser fixture holds this thread's Playwright.
    with ThreadPoolExecutor(1) as pool:
        [height] = pool.submit(
            screenshots, html, [Shot(1024, "light", target)], offline=True
        ).result()
    assert height > 1500
    assert target.stat().st_size > 50_000
