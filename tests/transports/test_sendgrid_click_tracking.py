"""SendGrid click tracking (config `tracking.click`): off by default and said so in every
request; when on, only the digest's item links may be rewritten, never the unsubscribe,
view-in-browser or publication links, and never the plain-text part."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from newsletter.config import Config, Links, Tracking, Utm
from newsletter.digest import load_digest
from newsletter.message import IssueMessage, build_issue_message
from newsletter.render import render_issue, untracked_anchors
from newsletter.transports import SendOptions
from newsletter.transports.sendgrid import build_payload
from tests.conftest import REPO
from tests.delivery_support import delivery_config, personal_messages, sample_issue
from tests.fakes.sendgrid_server import FakeSendGrid, mail_send_validator
from tests.transports.harness import sendgrid_server

ANCHOR = re.compile(r"<a\b[^>]*>", re.IGNORECASE)
HREF = re.compile(r'href="([^"]*)"')


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSendGrid]:
    with sendgrid_server(monkeypatch) as fake:
        yield fake


def tracking_config(click: bool) -> Config:
    config = delivery_config()
    links = Links(utm=Utm(source="digest"))
    return config.model_copy(update={"tracking": Tracking(click=click), "links": links})


def issue_with_links(config: Config) -> IssueMessage:
    """The golden digest whose items have links, rendered for `config`."""
    digest = load_digest(REPO / "tests" / "golden" / "digests" / "with-urls.json")
    return build_issue_message(render_issue(digest, config), config, "weekly")


def html_of(payload: dict[str, object]) -> str:
    content = payload["content"]
    assert isinstance(content, list)
    return next(part["value"] for part in content if part["type"] == "text/html")


def test_click_tracking_is_off_by_default_and_said_so() -> None:
    """Default config: the request turns click tracking off (whatever the account says)
    and no anchor is touched."""
    config = delivery_config()
    issue = sample_issue(config)
    payload = build_payload(personal_messages(1, issue), config.delivery.sendgrid, SendOptions())
    assert payload["tracking_settings"] == {
        "click_tracking": {"enable": False, "enable_text": False}
    }
    assert "clicktracking" not in html_of(payload)


def test_only_item_links_are_tracked_when_on(server: FakeSendGrid) -> None:
    """tracking.click on: item links (with their UTM parameters) stay trackable; every other
    anchor, the unsubscribe link first, says clicktracking="off"; the text part is never
    rewritten; SendGrid's schema accepts the body."""
    config = tracking_config(click=True)
    issue = issue_with_links(config)
    payload = build_payload(personal_messages(2, issue), config.delivery.sendgrid, SendOptions())
    assert payload["tracking_settings"] == {
        "click_tracking": {"enable": True, "enable_text": False}
    }
    anchors = ANCHOR.findall(html_of(payload))
    tracked = [a for a in anchors if "clicktracking" not in a]
    untracked = [a for a in anchors if 'clicktracking="off"' in a]
    assert len(tracked) + len(untracked) == len(anchors)
    assert tracked and all("utm_source=digest" in a for a in tracked)
    assert {HREF.search(a).group(1).replace("&amp;", "&") for a in tracked} <= set(  # type: ignore[union-attr]
        issue.tracked_links
    )
    untracked_hrefs = {HREF.search(a).group(1) for a in untracked}  # type: ignore[union-attr]
    assert not untracked_hrefs & set(issue.tracked_links)
    # The unsubscribe link is a substitution key, replaced per reader by SendGrid.
    keys = set(payload["personalizations"][0]["substitutions"])  # type: ignore[index]
    assert keys & untracked_hrefs
    assert "https://news.example.com/archive/2025-09-12/" in untracked_hrefs  # view in browser
    text = next(part["value"] for part in payload["content"] if part["type"] == "text/plain")  # type: ignore[union-attr]
    assert "clicktracking" not in text
    assert list(mail_send_validator().iter_errors(payload)) == []


def test_untracked_anchors_leaves_marked_and_item_anchors_alone() -> None:
    """Anchors already saying clicktracking, and anchors to an item link (compared after
    unescaping &amp;), are left as written; any other gets clicktracking="off"."""
    markup = (
        '<a href="https://a.example/x?a=1&amp;b=2">item</a>'
        "<A HREF='https://ours.example/unsubscribe/t'>unsubscribe</A>"
        '<a clicktracking="on" href="https://b.example">kept</a>'
        "<a name=top>no link</a>"
    )
    out = untracked_anchors(markup, {"https://a.example/x?a=1&b=2"})
    assert out == (
        '<a href="https://a.example/x?a=1&amp;b=2">item</a>'
        "<A clicktracking=\"off\" HREF='https://ours.example/unsubscribe/t'>unsubscribe</A>"
        '<a clicktracking="on" href="https://b.example">kept</a>'
        '<a clicktracking="off" name=top>no link</a>'
    )
