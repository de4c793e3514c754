"""The editors' workbench page (`newsletter preview --web`), as a function of data.

The page shows one digest as readers will get it: the email at 600 px and 375 px,
light and dark, side by side in sandboxed frames; the plain-text twin; the HTML's size
against Gmail's clipping limit; the check's findings linked to the items they concern;
and the button that sends a [PREVIEW] to the editors. Everything is in the HTML the
server sends: the page's one script (`workbench.js`) only swaps in a newer copy of it
when the digest or a template changes, so the page works without JavaScript too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from newsletter.config import Config
from newsletter.errors import RenderError
from newsletter.pages.html import PAGE_HEADERS, WEB_TEMPLATES, Pages

SCRIPT = "workbench.js"

# The page's own script comes from its own URL (no inline script); the email's frames
# are `srcdoc` documents, which inherit this policy, so their remote images (https) and
# inline styles are allowed, and nothing else. Forms post only to the workbench itself.
WORKBENCH_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; connect-src 'self'; img-src https: data:; "
        "style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
        "frame-src 'self'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
}

_ITEM = re.compile(r"^items\[(\d+)\]")
# `(prefers-color-scheme: dark)` as written by the email template (any spacing, case).
_DARK_QUERY = re.compile(r"\(\s*prefers-color-scheme\s*:\s*dark\s*\)", re.IGNORECASE)
_LIGHT_QUERY = re.compile(r"\(\s*prefers-color-scheme\s*:\s*light\s*\)", re.IGNORECASE)


@dataclass(frozen=True)
class FindingView:
    """One finding of the pre-send check as the page lists it. `path` is a JSON path into
    the digest (`items[2].url`) or "" for the whole issue; `anchor` the page's id of the
    item it concerns (`item-2`), or None."""

    severity: str  # "blocking" or "warning"
    path: str
    message: str
    fix: str

    @property
    def anchor(self) -> str | None:
        found = _ITEM.match(self.path)
        return f"item-{found.group(1)}" if found else None


@dataclass(frozen=True)
class WorkbenchView:
    """What the workbench page shows for one state of the digest.

    Either the rendered email (`html`, `text`, `html_size` in UTF-8 bytes, `items` as
    (index, headline) pairs) or, when the digest does not validate or render, `errors`
    (one line each, every problem with its JSON path). `version` grows by one on each
    re-render; `notice` is the outcome of the last preview sent from the page; `token`
    is the form's anti-forgery token."""

    digest_path: Path
    version: int
    token: str
    clip_bytes: int
    warn_bytes: int
    title: str | None = None
    subject: str | None = None
    html: str | None = None
    text: str | None = None
    html_size: int = 0
    items: tuple[tuple[int, str], ...] = ()
    findings: tuple[FindingView, ...] = ()
    errors: tuple[str, ...] = ()
    notice: str | None = None
    notice_failed: bool = False

    @property
    def valid(self) -> bool:
        return self.html is not None and not self.errors

    @property
    def size_state(self) -> str:
        """ "clipped" over the clipping limit, "near" over the warning size, else "ok"."""
        if self.html_size > self.clip_bytes:
            return "clipped"
        return "near" if self.html_size > self.warn_bytes else "ok"


def dark_variant(html: str) -> str:
    """The email as a dark-mode client shows it: its `prefers-color-scheme: dark` rules
    made unconditional (and `light` ones void). A frame cannot be told its reader prefers
    dark, so the page shows this copy in the dark frames; `newsletter screenshot`
    emulates the preference itself in Chromium instead."""
    always, never = "(min-width: 0px)", "(max-width: 0px)"
    return _LIGHT_QUERY.sub(never, _DARK_QUERY.sub(always, html))


def workbench_page(config: Config, view: WorkbenchView) -> str:
    """The page's HTML (autoescaped; the email goes into `srcdoc` attributes escaped).
    RenderError if the template is missing or broken."""
    dark = dark_variant(view.html) if view.html is not None else None
    return Pages(config).render("workbench", view=view, dark_html=dark)


def workbench_script(config: Config) -> str:
    """The page's script (templates/web/workbench.js): live updates over server-sent
    events. RenderError if the file cannot be read."""
    path = config.templates_dir / WEB_TEMPLATES / SCRIPT
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise RenderError(f"{path}: cannot read the workbench script: {err.strerror}") from err
