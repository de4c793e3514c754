"""Every address the store accepts, and every name, can be carried by every transport.

MIME (outbox, SMTP) and SendGrid's payload are built from the same headers
module; these tests check both against the address normaliser the store uses
and against the SendGrid-compatible server's rules (ASCII addresses, names
with `,` or `;` quoted, content lines of at most 998 octets).
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from newsletter.addresses import InvalidAddressError, ascii_email, deliverable_email
from newsletter.config import SendGridSettings
from newsletter.errors import MessageError
from newsletter.message import Recipient
from newsletter.message.mime import mime_bytes
from newsletter.transports import Outcome, SendOptions, open_transport
from newsletter.transports.sendgrid import (
    SendGridTransport,
    build_payload,
    prepare_payload,
    sendgrid_name,
)
from tests.delivery_support import PUBLIC, delivery_config, sample_issue
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.transports.harness import sendgrid_server

ISSUE = sample_issue()
# Every atext character (RFC 5322 §3.2.3) with dots and a non-ASCII letter; "=?" among them.
LOCAL = "abcXYZ019._%+-'!#$&*/=?^`{|}~é"
DOMAIN = "abcxyz019.-ü"


@pytest.fixture(scope="module")
def validator() -> FakeSendGrid:
    """A server used only for its validation rules (never started)."""
    return FakeSendGrid()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSendGrid]:
    with sendgrid_server(monkeypatch) as fake:
        yield fake
        assert fake.server_errors == []


def transport() -> SendGridTransport:
    settings_ = {"timeout_seconds": 2.0, "max_attempts": 2}
    made = open_transport(delivery_config(retry_base_seconds=0.01, sendgrid=settings_), "sendgrid")
    assert isinstance(made, SendGridTransport)
    return made


def recipient(address: str, name: str | None = None, n: int = 1) -> Recipient:
    return Recipient(address, f"{PUBLIC}/unsubscribe/{n}.t{n}", name=name, subscriber_id=n)


def payload_for(*recipients: Recipient) -> dict[str, Any]:
    messages = [ISSUE.personalise(r) for r in recipients]
    return build_payload(messages, SendGridSettings(), SendOptions())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.text(LOCAL, min_size=1, max_size=20),
    st.text(DOMAIN, min_size=1, max_size=20),
    st.sampled_from(["com", "kz", "photography"]),
    st.text(max_size=60),
)
def test_any_stored_address_builds_a_valid_message_on_every_transport(
    validator: FakeSendGrid, local: str, domain: str, tld: str, name: str
) -> None:
    """Whatever the store's normaliser accepts as a new subscriber: the MIME message (outbox,
    SMTP) parses back to its ASCII form, and the SendGrid payload passes the server's rules."""
    try:
        stored = deliverable_email(f"{local}@{domain}.{tld}")
    except InvalidAddressError:
        assume(False)
        return
    wire = ascii_email(stored)
    assert wire.isascii()
    raw = mime_bytes(ISSUE.personalise(recipient(stored, name)))
    message = email.message_from_bytes(raw, policy=email.policy.default)
    (to,) = message["To"].addresses  # type: ignore[attr-defined]
    assert to.addr_spec == wire
    payload = payload_for(recipient(stored, name))
    assert validator.validation_errors(payload) == []
    assert validator.would_drop(payload) == []
    assert payload["personalizations"][0]["to"][0]["email"] == wire


@pytest.mark.parametrize(
    "address", ["=?utf-8?q?x?=@example.com", "=?us-ascii?Q?evil=40other.example?=@example.com"]
)
def test_a_local_part_that_is_an_encoded_word_is_refused_and_never_sent(address: str) -> None:
    """A local part holding '=?' is valid syntax, but Python's parser (and mail programs)
    decode =?utf-8?q?x?=@example.com to x@example.com: it is refused as a new subscriber,
    and one stored before that rule fails alone, with the reason, on every transport."""
    with pytest.raises(InvalidAddressError, match="RFC 2047 encoded word"):
        deliverable_email(address)
    message = ISSUE.personalise(recipient(address))
    with pytest.raises(MessageError, match="RFC 2047 encoded word"):
        mime_bytes(message)
    prepared = prepare_payload([message], SendGridSettings(), SendOptions())
    assert prepared.payload is None
    assert "RFC 2047 encoded word" in (prepared.failed[0].error or "")


def test_idn_domains_are_sent_as_punycode(server: FakeSendGrid) -> None:
    """user@bücher.example reaches SendGrid as user@xn--bcher-kva.example and is accepted."""
    results = transport().send([ISSUE.personalise(recipient("user@bücher.example"))], SendOptions())
    assert [r.outcome for r in results] == [Outcome.ACCEPTED]
    assert server.accepted_recipients() == ["user@xn--bcher-kva.example"]


def test_a_bad_recipient_fails_alone_and_the_batch_is_sent(server: FakeSendGrid) -> None:
    """In one batch, the reader whose address cannot be sent is FAILED with the reason;
    the others are accepted in the same request, results in the batch's order."""
    batch = [
        ISSUE.personalise(recipient("a@example.com", n=1)),
        ISSUE.personalise(recipient("ñoño@example.com", n=2)),
        ISSUE.personalise(recipient("b@example.com", n=3)),
    ]
    results = transport().send(batch, SendOptions())
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.FAILED, Outcome.ACCEPTED]
    assert [r.recipient.email for r in results] == [m.recipient.email for m in batch]
    assert "SMTPUTF8" in (results[1].error or "")
    assert server.accepted_recipients() == ["a@example.com", "b@example.com"]


def test_names_with_commas_are_quoted_and_not_dropped(server: FakeSendGrid) -> None:
    """'Smith, John' goes to SendGrid as a quoted string, so SendGrid keeps the recipient."""
    batch = [
        ISSUE.personalise(recipient("john@example.com", "Smith, John", n=1)),
        ISSUE.personalise(recipient("ann@example.com", 'Ann "A; B" Lee', n=2)),
    ]
    results = transport().send(batch, SendOptions())
    assert {r.outcome for r in results} == {Outcome.ACCEPTED}
    assert server.dropped_recipients() == []
    assert server.accepted_recipients() == ["john@example.com", "ann@example.com"]
    body = server.accepted[0].body
    assert body is not None
    names = [p["to"][0]["name"] for p in body["personalizations"]]
    assert names == ['"Smith, John"', '"Ann \\"A; B\\" Lee"']


def test_the_server_drops_unquoted_commas_like_sendgrid(validator: FakeSendGrid) -> None:
    """The test server reports what SendGrid does with a bare comma: the recipient dropped."""
    body = payload_for(recipient("john@example.com"))
    body["personalizations"][0]["to"][0]["name"] = "Smith, John"
    assert validator.would_drop(body) == ["john@example.com"]


@pytest.mark.parametrize(
    ("name", "sent"),
    [
        ("Smith, John", '"Smith, John"'),
        ("A;B", '"A;B"'),
        ("Plain Name", "Plain Name"),
        (
            "=?utf-8?q?Support_<help@other.example>,?=",
            '"= ?utf-8?q?Support_<help@other.example>,?="',
        ),
        ("Eve\r\nBcc: x@example.org", "Eve Bcc: x@example.org"),
        ("", None),
    ],
)
def test_sendgrid_names_follow_sendgrids_rules(name: str, sent: str | None) -> None:
    """One line, no encoded word, and a name with , or ; quoted (SendGrid's workaround)."""
    assert sendgrid_name(name) == sent


def test_content_lines_stay_within_998_octets(validator: FakeSendGrid) -> None:
    """The HTML and text handed to SendGrid have no line over 998 octets."""
    body = payload_for(recipient("a@example.com"))
    for part in body["content"]:
        assert max(len(line.encode()) for line in part["value"].split("\n")) <= 998
    assert validator.validation_errors(body) == []


def test_the_server_refuses_long_content_lines(validator: FakeSendGrid) -> None:
    """A 2,000-character line is refused with 400, as the tests must catch it."""
    body = payload_for(recipient("a@example.com"))
    body["content"][1]["value"] = "<p>" + "x" * 2000 + "</p>"
    errors = validator.validation_errors(body)
    assert [e.field for e in errors] == ["content.1.value"]


def test_the_server_refuses_unicode_addresses(validator: FakeSendGrid) -> None:
    """A Unicode domain or local part in the payload is not a valid address for SendGrid."""
    body = payload_for(recipient("a@example.com"))
    body["personalizations"][0]["to"][0]["email"] = "user@bücher.example"
    errors = validator.validation_errors(body)
    assert [e.field for e in errors] == ["personalizations.0.to.0.email"]
