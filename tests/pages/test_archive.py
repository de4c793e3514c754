"""The public archive: sent issues only, no personal data, a valid and escaped Atom feed."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from newsletter.cli import cli
from newsletter.clock import FixedClock
from newsletter.config import Config
from newsletter.digest import Digest, load_digest
from newsletter.message import IssueMessage, build_issue_message
from newsletter.pages import Archive
from newsletter.render import render_issue
from newsletter.states import SendState
from newsletter.store import Store
from tests.conftest import REPO
from tests.feedback.signing import Signer
from tests.web.support import SECRET, Site, make_site

ATOM = "{http://www.w3.org/2005/Atom}"
TOKEN = re.compile(r"/unsubscribe/[1-9][0-9]*\.[A-Za-z0-9_-]{43}")
HOSTILE = 'Fish & Chips <script>alert("x")</script> ]]> “quoted”'


def keep_and_send(
    site: Site, digest: Digest, *, finish: bool = True, list_name: str = "weekly"
) -> IssueMessage:
    """What a send does for the archive: keep the issue as sent, then (if asked) finish."""
    issue = build_issue_message(render_issue(digest, site.config), site.config, list_name)
    site.store.issues.keep_sent_issue(issue)
    if finish:
        site.finish_send(issue.issue_id, list_name, issue.content_hash)
    else:
        site.open_send(issue.issue_id, list_name, issue.content_hash)
    return issue


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """Two sample digests sent (one with a hostile title), one still sending; the config's
    digests/ folder does not exist: the archive reads the store only."""
    made = make_site(tmp_path, Signer.new())
    paths = made.config.paths.model_copy(update={"digests": tmp_path / "no-digests-here"})
    made.config = made.config.model_copy(update={"paths": paths})
    made.__post_init__()  # the app again, on the new config
    made.subscribe(2)
    hostile = load_digest(REPO / "digests" / "2025-09-05.json").model_copy(
        update={"title": HOSTILE}
    )
    keep_and_send(made, hostile)
    keep_and_send(made, load_digest(REPO / "digests" / "2025-09-12.json"))
    # Still sending: not in the archive yet.
    keep_and_send(made, load_digest(REPO / "digests" / "2026-02-06.json"), finish=False)
    yield made
    made.store.close()


def test_archive_lists_sent_issues_newest_first(site: Site) -> None:
    """/archive/ shows issues with a finished send, newest first, titles escaped."""
    page = site.client.get("/archive/")
    assert page.status_code == 200
    links = re.findall(r'<a href="([^"]+)/">', page.text)
    assert links == ["2025-09-12", "2025-09-05"]
    assert "<script>" not in page.text
    assert "Fish &amp; Chips &lt;script&gt;" in page.text
    assert 'type="application/atom+xml"' in page.text


def test_issue_page_is_the_email_without_personal_data(site: Site) -> None:
    """The web version is the rendered email; its unsubscribe link is the general help page."""
    page = site.client.get("/archive/2025-09-12/")
    assert page.status_code == 200
    assert "Unsubscribe</a>" in page.text
    assert 'href="https://news.example.com/unsubscribe/"' in page.text
    assert not TOKEN.search(page.text)
    assert ".invalid/" not in page.text  # no placeholder left
    assert "reader0000" not in page.text and "@example.com" not in page.text
    assert "img-src https:" in page.headers["content-security-policy"]


def test_unsent_and_unknown_issues_are_not_found(site: Site) -> None:
    """An issue still being sent, a missing one and a path trick are all 404."""
    for path in ("/archive/2026-02-06/", "/archive/2024-01-01/", "/archive/..%2Fconfig/"):
        assert site.client.get(path).status_code == 404


def test_scheduled_send_is_not_published_before_it_goes_out(site: Site) -> None:
    """A send scheduled for later counts only once its delivery time has passed."""
    from datetime import UTC, datetime, timedelta

    kept = site.store.issues.sent_issue("2026-02-06")
    assert kept is not None
    record = site.store.sends.open_send(
        issue_id="2026-02-06",
        list_name="weekly",
        content_hash=kept.content_hash,
        message_hash="m" * 64,
        transport="sendgrid",
        send_at=datetime.now(UTC) + timedelta(hours=2),
        batch_id="b1",
    )
    site.store.sends.finish_send(record.id, SendState.FINISHED, note=None)
    assert site.client.get("/archive/2026-02-06/").status_code == 404


def test_a_version_no_finished_send_delivered_is_not_shown(site: Site, tmp_path: Path) -> None:
    """A digest edited after sending, then sent again (forced, or to another list) by a
    send that has not finished - paused, refused by every server, scheduled - is kept as
    a new version, but nobody got it: the listing, the page, the feed and the static copy
    keep showing the version the readers got, until a send of the new one finishes."""
    sent = load_digest(REPO / "digests" / "2025-09-12.json")
    edited = sent.model_copy(update={"title": "EDITED AFTER SENDING"})
    again = keep_and_send(site, edited, finish=False, list_name="editors")
    assert site.store.issues.sent_issue("2025-09-12").version == 2  # type: ignore[union-attr]
    page = site.client.get("/archive/2025-09-12/").text
    assert "EDITED" not in page and sent.title.split(",")[0] in page
    assert "EDITED" not in site.client.get("/archive/").text
    assert b"EDITED" not in site.client.get("/feed.xml").content
    written = Archive(site.config, site.store).write_static(
        tmp_path / "public", "https://news.example.com"
    )
    assert not any("EDITED" in path.read_text(encoding="utf-8") for path in written)
    site.finish_send("2025-09-12", "editors", again.content_hash)
    assert "EDITED" in site.client.get("/archive/2025-09-12/").text


def test_atom_feed_parses_and_escapes(site: Site) -> None:
    """/feed.xml is well-formed Atom with absolute ids and links; hostile titles stay text."""
    answer = site.client.get("/feed.xml")
    assert answer.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(answer.content)  # noqa: S314 - our own feed, parsed to check it
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}id") == "https://news.example.com/archive/"
    assert root.find(f"{ATOM}author/{ATOM}name") is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", root.findtext(f"{ATOM}updated") or "")
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        "https://news.example.com/archive/2025-09-12/",
        "https://news.example.com/archive/2025-09-05/",
    ]
    assert entries[1].findtext(f"{ATOM}title") == HOSTILE
    assert b"<script>" not in answer.content
    for entry in entries:
        for tag in ("id", "title", "updated", "summary"):
            assert entry.findtext(f"{ATOM}{tag}"), tag
        link = entry.find(f"{ATOM}link")
        assert link is not None and link.get("href", "").startswith("https://")


def test_static_archive_writes_the_same_pages(site: Site, tmp_path: Path) -> None:
    """`newsletter archive --out DIR` writes the pages and feed the server shows."""
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        yaml.safe_dump(
            {
                "publication": {"public_base_url": "https://news.example.com"},
                "paths": {
                    "digests": str(tmp_path / "no-digests-here"),
                    "templates": str(REPO / "templates"),
                },
                "database": {"url": f"sqlite:///{tmp_path / 'store.sqlite3'}"},
            }
        ),
        encoding="utf-8",
    )
    out = tmp_path / "public"
    result = CliRunner().invoke(
        cli,
        ["--config", str(config_file), "archive", "--out", str(out)],
        env={"NEWSLETTER_SECRET": SECRET},
    )
    assert result.exit_code == 0, result.output
    assert "(2 issues)" in result.output
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == [
        "archive/2025-09-05/index.html",
        "archive/2025-09-12/index.html",
        "archive/index.html",
        "feed.xml",
        "unsubscribe/index.html",
    ]
    served = site.client.get("/archive/2025-09-12/").text
    assert (out / "archive/2025-09-12/index.html").read_text(encoding="utf-8") == served
    assert (out / "feed.xml").read_bytes() == site.client.get("/feed.xml").content
    ET.parse(out / "feed.xml")  # noqa: S314 - our own feed, parsed to check it


def test_static_archive_needs_a_base_url(tmp_path: Path) -> None:
    """Without public_base_url or --base-url the command stops with a configuration error."""
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        yaml.safe_dump({"database": {"url": f"sqlite:///{tmp_path / 's.sqlite3'}"}}),
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["--config", str(config_file), "archive", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 4
    assert "--base-url" in result.output


def test_an_empty_feed_is_dated_by_the_stores_clock(tmp_path: Path, config: Config) -> None:
    """With nothing sent, the feed's `updated` is the store's clock's now (a FixedClock
    reaches it), not the machine's clock read behind the Clock's back."""
    clock = FixedClock(dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC))
    with Store.open(f"sqlite:///{tmp_path / 'empty.db'}", create=True, clock=clock) as store:
        feed = Archive(config, store).feed("https://news.example.com")
    root = ET.fromstring(feed)  # noqa: S314 - our own feed, parsed to check it
    assert root.findtext(f"{ATOM}updated") == "2031-05-06T07:08:09Z"
    assert root.findall(f"{ATOM}entry") == []
