"""Transactional notices: branded HTML and a plain-text twin through the issue's render
path, escaped, with no list headers, accepted by every transport's payload builder."""

from __future__ import annotations

import pytest

from newsletter.config import SendGridSettings
from newsletter.message import to_mime
from newsletter.notices import NoticeKind, build_notice
from newsletter.transports import SendOptions
from newsletter.transports.sendgrid import prepare_payload
from tests.delivery_support import delivery_config

URL = "https://newsletter.example.org/confirm/7.1800000000." + "A" * 43


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_a_notice_has_both_parts_the_link_and_no_list_headers(kind: NoticeKind) -> None:
    """HTML and text both carry the action URL and the publication's name; the MIME
    message has no List-Unsubscribe or List-Id (a notice is not list mail)."""
    config = delivery_config()
    message = build_notice(config, kind, to="ann@example.com", name=None, action_url=URL)
    mime = to_mime(message)
    assert mime["List-Unsubscribe"] is None and mime["List-Id"] is None
    html = mime.get_body(("html",))
    text = mime.get_body(("plain",))
    assert html is not None and text is not None
    assert URL in html.get_content() and URL in text.get_content()
    assert config.publication.name in text.get_content()
    long_lines = [line for line in text.get_content().splitlines() if len(line) > 78]
    assert long_lines == [URL]  # wrapped at 78 columns but for the link itself


def test_the_name_is_escaped_in_the_html() -> None:
    """A name with markup reaches the HTML escaped, never as markup."""
    message = build_notice(
        delivery_config(),
        NoticeKind.CONFIRM_ADDRESS,
        to="ann@example.com",
        name='<img src=x onerror="alert(1)">',
        action_url=URL,
    )
    assert "<img src=x" not in message.html
    assert "&lt;img src=x" in message.html


def test_the_sendgrid_payload_of_a_notice_has_no_list_headers_or_substitutions() -> None:
    """SendGrid gets the notice with no List-Id, List-Unsubscribe(-Post) or asm group."""
    message = build_notice(
        delivery_config(), NoticeKind.CONFIRM_SIGNUP, to="ann@example.com", name=None,
        action_url=URL,
    )  # fmt: skip
    settings = SendGridSettings(asm_group_id=7)
    payload = prepare_payload([message], settings, SendOptions()).payload
    assert payload is not None
    assert "headers" not in payload and "asm" not in payload
    [entry] = payload["personalizations"]
    assert "substitutions" not in entry
    assert "List-Unsubscribe" not in entry["headers"]
