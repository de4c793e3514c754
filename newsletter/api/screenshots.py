"""Screenshots of the email as readers see it: phone and desktop width, light and dark."""

from __future__ import annotations

from pathlib import Path

from newsletter.api.digests import render
from newsletter.api.results import Screenshot, ScreenshotResult
from newsletter.browser import Scheme, Shot, screenshots
from newsletter.config import Config
from newsletter.render import issue_id

WIDTHS = (375, 600)  # a phone (iPhone SE to 15 mini) and the email's own column
SCHEMES: tuple[Scheme, ...] = ("light", "dark")


def screenshot(config: Config, path: Path, out: Path, *, offline: bool = False) -> ScreenshotResult:
    """Render the digest at `path` and write `email-<width>-<scheme>.png` into `out` for
    each width in WIDTHS and scheme, full height, through headless Chromium. With
    `offline`, remote images are not fetched. Raises the digest errors (3), RenderError
    (6), and ConfigError (4) when Chromium or Playwright is missing."""
    issue = render(config, path, write=False).issue
    shots = [Shot(w, s, out / f"email-{w}-{s}.png") for w in WIDTHS for s in SCHEMES]
    heights = screenshots(issue.html, shots, offline=offline)
    files = tuple(
        Screenshot(shot.target, shot.width, shot.scheme, height)
        for shot, height in zip(shots, heights, strict=True)
    )
    return ScreenshotResult(path=path, issue_id=issue_id(issue.digest), files=files)
