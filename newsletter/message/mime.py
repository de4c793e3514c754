"""A personal message as complete MIME: what SMTP and the outbox transmit.

multipart/alternative with text/plain first, then text/html (clients show the
last part they understand). The header block is written from the headers
built (and checked) by `newsletter.message.headers`, folded at 78 columns with
encoded words of at most 75 characters, List-Unsubscribe unfolded; the
standard library encodes only the parts, in quoted-printable, whose lines stay
within RFC 2045's 76 characters.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from email.utils import formatdate

from newsletter.errors import MessageError
from newsletter.message.build import PersonalMessage
from newsletter.message.headers import Header, address_header, token_header

BODY_POLICY = email.policy.SMTP.clone(max_line_length=76)
PARSE_POLICY = email.policy.default


def message_headers(message: PersonalMessage, *, date: str | None = None) -> list[Header]:
    """Every header of the message, in order; MessageError if one cannot be built."""
    issue, recipient = message.issue, message.recipient
    shared = issue.shared_headers
    return [
        shared[0],  # From
        address_header("To", recipient.name, recipient.email),
        *shared[1:],  # Reply-To, Subject
        token_header("Date", date or formatdate(usegmt=True)),
        token_header("Message-ID", message.message_id),
        *issue.personal_headers(recipient),
    ]


def _body(message: PersonalMessage) -> bytes:
    """The two parts as a multipart/alternative entity, with its MIME headers."""
    body = EmailMessage(policy=BODY_POLICY)
    body.set_content(message.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    body.add_alternative(message.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return body.as_bytes(policy=BODY_POLICY)


def mime_bytes(message: PersonalMessage, *, date: str | None = None) -> bytes:
    """The message serialised exactly as it goes on the wire.

    MessageError (for this reader only) when a header cannot be built, e.g. an
    address with a non-ASCII local part."""
    head = b"".join(h.folded.encode("ascii") + b"\r\n" for h in message_headers(message, date=date))
    try:
        body = _body(message)
    except (ValueError, LookupError) as err:  # the email package on text it cannot encode
        raise MessageError(f"the message body cannot be encoded: {err}") from err
    return head + body


def to_mime(message: PersonalMessage, *, date: str | None = None) -> EmailMessage:
    """The full MIME message, parsed back from the bytes that would be sent."""
    parsed = email.message_from_bytes(mime_bytes(message, date=date), policy=PARSE_POLICY)
    assert isinstance(parsed, EmailMessage)  # noqa: S101 - guaranteed by the policy
    return parsed
