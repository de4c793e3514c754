"""Accessibility: axe-core in headless Chromium (Playwright with the system browser).

The email is opened offline (every request refused, as by a privacy-minded mail
client) at a phone's 375 px and a desktop's 1024 px, in light and dark colour
schemes, and axe-core (npm `axe-core`, its axe.min.js) runs on each. Violations of
impact *serious* or *critical* block; moderate and minor ones (every table-layout
email has `region` and `landmark-one-main`) are not reported. Chromium is driven
through newsletter.browser (Playwright's one importer): without Playwright, Chromium or
axe-core the check is skipped with a note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsletter.browser import Scheme, evaluate_in_views
from newsletter.check.findings import Finding, blocking
from newsletter.check.tools import AXE_ENV, CHROMIUM_ENV, axe_script, chromium
from newsletter.errors import ConfigError, RenderError

VIEWPORTS: tuple[tuple[int, Scheme], ...] = (
    (375, "light"),
    (375, "dark"),
    (1024, "light"),
    (1024, "dark"),
)
BLOCKING_IMPACTS = ("serious", "critical")
_RUN = "async () => await axe.run(document, {resultTypes: ['violations']})"
MAX_SELECTORS = 3


@dataclass
class _Violation:
    rule: str
    impact: str
    help: str
    url: str
    where: list[str] = field(default_factory=list)
    selectors: list[str] = field(default_factory=list)


def _collect(found: dict[str, _Violation], result: Any, where: str) -> None:
    for raw in result.get("violations", []):
        if raw.get("impact") not in BLOCKING_IMPACTS:
            continue
        violation = found.setdefault(
            raw["id"],
            _Violation(raw["id"], raw["impact"], raw.get("help", ""), raw.get("helpUrl", "")),
        )
        violation.where.append(where)
        for node in raw.get("nodes", []):
            selector = " ".join(str(part) for part in node.get("target", []))
            if selector not in violation.selectors:
                violation.selectors.append(selector)


def _run(html: str, browser_path: Path, script: Path) -> dict[str, _Violation]:
    found: dict[str, _Violation] = {}
    results = evaluate_in_views(html, VIEWPORTS, script, _RUN, executable=browser_path)
    for (width, scheme), result in zip(VIEWPORTS, results, strict=True):
        _collect(found, result, f"{width} px {scheme}")
    return found


def _finding(violation: _Violation) -> Finding:
    shown = ", ".join(violation.selectors[:MAX_SELECTORS])
    more = len(violation.selectors) - MAX_SELECTORS
    return blocking(
        f"axe/{violation.rule}",
        "",
        f"accessibility ({violation.impact}): {violation.help} — at {', '.join(violation.where)}"
        f"; elements: {shown}" + (f" and {more} more" if more > 0 else ""),
        f"see {violation.url}" if violation.url else "see axe-core's rule description",
    )


def axe_check(html: str, base_dir: Path) -> tuple[tuple[Finding, ...], tuple[str, ...]]:
    """Findings and skip notes for the rendered HTML."""
    browser_path, script = chromium(), axe_script(base_dir)
    if browser_path is None:
        return (), (f"accessibility: skipped, Chromium is not installed (or set {CHROMIUM_ENV})",)
    if script is None:
        return (), (f"accessibility: skipped, axe-core not found (npm axe-core@4; set {AXE_ENV})",)
    try:
        found = _run(html, browser_path, script)
    except (ConfigError, RenderError) as err:  # no Playwright, no start, a page timed out
        reason = " ".join(err.message.split())[:200]
        return (), (f"accessibility: skipped, headless Chromium failed: {reason}",)
    return tuple(_finding(v) for v in found.values()), ()
