"""The rendered email in a real browser (headless Chromium): phone, desktop, dark mode."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from newsletter.config import load_config
from newsletter.digest import load_digest
from newsletter.render import render_issue
from tests.conftest import REPO
from tests.delivery_support import spaceless_digest

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


LAYOUT = """() => {
  const tops = [];
  for (const block of document.querySelectorAll('h1, h2, h3, p, td > div')) {
    const range = document.createRange();
    range.selectNodeContents(block);
    const lines = new Set([...range.getClientRects()].map(rect => Math.round(rect.top)));
    tops.push([...lines].sort((a, b) => a - b));
  }
  const root = document.documentElement;
  return [root.scrollWidth, root.scrollHeight, tops];
}"""

DIFFERENT_PIXELS = """async ([first, second]) => {
  const load = src => new Promise(done => {
    const img = new Image();
    img.onload = () => done(img);
    img.src = src;
  });
  const pixels = img => {
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [img.width, img.height];
    const context = canvas.getContext('2d');
    context.drawImage(img, 0, 0);
    return context.getImageData(0, 0, img.width, img.height).data;
  };
  const [a, b] = [pixels(await load(first)), pixels(await load(second))];
  let different = 0;
  for (let k = 0; k < a.length; k += 4) {
    if (a[k] !== b[k] || a[k + 1] !== b[k + 1] || a[k + 2] !== b[k + 2]) different++;
  }
  return different / (a.length / 4);
}"""


@pytest.mark.parametrize("width", [375, 1024])
def test_invisible_breaks_in_spaceless_text_keep_the_layout(
    browser: Any, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chinese, Japanese, Thai and Arabic paragraphs without spaces, emoji sequences and a
    5,000-digit number, broken by inserted `<!--\\n-->` comments, lay out exactly like
    the unbroken HTML: same page size and every text block wrapped into the same lines.
    Pixels: Chromium starts each text node's glyphs at a position rounded to 1/64 px, so
    where a comment splits a line of glyphs with fractional advances the glyphs after it
    may sit up to 1/64 px apart: the anti-aliasing of some glyph edges differs (under 1%
    of the pixels; ~1,200 of 8.4 million measured for the Chinese text at 375 px), nothing
    moves. Where advances are whole pixels (15 px CJK boxes) the pixels are identical."""
    config = load_config(REPO / "config.yaml")
    digest = spaceless_digest()
    broken = render_issue(digest, config).html
    monkeypatch.setattr("newsletter.render.issue.break_html_lines", lambda text: text)
    unbroken = render_issue(digest, config).html
    assert broken.count("<!--\n-->") > 100
    layouts, shots = [], []
    for document in (unbroken, broken):
        page = open_email(browser, document, width)
        layouts.append(page.evaluate(LAYOUT))
        png = page.screenshot(full_page=True)
        shots.append("data:image/png;base64," + base64.b64encode(png).decode("ascii"))
        page.context.close()
    assert layouts[0] == layouts[1]
    page = browser.new_page()
    assert page.evaluate(DIFFERENT_PIXELS, shots) < 0.01
    page.close()
