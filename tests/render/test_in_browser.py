"""The rendered email in a real browser (headless Chromium): phone, desktop, dark mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from newsletter.config import load_config
from newsletter.digest import load_digest
from newsletter.render import render_issue
from tests.conftest import REPO

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def html() -> str:
    digest = load_digest(REPO / "digests/2025-09-12.json")
    return render_issue(digest, load_config(REPO / "config.yaml")).html


def open_email(browser: Any, html: str, width: int, scheme: str = "light") -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    # Offline: the hero image and anything else remote is refused, as in a privacy-minded client.
    page.route("http*://**", lambda route: route.abort())
    page.set_content(html, wait_until="load")
    return page


def shoot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000  # a real picture, not a blank page


def test_phone_width_has_no_horizontal_scroll(browser: Any, html: str, tmp_path: Path) -> None:
    """At 375 px everything fits the screen and the mobile rules take effect."""
    page = open_email(browser, html, 375)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    padding = page.evaluate("getComputedStyle(document.querySelector('td.t')).paddingLeft")
    assert padding == "18px"
    shoot(page, tmp_path, "phone")


def test_desktop_width_is_a_600px_column(browser: Any, html: str, tmp_path: Path) -> None:
    """At 600 px and wider the content is one 600 px column with desktop padding."""
    page = open_email(browser, html, 800)
    width = page.evaluate("document.querySelector('.dm-card').getBoundingClientRect().width")
    assert width == 600
    assert page.evaluate("getComputedStyle(document.querySelector('td.t')).paddingLeft") == "28px"
    shoot(page, tmp_path, "desktop")


def test_dark_mode_turns_the_card_dark_and_text_light(
    browser: Any, html: str, tmp_path: Path
) -> None:
    """With prefers-color-scheme: dark the inlined light colours are overridden."""
    page = open_email(browser, html, 600, scheme="dark")
    card = page.evaluate("getComputedStyle(document.querySelector('.dm-card')).backgroundColor")
    heading = page.evaluate("getComputedStyle(document.querySelector('h1')).color")
    assert card == "rgb(27, 31, 36)"
    assert heading == "rgb(245, 245, 245)"
    shoot(page, tmp_path, "dark")


def test_light_mode_keeps_light_colours(browser: Any, html: str) -> None:
    """Without dark mode the card is white and headings navy."""
    page = open_email(browser, html, 600)
    card = page.evaluate("getComputedStyle(document.querySelector('.dm-card')).backgroundColor")
    assert card == "rgb(255, 255, 255)"
    assert (
        page.evaluate("getComputedStyle(document.querySelector('h1')).color") == "rgb(20, 33, 61)"
    )


@pytest.mark.parametrize("width", [375, 1024])
def test_breaking_long_lines_changes_no_pixel(
    browser: Any, html: str, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The HTML with its lines broken to at most 800 octets (for SendGrid's 998) renders
    pixel for pixel like MJML's unbroken output: the same full-page screenshot."""
    monkeypatch.setattr("newsletter.render.issue.break_html_lines", lambda text: text)
    digest = load_digest(REPO / "digests/2025-09-12.json")
    unbroken = render_issue(digest, load_config(REPO / "config.yaml")).html
    assert unbroken != html
    shots = []
    for document in (unbroken, html):
        page = open_email(browser, document, width)
        shots.append(page.screenshot(full_page=True))
        page.context.close()
    assert shots[0] == shots[1]
