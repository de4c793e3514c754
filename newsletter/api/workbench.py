"""The editors' workbench behind `newsletter preview --web`: one digest, watched.

`Workbench` keeps the latest rendering of a digest file and re-renders it when the file
or any template changes (`refresh`, which the web shell calls about five times a second:
polling mtimes needs no dependency and no OS-specific watcher). A digest that stops
validating becomes a list of errors, and the email comes back when it is fixed. The
page itself is rendered by newsletter.pages; the HTTP is newsletter.web's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from newsletter.api.digests import render
from newsletter.api.results import PreviewReport
from newsletter.check import check_issue
from newsletter.config import Config
from newsletter.errors import BaseNewsletterError, InputError, RenderError
from newsletter.pages import FindingView, WorkbenchView, workbench_page, workbench_script


def _stat(path: Path) -> tuple[str, int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (str(path), info.st_mtime_ns, info.st_size)


# Digests are at most 2 MB (newsletter.digest); a bigger file is hashed this far only.
HASHED_BYTES = 4_000_000


def _digest_hash(path: Path) -> str | None:
    # The content too: two saves within one timestamp tick keep mtime and maybe size.
    try:
        with path.open("rb") as file:
            return hashlib.sha256(file.read(HASHED_BYTES)).hexdigest()
    except OSError:
        return None


class Workbench:
    """A digest file under watch, rendered for the workbench page.

    `send_preview` is the preview path to call for the page's button (Newsletter.preview
    with the command line's recipients and transport). `token` is the anti-forgery token
    the page's form must send back: the workbench listens on loopback, but any web page
    the editor opens could post a form to it."""

    def __init__(
        self, config: Config, path: Path, send_preview: Callable[[], PreviewReport]
    ) -> None:
        self.config = config
        self.path = path
        self.token = secrets.token_urlsafe(32)
        self._send_preview = send_preview
        self._lock = threading.Lock()
        self._seen: object = None
        self._version = 0
        self._notice: tuple[str, bool] | None = None
        self._view = self._build()
        self.closed = threading.Event()

    @property
    def version(self) -> int:
        return self._version

    def _fingerprint(self) -> object:
        templates = self.config.templates_dir
        files = sorted(p for p in templates.rglob("*") if p.is_file()) if templates.is_dir() else []
        return (_digest_hash(self.path), _stat(self.path), tuple(_stat(p) for p in files))

    def _build(self) -> WorkbenchView:
        self._seen = self._fingerprint()
        self._version += 1
        notice, failed = self._notice or (None, False)
        limits = self.config.rendering
        base = WorkbenchView(
            digest_path=self.path,
            version=self._version,
            token=self.token,
            clip_bytes=limits.clip_size_bytes,
            warn_bytes=limits.warn_size_bytes,
            notice=notice,
            notice_failed=failed,
        )
        try:
            issue = render(self.config, self.path, write=False).issue
            # The check without the slow tools (SpamAssassin, axe-core): it runs on every save.
            report = check_issue(self.config, self.path, tools=False)
        except (InputError, RenderError) as err:
            return replace(base, errors=tuple(err.lines()))
        return replace(
            base,
            title=issue.digest.title,
            subject=issue.subject,
            html=issue.html,
            text=issue.text,
            html_size=issue.html_size,
            items=tuple((n, item.headline) for n, item in enumerate(issue.digest.items)),
            findings=tuple(
                FindingView(str(f.severity), f.path, f.message, f.fix) for f in report.findings
            ),
        )

    def refresh(self) -> int:
        """Re-render if the digest file or a file under the templates folder changed
        since the last rendering; the current version number (it grows on each)."""
        with self._lock:
            if self._fingerprint() != self._seen:
                self._view = self._build()
            return self._version

    def view(self) -> WorkbenchView:
        """The latest state, refreshed first."""
        self.refresh()
        return self._view

    def page(self) -> str:
        """The workbench page (HTML) for the latest state. RenderError if the page's own
        template is broken."""
        return workbench_page(self.config, self.view())

    def script(self) -> str:
        return workbench_script(self.config)

    def token_matches(self, value: str) -> bool:
        return hmac.compare_digest(value.encode(), self.token.encode())

    def send_preview(self) -> bool:
        """Send the [PREVIEW] through the preview path; the outcome becomes the page's
        notice. True when every preview was accepted. Errors of the preview path (the
        digest invalid, nobody to send to, the transport failing) become the notice."""
        try:
            report = self._send_preview()
        except BaseNewsletterError as err:
            self._set_notice(f"Not sent: {' '.join(err.lines())}", failed=True)
            return False
        failed = report.error()
        if failed is not None:
            self._set_notice(f"Not sent: {failed.message}", failed=True)
            return False
        sent_to = ", ".join(r.email for r in report.recipients)
        self._set_notice(f"Sent a [PREVIEW] to {sent_to}.", failed=False)
        return True

    def _set_notice(self, text: str, *, failed: bool) -> None:
        with self._lock:
            self._notice = (text, failed)
            self._view = self._build()

    def close(self) -> None:
        """Tell the live-update streams to end (the server is stopping)."""
        self.closed.set()
