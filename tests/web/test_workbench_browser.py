"""The workbench (`newsletter preview --web`) in real headless Chromium against the real
server: live updates without a reload, errors and recovery, the preview button, the page
without JavaScript, accessibility (axe-core), and the forms a foreign page could forge."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from newsletter.api import Workbench
from tests.tools import axe_js
from tests.web.workbench_support import (
    HEADLINE,
    edit_headline,
    outbox_previews,
    served_workbench,
    workbench_project,
)

pytestmark = pytest.mark.browser

WAIT_MS = 10_000  # an upper bound for a slow machine, not a speed requirement


@pytest.fixture
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workbench:
    api, digest = workbench_project(tmp_path, monkeypatch)
    return api.workbench(digest)


@pytest.fixture
def url(bench: Workbench) -> Iterator[str]:
    with served_workbench(bench) as address:
        yield address


def open_page(browser: Any, url: str, width: int = 1280, **options: Any) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900}, **options)
    page = context.new_page()
    # Only the workbench itself: the email's remote images are refused, as offline.
    page.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    page.goto(url)
    return page


def frame_text(page: Any, scheme: str, width: int) -> str:
    frame = page.frame_locator(f'iframe[data-scheme="{scheme}"][data-width="{width}"]')
    return str(frame.locator("body").inner_text(timeout=WAIT_MS))


def test_a_saved_digest_shows_in_the_open_page_without_a_reload(
    browser: Any, bench: Workbench, url: str
) -> None:
    """Open the page, save a new headline into the digest file: the page's text, its item
    list and all four email frames show it, and the page was never reloaded (a value set
    in its window survives)."""
    page = open_page(browser, url)
    assert HEADLINE in frame_text(page, "light", 600)
    page.evaluate("window.stillTheSamePage = true")
    edit_headline(bench.path, "Astana opens a new Silk Road rail terminal")
    page.locator("#plain-text", has_text="Silk Road rail terminal").wait_for(timeout=WAIT_MS)
    assert page.evaluate("window.stillTheSamePage") is True
    assert "Silk Road rail terminal" in page.locator("#item-0").inner_text()
    for scheme in ("light", "dark"):
        for width in (600, 375):
            assert "Silk Road rail terminal" in frame_text(page, scheme, width)


def test_broken_json_shows_the_error_and_the_fix_brings_the_email_back(
    browser: Any, bench: Workbench, url: str
) -> None:
    """Break the JSON on disk: the page shows the error (line and column) in place of the
    email; fix it: the email is back, all without a reload."""
    page = open_page(browser, url)
    page.evaluate("window.stillTheSamePage = true")
    good = bench.path.read_text(encoding="utf-8")
    bench.path.write_text(good.replace('"items"', '"items" "', 1), encoding="utf-8")
    errors = page.locator("#errors", has_text="not valid JSON at line")
    errors.wait_for(timeout=WAIT_MS)
    assert page.locator("iframe").count() == 0
    assert page.get_by_role("heading", level=1).inner_text() == "This digest cannot be rendered"
    bench.path.write_text(good, encoding="utf-8")
    page.locator("iframe").first.wait_for(timeout=WAIT_MS)
    assert page.locator("#errors").count() == 0
    assert HEADLINE in frame_text(page, "dark", 375)
    assert page.evaluate("window.stillTheSamePage") is True


def test_the_frames_are_600_and_375_wide_and_the_dark_ones_dark(browser: Any, url: str) -> None:
    """Four frames side by side: 600 and 375 px, light and dark; the dark ones show the
    email's dark-mode colours, the light ones its light colours."""
    page = open_page(browser, url)
    for scheme, card in (("light", "rgb(255, 255, 255)"), ("dark", "rgb(27, 31, 36)")):
        for width in (600, 375):
            selector = f'iframe[data-scheme="{scheme}"][data-width="{width}"]'
            box = page.locator(selector).bounding_box()
            assert box["width"] == width
            frame = page.frame_locator(selector)
            style = "el => getComputedStyle(el).backgroundColor"
            assert frame.locator(".dm-card").first.evaluate(style) == card


def test_the_preview_button_sends_to_the_editors(browser: Any, url: str, tmp_path: Path) -> None:
    """The button posts the form: a [PREVIEW] goes to the editors list through the
    configured transport (the outbox), and the page says so."""
    page = open_page(browser, url)
    page.get_by_role("button", name="Send a [PREVIEW] to the editors").click()
    page.locator("#notice", has_text="Sent a [PREVIEW] to ed@example.com.").wait_for(
        timeout=WAIT_MS
    )
    (message,) = outbox_previews(tmp_path)
    assert b"[PREVIEW]" in message


def test_without_javascript_the_page_shows_everything_and_the_button_works(
    browser: Any, url: str, tmp_path: Path
) -> None:
    """JavaScript off: the four frames, the plain text, the size and the findings are in
    the page as served, and the button still sends (a plain form POST)."""
    page = open_page(browser, url, java_script_enabled=False)
    assert page.locator("iframe").count() == 4
    assert HEADLINE in page.locator("#plain-text").inner_text()
    assert "102 KB clipping limit" in page.locator("#size").inner_text()
    assert page.locator("#findings").count() == 1
    page.get_by_role("button", name="Send a [PREVIEW] to the editors").click()
    page.locator("#notice", has_text="Sent a [PREVIEW]").wait_for(timeout=WAIT_MS)
    assert len(outbox_previews(tmp_path)) == 1


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 1280])
def test_the_page_passes_axe(browser: Any, url: str, width: int, scheme: str) -> None:
    """axe-core finds no serious or critical violation on the page, at phone and desktop
    width, light and dark (the frames' email included)."""
    script = axe_js()
    page = open_page(browser, url, width, color_scheme=scheme, bypass_csp=True)
    page.add_script_tag(path=str(script))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []


def test_a_forged_form_and_a_foreign_host_are_refused(url: str, tmp_path: Path) -> None:
    """A POST without this workbench's token (what another site's page could send) is a
    403 and sends nothing; a Host header other than loopback is a 400 (DNS rebinding);
    an oversized form is a 413."""
    assert httpx2.post(f"{url}preview", data={"token": "guess"}).status_code == 403
    assert httpx2.post(f"{url}preview", data={}).status_code == 403
    assert httpx2.post(f"{url}preview", content=b"x" * 5000).status_code == 413
    assert httpx2.get(url, headers={"Host": "attacker.example"}).status_code == 400
    assert outbox_previews(tmp_path) == []
