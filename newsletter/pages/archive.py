"""The public archive: sent issues as web pages, and an Atom feed of them.

The same functions serve `newsletter serve` (/archive/, /archive/{issue}/,
/feed.xml) and write the static copy (`newsletter archive --out DIR`).

Everything shown comes from the store: each issue's latest version that a finished
send delivered (`Store.issues.archived_issues`, `.sent_issue_version`), never a
digest file and never today's templates, so a web host sharing the store needs no digests/
folder, an issue sent from a file anywhere appears, and a digest edited after
sending changes nothing here. An issue's web version is its email HTML exactly
as sent, before personalisation, so it holds nobody's address or token; its
unsubscribe placeholder becomes a link to the general "how to unsubscribe"
page. Only issues with a finished send are shown.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from newsletter.config import Config
from newsletter.digest import parse_digest
from newsletter.errors import InputError, NewsletterError
from newsletter.files import write_atomic
from newsletter.pages.html import Pages
from newsletter.store import Store

ATOM = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
ISSUE_ID = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Characters XML 1.0 cannot carry at all (digest validation already refuses them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
HELP_PATH = "/unsubscribe/"
CACHE_SIZE = 64
# The preferences marker render_issue leaves (newsletter.render.issue.placeholder); the
# store keeps only the unsubscribe one by name, and no digest text can hold this shape.
_PREFERENCES_MARKER = re.compile(r"https://preferences-url\.invalid/[0-9a-f]{24}")


@dataclass(frozen=True)
class ArchivedIssue:
    """A sent issue as the archive lists it: its latest version as sent."""

    issue_id: str
    title: str
    date: dt.date
    summary: str
    sent_at: dt.datetime
    version_id: int  # the stored version shown (rows are never rewritten: a cache key)


@dataclass(frozen=True)
class _Listing:
    title: str
    date: dt.date
    summary: str


def _atom_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = _NOT_XML.sub("", text)
    return element


class Archive:
    """Sent issues, read from the store only."""

    def __init__(self, config: Config, store: Store) -> None:
        self.config = config
        self.store = store
        self.pages = Pages(config)
        # Stored versions never change, so their id is a cache key that never goes stale.
        self._listings: dict[int, _Listing | None] = {}
        self._html: dict[tuple[int, str], str] = {}

    # ----------------------------------------------------------------- reading

    def _listings_of(self, version_ids: list[int]) -> dict[int, _Listing | None]:
        missing = [i for i in version_ids if i not in self._listings]
        if missing:
            if len(self._listings) + len(missing) > CACHE_SIZE * 16:
                self._listings.clear()
            for version_id, text in self.store.issues.sent_issue_digests(missing).items():
                self._listings[version_id] = _listing(text)
        return {i: self._listings.get(i) for i in version_ids}

    def issues(self) -> list[ArchivedIssue]:
        """Sent issues, newest first, as their latest kept version says."""
        archived = [
            a for a in self.store.issues.archived_issues() if ISSUE_ID.fullmatch(a.issue_id)
        ]
        listings = self._listings_of([a.version.id for a in archived])
        found = []
        for entry in archived:
            listing = listings.get(entry.version.id)
            if listing is not None:
                found.append(
                    ArchivedIssue(
                        issue_id=entry.issue_id,
                        title=listing.title,
                        date=listing.date,
                        summary=listing.summary,
                        sent_at=entry.sent_at,
                        version_id=entry.version.id,
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
        """The web version of a sent issue: its HTML exactly as sent, with the general
        unsubscribe page where each reader had their own link; None if not published."""
        issue = self.find(issue_id)
        if issue is None:
            return None
        key = (issue.version_id, base)
        if key in self._html:
            return self._html[key]
        kept = self.store.issues.sent_issue_version(issue.version_id)  # the version that went out
        if kept is None:
            return None
        help_link = html.escape(f"{base}{HELP_PATH}", quote=True)
        page = kept.html.replace(kept.unsubscribe_placeholder, help_link)
        # The footer's personal preferences link: in the archive, the same general page.
        page = _PREFERENCES_MARKER.sub(help_link, page)
        if len(self._html) >= CACHE_SIZE:
            self._html.clear()
        # Under the id actually read: a version kept since the listing is cached as itself.
        self._html[(kept.id, base)] = page
        return page

    def feed(self, base: str, *, now: dt.datetime | None = None) -> bytes:
        """An Atom feed (RFC 4287) of the sent issues; ElementTree does the escaping."""
        issues = self.issues()
        publication = self.config.publication
        # Unprefixed tags under xmlns: the plainest Atom, readable by every feed reader.
        root = ET.Element("feed", {"xmlns": ATOM, XML_LANG: publication.language})
        _sub(root, "id", f"{base}/archive/")
        _sub(root, "title", f"{publication.digest_name} · {publication.name}")
        newest = max((i.sent_at for i in issues), default=now or self.store.clock.now())
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


def _listing(digest_json: str) -> _Listing | None:
    """Title, date and intro of a stored digest; None if it no longer reads as one
    (a store edited by hand): that issue is left out, not a broken archive."""
    try:
        digest = parse_digest(digest_json, "the stored issue")
    except NewsletterError:
        return None
    return _Listing(title=digest.title, date=digest.date, summary="\n\n".join(digest.intro))
