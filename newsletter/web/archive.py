"""The public archive: sent issues as web pages, and an Atom feed of them.

The same functions serve `newsletter serve` (/archive/, /archive/{issue}/,
/feed.xml) and write the static copy (`newsletter archive --out DIR`).

An issue's web version is its email exactly as rendered for sending, before
personalisation, so it holds nobody's address or token; its unsubscribe
placeholder becomes a link to the general "how to unsubscribe" page. Only
issues with a finished send are shown: a digest waiting in digests/ for next
week stays private until it has gone out.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from newsletter.config import Config
from newsletter.digest import Digest, load_digest
from newsletter.errors import InputError, NewsletterError
from newsletter.files import write_atomic
from newsletter.render import render_issue
from newsletter.store.store import Store
from newsletter.web.pages import Pages

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ISSUE_ID = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Characters XML 1.0 cannot carry at all (digest validation already refuses them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
HELP_PATH = "/unsubscribe/"
CACHE_SIZE = 64


@dataclass(frozen=True)
class ArchivedIssue:
    """A sent issue as the archive lists it."""

    issue_id: str
    title: str
    date: dt.date
    summary: str
    sent_at: dt.datetime
    path: Path


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _atom_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = _NOT_XML.sub("", text)
    return element


class Archive:
    """Sent issues, read from the store (which) and digests/ (what)."""

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self.pages = Pages(config)
        self._digests: dict[tuple[Path, tuple[int, int]], Digest] = {}
        self._html: dict[tuple[str, tuple[int, int], str], str] = {}
        # Rendering (premailer, cssutils) is not known to be thread-safe; it is rare.
        self._render_lock = threading.Lock()

    # ----------------------------------------------------------------- reading

    def _digest(self, path: Path) -> Digest | None:
        stamp = _stamp(path)
        if stamp is None:
            return None
        key = (path, stamp)
        if key not in self._digests:
            try:
                digest = load_digest(path)
            except NewsletterError:
                return None  # a broken file is left out, not a broken archive
            if len(self._digests) >= CACHE_SIZE:
                self._digests.clear()
            self._digests[key] = digest
        return self._digests[key]

    def issues(self) -> list[ArchivedIssue]:
        """Sent issues whose digest file is still there, newest first."""
        found = []
        for published in self.store.published_issues():
            if not ISSUE_ID.fullmatch(published.issue_id):
                continue
            path = self.config.digests_dir / f"{published.issue_id}.json"
            digest = self._digest(path)
            if digest is not None:
                found.append(
                    ArchivedIssue(
                        issue_id=published.issue_id,
                        title=digest.title,
                        date=digest.date,
                        summary="\n\n".join(digest.intro),
                        sent_at=published.sent_at,
                        path=path,
                    )
                )
        return found

    def find(self, issue_id: str) -> ArchivedIssue | None:
        if not ISSUE_ID.fullmatch(issue_id):
            return None
        return next((i for i in self.issues() if i.issue_id == issue_id), None)

    # ----------------------------------------------------------------- pages

    def index_page(self, base: str) -> str:
        return self.pages.render(
            "archive_index", issues=self.issues(), feed_url=f"{base}/feed.xml", robots="index"
        )

    def help_page(self) -> str:
        return self.pages.render("unsubscribe_help", robots="index")

    def issue_page(self, issue_id: str, base: str) -> str | None:
        """The web version of a sent issue; None if there is no such sent issue."""
        issue = self.find(issue_id)
        stamp = _stamp(issue.path) if issue else None
        if issue is None or stamp is None:
            return None
        key = (issue_id, stamp, base)
        if key not in self._html:
            digest = self._digest(issue.path)
            if digest is None:
                return None
            with self._render_lock:
                rendered = render_issue(digest, self.config)
            marker = rendered.placeholders["unsubscribe_url"]
            page = rendered.html.replace(marker, html.escape(f"{base}{HELP_PATH}", quote=True))
            if len(self._html) >= CACHE_SIZE:
                self._html.clear()
            self._html[key] = page
        return self._html[key]

    def feed(self, base: str, *, now: dt.datetime | None = None) -> bytes:
        """An Atom feed (RFC 4287) of the sent issues; ElementTree does the escaping."""
        issues = self.issues()
        publication = self.config.publication
        # Unprefixed tags under xmlns: the plainest Atom, readable by every feed reader.
        root = ET.Element("feed", {"xmlns": ATOM, XML_LANG: publication.language})
        _sub(root, "id", f"{base}/archive/")
        _sub(root, "title", f"{publication.digest_name} · {publication.name}")
        newest = max((i.sent_at for i in issues), default=now or dt.datetime.now(dt.UTC))
        _sub(root, "updated", _atom_time(newest))
        _sub(root, "link", rel="self", type="application/atom+xml", href=f"{base}/feed.xml")
        _sub(root, "link", rel="alternate", type="text/html", href=f"{base}/archive/")
        author = _sub(root, "author")
        _sub(author, "name", publication.name)
        _sub(author, "uri", publication.website)
        for issue in issues:
            entry = _sub(root, "entry")
            url = f"{base}/archive/{issue.issue_id}/"
            _sub(entry, "id", url)
            _sub(entry, "title", issue.title)
            _sub(entry, "updated", _atom_time(issue.sent_at))
            _sub(entry, "published", _atom_time(issue.sent_at))
            _sub(entry, "link", rel="alternate", type="text/html", href=url)
            _sub(entry, "summary", issue.summary, type="text")
        xml: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        return xml

    # ----------------------------------------------------------------- static copy

    def write_static(self, out: Path, base: str) -> list[Path]:
        """Write every page as a file, laid out like the URLs, for any static web host."""
        files: dict[Path, str | bytes] = {
            out / "archive" / "index.html": self.index_page(base),
            out / "feed.xml": self.feed(base),
            out / "unsubscribe" / "index.html": self.help_page(),
        }
        for issue in self.issues():
            page = self.issue_page(issue.issue_id, base)
            if page is not None:
                files[out / "archive" / issue.issue_id / "index.html"] = page
        if out.exists() and not out.is_dir():
            raise InputError(f"{out}: exists and is not a folder")
        for path, content in files.items():
            write_atomic(path, content)
        return sorted(files)
