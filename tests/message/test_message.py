"""The outgoing message: headers, parts, per-recipient values and the checks before sending."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace

import pytest

from newsletter.errors import MessageError
from newsletter.message import Recipient, build_issue_message, to_mime
from newsletter.message.mime import mime_bytes
from tests.delivery_support import (
    PUBLIC,
    delivery_config,
    personal_messages,
    sample_issue,
    sample_rendered,
)


def parsed(raw: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def test_mime_is_text_then_html_alternatives() -> None:
    """The message parses as multipart/alternative: text/plain first, then text/html."""
    message = parsed(mime_bytes(personal_messages(1)[0]))
    assert message.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert all(part.get_content_charset() == "utf-8" for part in message.iter_parts())


def test_headers_of_a_newsletter_message() -> None:
    """From, To with name, Reply-To, Subject, Message-ID, List-* headers are all set."""
    message = parsed(mime_bytes(personal_messages(1)[0]))
    assert message["From"] == "The Astana Times <digest@astanatimes.com>"
    (to,) = message["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Reader “1” Ünal", "reader1@example.com")
    assert message["Reply-To"] == "editors@astanatimes.com"
    assert message["Subject"].startswith("Foreign Media on Kazakhstan’s Role")
    assert message["Message-ID"] == "<2025-09-12.m000001@astanatimes.com>"
    assert message["List-Unsubscribe"] == f"<{PUBLIC}/unsubscribe/1.token1>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "The weekly foreign-media digest <weekly.astanatimes.com>"
    assert message["Date"]


def test_long_list_unsubscribe_is_not_mangled_by_folding() -> None:
    """A long URL stays one intact header value, never an encoded word."""
    issue = sample_issue(delivery_config(unsubscribe_mailto="unsubscribe@astanatimes.com"))
    url = f"{PUBLIC}/unsubscribe/123456789.{'A' * 43}"
    raw = mime_bytes(issue.personalise(Recipient("x@example.com", url, subscriber_id=1)))
    header_block = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert "=?utf-8?" not in header_block.split("List-Unsubscribe:")[1].split("\r\n")[0]
    value = parsed(raw)["List-Unsubscribe"]
    assert value == f"<{url}>, <mailto:unsubscribe@astanatimes.com?subject=unsubscribe>"


def test_each_recipient_gets_their_own_link_in_both_parts() -> None:
    """The footer link, the text part and the header all carry the recipient's own URL."""
    for message in personal_messages(3):
        mime = parsed(mime_bytes(message))
        text = mime.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = mime.get_body(("html",)).get_content()  # type: ignore[union-attr]
        url = message.recipient.unsubscribe_url
        assert f"Unsubscribe: {url}" in text
        assert f'href="{url}"' in html
        assert ".invalid/" not in text + html


def test_url_is_escaped_for_html() -> None:
    """A URL with & is HTML-escaped in the href and raw in the text part."""
    issue = sample_issue()
    url = f"{PUBLIC}/unsubscribe/1.t?a=1&b=2"
    message = issue.personalise(Recipient("x@example.com", url))
    assert 'href="https://news.example.com/unsubscribe/1.t?a=1&amp;b=2"' in message.html
    assert f"Unsubscribe: {url}" in message.text


def test_display_name_cannot_inject_headers() -> None:
    """A name with line breaks is folded to one line; no header is injected."""
    issue = sample_issue()
    evil = Recipient("x@example.com", f"{PUBLIC}/u/1", name="Eve\r\nBcc: victim@example.org")
    message = parsed(mime_bytes(issue.personalise(evil)))
    assert message["Bcc"] is None
    assert "victim@example.org" in message["To"]  # inside the quoted display name only
    assert message["To"].addresses[0].addr_spec == "x@example.com"


@pytest.mark.parametrize(
    "url",
    [
        "http://news.example.com/u/1",
        "javascript:alert(1)",
        "https://news.example.com/u/1>\r\nBcc: x@example.org",
        "/unsubscribe/1",
    ],
)
def test_bad_unsubscribe_urls_stop_the_message(url: str) -> None:
    """Only an absolute https URL (http for localhost) is accepted as unsubscribe link."""
    with pytest.raises(MessageError):
        sample_issue().personalise(Recipient("x@example.com", url))


def test_local_http_url_is_allowed_for_testing() -> None:
    """http://127.0.0.1 works, so the unsubscribe flow can be tested locally."""
    issue = sample_issue()
    message = issue.personalise(Recipient("x@example.com", "http://127.0.0.1:8000/unsubscribe/1"))
    assert "http://127.0.0.1:8000/unsubscribe/1" in message.text


def test_message_without_unsubscribe_link_never_leaves() -> None:
    """A rendered issue whose templates dropped the unsubscribe link is refused."""
    config = delivery_config()
    rendered = sample_rendered(config)
    marker = rendered.placeholders["unsubscribe_url"]
    broken = replace(rendered, html=rendered.html.replace(marker, "#"))
    with pytest.raises(MessageError, match="HTML part has no unsubscribe link"):
        build_issue_message(broken, config, "weekly")


def test_message_without_text_never_leaves() -> None:
    """An empty plain-text part is refused before sending."""
    config = delivery_config()
    rendered = sample_rendered(config)
    with pytest.raises(MessageError, match="plain-text part is empty"):
        build_issue_message(replace(rendered, text="  \n"), config, "weekly")


def test_unresolved_placeholder_never_leaves() -> None:
    """A second, unknown placeholder left in the body stops the issue before any send."""
    config = delivery_config()
    rendered = sample_rendered(config)
    stray = "https://view-url.invalid/0123456789abcdef01234567"
    with pytest.raises(MessageError, match="unresolved placeholder in the text part"):
        build_issue_message(replace(rendered, text=rendered.text + stray), config, "weekly")


def test_preview_marks_the_subject() -> None:
    """Previews are the production message with [PREVIEW] before the subject."""
    issue = sample_issue()
    assert issue.preview().subject == "[PREVIEW] " + issue.subject
    assert issue.preview().html == issue.html


def test_to_mime_round_trips_the_text() -> None:
    """The text part decodes back to exactly the personalised text (CRLF on the wire)."""
    message = personal_messages(1)[0]
    mime = to_mime(message)
    text = mime.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.replace("\r\n", "\n") == message.text


def test_line_lengths_follow_the_rfcs() -> None:
    """Body lines stay within 76 (quoted-printable), header lines within 998."""
    raw = mime_bytes(personal_messages(1)[0])
    head, body = raw.split(b"\r\n\r\n", 1)
    assert max(len(line) for line in head.split(b"\r\n")) <= 998
    assert max(len(line) for line in body.split(b"\r\n")) <= 76
