"""Headless Chromium, driven by Playwright: the one place either is imported.

Used for screenshots of the email (`newsletter screenshot`) and for running a script
such as axe-core in each view of it (`newsletter check`). Playwright talks to the
system's Chromium (never a browser it downloads itself): $NEWSLETTER_CHROMIUM, else
Debian's /usr/lib/chromium/chromium, else `chromium`, `chromium-browser` or
`google-chrome` on PATH. A missing browser or Playwright is a ConfigError with the fix,
never a traceback; a page Chromium cannot load is a RenderError.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from newsletter.errors import ConfigError, RenderError
from newsletter.files import write_atomic

CHROMIUM_ENV = "NEWSLETTER_CHROMIUM"
CANDIDATES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome")
# Headless on a server: no sandbox (root in containers), no GPU, and none of the
# background traffic (updates, sync, QUIC probes) Chromium starts on its own.
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
LOAD_TIMEOUT_MS = 30_000  # remote images that never answer must not hang a screenshot
VIEWPORT_HEIGHT = 900  # the first screen; a full-page shot extends to the whole email

Scheme = Literal["light", "dark"]


@dataclass(frozen=True)
class Shot:
    """One screenshot to take: the viewport width in CSS pixels, the reader's colour
    scheme preference (emulated, so the email's `prefers-color-scheme` rules apply) and
    the PNG file to write."""

    width: int
    scheme: Scheme
    target: Path


def find_chromium() -> Path:
    """The Chromium executable (see the module docstring). ConfigError when none is found."""
    configured = os.environ.get(CHROMIUM_ENV)
    for option in [configured] if configured else CANDIDATES:
        found = shutil.which(option) or (option if Path(option).is_file() else None)
        if found:
            return Path(found)
    where = f"${CHROMIUM_ENV} ({configured})" if configured else ", ".join(CANDIDATES)
    raise ConfigError(
        f"Chromium not found: looked for {where}",
        hint=f"install it (Debian: apt-get install chromium) or set {CHROMIUM_ENV} to its path",
    )


def _playwright() -> Any:
    try:
        from playwright import sync_api
    except ImportError as err:
        raise ConfigError(
            "Playwright is not installed", hint="pip install playwright (no browser download)"
        ) from err
    return sync_api


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


@contextmanager
def _chromium(executable: Path | None = None) -> Iterator[tuple[Any, Any]]:
    """Playwright's sync API and a started headless Chromium, both stopped on exit.
    ConfigError when Chromium or Playwright is missing or will not start."""
    sync_api = _playwright()
    executable = executable or find_chromium()
    try:
        playwright = sync_api.sync_playwright().start()
    except sync_api.Error as err:  # e.g. called from inside a running asyncio loop
        raise ConfigError(
            f"Playwright did not start: {_first_line(err)}",
            hint="call it from synchronous code (in a thread when inside asyncio)",
        ) from err
    try:
        try:
            browser = playwright.chromium.launch(executable_path=str(executable), args=ARGS)
        except sync_api.Error as err:
            raise ConfigError(
                f"Chromium at {executable} did not start: {_first_line(err)}",
                hint=f"set {CHROMIUM_ENV} to a working Chromium",
            ) from err
        try:
            yield sync_api, browser
        finally:
            browser.close()
    finally:
        playwright.stop()


def screenshots(html: str, shots: Sequence[Shot], *, offline: bool = False) -> list[int]:
    """Load `html` once per shot in headless Chromium and write a full-height PNG of it
    to each shot's target; the height of each in CSS pixels. With `offline`, every
    http(s) request (remote images) is refused, as a privacy-minded client would.
    ConfigError when Chromium or Playwright is missing or will not start; RenderError
    when a page does not load in LOAD_TIMEOUT_MS."""
    with _chromium() as (sync_api, browser):
        return [_shoot(browser, html, s, offline=offline, error=sync_api.Error) for s in shots]


def evaluate_in_views(
    html: str,
    views: Sequence[tuple[int, Scheme]],
    script: Path,
    expression: str,
    *,
    executable: Path | None = None,
) -> list[Any]:
    """Open `html` offline (every request refused) in each view (viewport width in CSS
    pixels, colour scheme emulated), add the JavaScript file `script` and return what
    `expression` (a JS function, may be async) evaluates to, one value per view: how
    axe-core is run. ConfigError as for `screenshots`; RenderError when a page does not
    load or the expression fails."""
    with _chromium(executable) as (sync_api, browser):
        return [
            _evaluate(browser, html, view, script, expression, sync_api.Error) for view in views
        ]


def _evaluate(
    browser: Any,
    html: str,
    view: tuple[int, Scheme],
    script: Path,
    expression: str,
    error: type[Exception],
) -> Any:
    width, scheme = view
    context = browser.new_context(
        viewport={"width": width, "height": VIEWPORT_HEIGHT}, color_scheme=scheme
    )
    try:
        page = context.new_page()
        page.route("**/*", lambda route: route.abort())
        page.set_content(html, wait_until="load", timeout=LOAD_TIMEOUT_MS)
        page.add_script_tag(path=str(script))
        return page.evaluate(expression)
    except error as err:
        raise RenderError(
            f"Chromium could not run {script.name} at {width} px {scheme}: {_first_line(err)}"
        ) from err
    finally:
        context.close()


def _shoot(browser: Any, html: str, shot: Shot, *, offline: bool, error: type[Exception]) -> int:
    context = browser.new_context(
        viewport={"width": shot.width, "height": VIEWPORT_HEIGHT}, color_scheme=shot.scheme
    )
    try:
        page = context.new_page()
        if offline:
            page.route("http*://**", lambda route: route.abort())
        page.set_content(html, wait_until="load", timeout=LOAD_TIMEOUT_MS)
        png = page.screenshot(full_page=True)
        height = int(page.evaluate("document.documentElement.scrollHeight"))
    except error as err:
        raise RenderError(
            f"Chromium could not take the {shot.width} px {shot.scheme} screenshot: "
            f"{_first_line(err)}"
        ) from err
    finally:
        context.close()
    write_atomic(shot.target, png)
    return height
