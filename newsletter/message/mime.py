"""A personal message as complete MIME: what SMTP and the outbox transmit.

multipart/alternative with text/plain first, then text/html (clients show the
last part they understand). Serialised with max_line_length=998 because the
default SMTP policy folds a long List-Unsubscribe URL into an encoded word
that mail providers cannot read.
"""

from __future__ import annotations

import email.policy
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from newsletter.message.build import PersonalMessage

# Headers are serialised with lines up to 998 (RFC 5322) so List-Unsubscribe stays
# intact; bodies are encoded under the standard policy, whose quoted-printable
# lines stay within RFC 2045's 76 characters.
POLICY = email.policy.SMTP.clone(max_line_length=998)
BODY_POLICY = email.policy.SMTP.clone(max_line_length=76)
_WHITESPACE = re.compile(r"\s+")


def _address(name: str | None, addr: str) -> Address:
    # A display name is untrusted text: line breaks would inject headers.
    return Address(display_name=_WHITESPACE.sub(" ", name or "").strip(), addr_spec=addr)


def to_mime(message: PersonalMessage, *, date: str | None = None) -> EmailMessage:
    """The full MIME message, headers and both parts."""
    issue, recipient = message.issue, message.recipient
    mime = EmailMessage(policy=BODY_POLICY)
    mime["From"] = _address(issue.from_name, issue.from_email)
    mime["To"] = _address(recipient.name, recipient.email)
    if issue.reply_to:
        mime["Reply-To"] = issue.reply_to
    mime["Subject"] = message.subject
    mime["Date"] = date or formatdate(usegmt=True)
    mime["Message-ID"] = message.message_id
    for name, value in message.headers.items():
        mime[name] = value
    mime.set_content(message.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    mime.add_alternative(message.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return mime


def mime_bytes(message: PersonalMessage, *, date: str | None = None) -> bytes:
    """The message serialised exactly as it goes on the wire."""
    return to_mime(message, date=date).as_bytes(policy=POLICY)
