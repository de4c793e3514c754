"""The public archive: sent issues only, no personal data, a valid and escaped Atom feed."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from newsletter.cli import cli
from newsletter.store.ledger import FINISHED
from tests.conftest import REPO
from tests.web.signing import Signer
from tests.web.support import SECRET, Site, make_site

ATOM = "{http://www.w3.org/2005/Atom}"
TOKEN = re.compile(r"/unsubscribe/[1-9][0-9]*\.[A-Za-z0-9_-]{43}")
HOSTILE = 'Fish & Chips <script>alert("x")</script> ]]> “quoted”'


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """Two sample digests sent, one more waiting in digests/ (not sent), one hostile title."""
    digests = tmp_path / "digests"
    digests.mkdir()
    for name in ("2025-09-05", "2025-09-12", "2026-02-06"):
        shutil.copy(REPO / "digests" / f"{name}.json", digests / f"{name}.json")
    hostile = json.loads((digests / "2025-09-05.json").read_text(encoding="utf-8"))
    hostile["title"] = HOSTILE
    (digests / "2025-09-05.json").write_text(json.dumps(hostile), encoding="utf-8")
    made = make_site(tmp_path, Signer.new())
    paths = made.config.paths.model_copy(update={"digests": digests})
    made.config = made.config.model_copy(update={"paths": paths})
    made.__post_init__()  # the app again, on the new digests folder
    made.subscribe(2)
    made.finish_send("2025-09-05")
    made.finish_send("2025-09-12")
    made.open_send("2026-02-06")  # still sending: not in the archive yet
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

    record = site.store.open_send(
        issue_id="2026-02-06",
        list_name="weekly",
        content_hash="c" * 64,
        message_hash="m" * 64,
        transport="sendgrid",
        send_at=datetime.now(UTC) + timedelta(hours=2),
        batch_id="b1",
    )
    site.store.finish_send(record.id, FINISHED, note=None)
    assert site.client.get("/archive/2026-02-06/").status_code == 404


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
                    "digests": str(site.config.digests_dir),
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
