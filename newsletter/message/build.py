"""From a rendered issue to the message each recipient gets.

The issue is rendered once; what differs per recipient (the To address, the
unsubscribe URL, the preference page's URL, the Message-ID) is filled in here
without re-rendering, each value escaped for the context it lands in: HTML
attribute, plain text, header.
Every check that could stop a message runs before anything is sent: no text
part, no unsubscribe link, or an unresolved placeholder is an error.
"""

from __future__ import annotations

import html
import itertools
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import overload
from urllib.parse import quote, urlsplit

from newsletter.config import Config
from newsletter.errors import MessageError
from newsletter.message.headers import (
    Header,
    list_id_header,
    sender_headers,
    token_header,
    wire_address,
)
from newsletter.render import RenderedIssue, issue_id, shown_item_links

PREVIEW_PREFIX = "[PREVIEW] "
# Any placeholder render_issue can produce (see newsletter.render.issue.placeholder).
_PLACEHOLDER = re.compile(r"https://[a-z-]+\.invalid/[0-9a-f]{24}")
_HEADER_UNSAFE = re.compile(r"[\x00-\x1f\x7f<>\s]")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _unique_ids() -> Callable[[], str]:
    """Message-ID local parts: a random prefix per run plus a counter. Unique without a
    uuid per message, which a million-recipient send would feel."""
    prefix = secrets.token_hex(8)
    counter = itertools.count(1)
    return lambda: f"{prefix}{next(counter):x}"


@dataclass(frozen=True, init=False)
class Recipient:
    """Who a message goes to, their own unsubscribe URL and their preference page's URL
    (empty: the footer's preferences link falls back to the unsubscribe URL)."""

    email: str
    unsubscribe_url: str
    name: str | None = None
    subscriber_id: int | None = None
    preferences_url: str = ""

    @property
    def preferences_link(self) -> str:
        return self.preferences_url or self.unsubscribe_url

    def __init__(
        self,
        email: str,
        unsubscribe_url: str,
        name: str | None = None,
        subscriber_id: int | None = None,
        preferences_url: str = "",
    ) -> None:
        # A frozen dataclass's own __init__ sets each field through object.__setattr__,
        # four times the cost of this; a large send makes a million (frozen all the same).
        fields = self.__dict__
        fields["email"] = email
        fields["unsubscribe_url"] = unsubscribe_url
        fields["name"] = name
        fields["subscriber_id"] = subscriber_id
        fields["preferences_url"] = preferences_url


@dataclass(frozen=True, init=False)
class PersonalMessage:
    """One recipient's message. The bodies are filled in only when a transport asks
    (SendGrid never does: it sends the shared body once with substitutions)."""

    issue: IssueMessage
    recipient: Recipient
    message_id: str

    def __init__(self, issue: IssueMessage, recipient: Recipient, message_id: str) -> None:
        fields = self.__dict__  # as Recipient's: a million per large send
        fields["issue"] = issue
        fields["recipient"] = recipient
        fields["message_id"] = message_id

    @property
    def subject(self) -> str:
        return self.issue.subject

    @cached_property
    def headers(self) -> dict[str, str]:
        """List-Unsubscribe, List-Unsubscribe-Post and List-Id for this recipient, one
        line each (SendGrid folds them itself; `mime` uses the folded forms)."""
        return {h.name: h.value for h in self.issue.personal_headers(self.recipient)}

    @property
    def envelope_sender(self) -> str:
        """MAIL FROM: the sender's address in ASCII (IDNA domain); MessageError if unsendable."""
        return wire_address(self.issue.from_email)

    @property
    def envelope_recipient(self) -> str:
        """RCPT TO: the recipient's address in ASCII (IDNA domain); MessageError (this
        reader only) for a non-ASCII local part."""
        return wire_address(self.recipient.email)

    @cached_property
    def html(self) -> str:
        url = html.escape(self.recipient.unsubscribe_url, quote=True)
        body = self.issue.html.replace(self.issue.unsubscribe_placeholder, url)
        if self.issue.preferences_placeholder:
            preferences = html.escape(self.recipient.preferences_link, quote=True)
            body = body.replace(self.issue.preferences_placeholder, preferences)
        return body

    @cached_property
    def text(self) -> str:
        body = self.issue.text.replace(
            self.issue.unsubscribe_placeholder, self.recipient.unsubscribe_url
        )
        if self.issue.preferences_placeholder:
            body = body.replace(self.issue.preferences_placeholder, self.recipient.preferences_link)
        return body


class PersonalBatch(Sequence[PersonalMessage]):
    """One batch's messages of one issue, kept as columns (addresses, names, ids, links,
    Message-IDs): the same messages as a list of PersonalMessage, but each message object
    is made only when asked for (`batch[i]`). A transport that can read the columns (the
    SendGrid request body) makes none for a batch that goes out whole; a million-reader
    send would otherwise make two million objects only to read them back."""

    def __init__(
        self,
        issue: IssueMessage,
        emails: Sequence[str],
        names: Sequence[str | None],
        subscriber_ids: Sequence[int | None],
        unsubscribe_urls: Sequence[str],
        preferences_urls: Sequence[str],
        message_ids: Sequence[str],
    ) -> None:
        columns = (names, subscriber_ids, unsubscribe_urls, preferences_urls, message_ids)
        if any(len(column) != len(emails) for column in columns):
            raise ValueError("a batch's columns must all be as long as its addresses")
        self.issue = issue
        self.emails = emails
        self.names = names
        self.subscriber_ids = subscriber_ids
        self.unsubscribe_urls = unsubscribe_urls
        self.preferences_urls = preferences_urls
        self.message_ids = message_ids
        self._made: dict[int, PersonalMessage] = {}

    def __len__(self) -> int:
        return len(self.emails)

    @overload
    def __getitem__(self, index: int) -> PersonalMessage: ...

    @overload
    def __getitem__(self, index: slice) -> list[PersonalMessage]: ...

    def __getitem__(self, index: int | slice) -> PersonalMessage | list[PersonalMessage]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("batch index out of range")
        made = self._made.get(index)
        if made is None:
            recipient = Recipient(
                self.emails[index],
                self.unsubscribe_urls[index],
                self.names[index],
                self.subscriber_ids[index],
                self.preferences_urls[index],
            )
            made = self._made[index] = PersonalMessage(
                self.issue, recipient, self.message_ids[index]
            )
        return made

    def __iter__(self) -> Iterator[PersonalMessage]:
        return (self[i] for i in range(len(self)))


@dataclass(frozen=True)
class IssueMessage:
    """An issue ready to be addressed: shared content plus the per-recipient recipe."""

    issue_id: str
    list_name: str
    subject: str
    from_name: str
    from_email: str
    reply_to: str | None
    html: str
    text: str
    unsubscribe_placeholder: str
    list_id: str  # the RFC 2919 list identifier, e.g. weekly.astanatimes.com
    list_label: str  # the List-Id phrase: the list's description, or its name
    unsubscribe_mailto: str | None
    categories: tuple[str, ...]
    message_id_domain: str
    content_hash: str
    message_hash: str
    # The digest as sent (Digest.canonical_json): the store keeps it for the archive.
    digest_json: str = field(repr=False)
    # config `tracking.click`: SendGrid may track clicks, on `tracked_links` only (the
    # item links as shown); every other anchor is marked clicktracking="off".
    click_tracking: bool = False
    tracked_links: tuple[str, ...] = ()
    new_message_id: Callable[[], str] = field(default_factory=lambda: _unique_ids(), compare=False)
    # A transactional notice (newsletter.notices: a sign-up's confirmation), not an issue
    # of a list: it goes to one address that asked for it, so it carries no List-Id and
    # no List-Unsubscribe (RFC 2369/8058 are for list mail), and needs no unsubscribe URL.
    transactional: bool = False
    # Where each reader's preference page link goes ("" in a message without one).
    preferences_placeholder: str = ""

    def preview(self) -> IssueMessage:
        """The same message for an editor's test: subject marked [PREVIEW]."""
        return replace(self, subject=PREVIEW_PREFIX + self.subject)

    def list_unsubscribe(self, recipient: Recipient) -> str:
        """The List-Unsubscribe header value: the https URL, plus mailto when configured."""
        return list_unsubscribe_value(recipient.unsubscribe_url, self.unsubscribe_mailto)

    @property
    def shared_headers(self) -> tuple[Header, ...]:
        """From, Reply-To and Subject: built and checked once per issue (MessageError)."""
        return sender_headers(self.from_name, self.from_email, self.reply_to, self.subject)

    @property
    def list_id_header(self) -> Header:
        return _list_id_header(self.list_label, self.list_id)

    def check_headers(self) -> None:
        """Build the shared headers now, so a bad one stops the issue before any send."""
        _ = (self.shared_headers, self.list_id_header)

    def check_placeholders(self) -> None:
        """Only the unsubscribe and preferences placeholders may be left for
        personalisation."""
        for part, body in (("HTML", self.html), ("text", self.text)):
            body = body.replace(self.unsubscribe_placeholder, "")
            if self.preferences_placeholder:
                body = body.replace(self.preferences_placeholder, "")
            if _PLACEHOLDER.search(body):
                raise MessageError(f"{self.issue_id}: unresolved placeholder in the {part} part")

    def personalise(self, recipient: Recipient) -> PersonalMessage:
        """One recipient's message; MessageError if their unsubscribe URL is unusable."""
        if not self.transactional:
            check_unsubscribe_url(recipient.unsubscribe_url)
        return PersonalMessage(
            issue=self,
            recipient=recipient,
            message_id=f"<{self.issue_id}.{self.new_message_id()}@{self.message_id_domain}>",
        )

    def personalise_many(self, recipients: Sequence[Recipient]) -> PersonalBatch:
        """`personalise` for each of `recipients`, in order, as one PersonalBatch."""
        return self.personalise_batch(
            [r.email for r in recipients],
            [r.name for r in recipients],
            [r.subscriber_id for r in recipients],
            [r.unsubscribe_url for r in recipients],
            [r.preferences_url for r in recipients],
        )

    def personalise_batch(
        self,
        emails: Sequence[str],
        names: Sequence[str | None],
        subscriber_ids: Sequence[int | None],
        unsubscribe_urls: Sequence[str],
        preferences_urls: Sequence[str],
    ) -> PersonalBatch:
        """A batch's messages from its readers' columns (equal lengths, in order): what
        `personalise` gives each (Message-IDs apart, which are new each time), with the
        unsubscribe URLs checked together. MessageError, naming no one, if any URL is
        unusable: the caller then personalises one by one to find whose."""
        if not self.transactional:
            joined = "".join(unsubscribe_urls)
            if not joined.isascii() or _HEADER_UNSAFE.search(joined):
                raise MessageError("an unsubscribe URL of the batch is unusable")
            for base in {url.rsplit("/", 1)[0] for url in unsubscribe_urls}:
                if not _acceptable_base(base):
                    raise MessageError("an unsubscribe URL of the batch is unusable")
        new_id, issue_id, domain = self.new_message_id, self.issue_id, self.message_id_domain
        message_ids = [f"<{issue_id}.{new_id()}@{domain}>" for _ in emails]
        return PersonalBatch(
            self, emails, names, subscriber_ids, unsubscribe_urls, preferences_urls, message_ids
        )

    def personal_headers(self, recipient: Recipient) -> tuple[Header, ...]:
        """Headers that differ per recipient or that every transport must set."""
        if self.transactional:
            return ()
        return (
            token_header("List-Unsubscribe", self.list_unsubscribe(recipient)),
            token_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            self.list_id_header,
        )


# RFC 6068 §2: characters of an addr-spec that may stand unencoded in a mailto URL
# (unreserved and "some-delims" but "@"); "?", "#", "%", "&", "=", "/" and the rest
# would start the query or fragment, or be misread, so they are percent-encoded.
_MAILTO_SAFE = "!$'()*+,;:-._~"


@lru_cache(maxsize=16)
def mailto_url(address: str) -> str:
    """``mailto:`` + `address` in ASCII form, its local part percent-encoded (RFC 6068 §2):
    ``unsub#x@example.com`` → ``mailto:unsub%23x@example.com``. MessageError if unsendable."""
    local, _, domain = wire_address(address).rpartition("@")
    return f"mailto:{quote(local, safe=_MAILTO_SAFE)}@{domain}"


def list_unsubscribe_value(url: str, mailto: str | None) -> str:
    """List-Unsubscribe (RFC 2369, RFC 8058): ``<url>``, then ``<mailto:…>`` if configured."""
    if mailto:
        return f"<{url}>, <{mailto_url(mailto)}?subject=unsubscribe>"
    return f"<{url}>"


def check_unsubscribe_url(url: str) -> None:
    """An unsubscribe URL must be https (http only for a local test server) and header-safe:
    printable ASCII (a URI, RFC 3986), as it goes into List-Unsubscribe unencoded."""
    base = url.rsplit("/", 1)[0]  # errors name the base: the token is a credential
    if not url.isascii():
        raise MessageError(
            f"unsubscribe URL has non-ASCII characters: {base!r}; write the host in its "
            "punycode form (xn--…) and percent-encode the path"
        )
    if _HEADER_UNSAFE.search(url):
        raise MessageError(f"unsubscribe URL contains characters unsafe in headers: {base!r}")
    # Every recipient's URL shares the base: parse it once, not a million times.
    if not _acceptable_base(base):
        raise MessageError(f"unsubscribe URL must be an absolute https URL, got {base!r}")


@lru_cache(maxsize=64)
def _acceptable_base(base: str) -> bool:
    parts = urlsplit(base)
    local = parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS
    return bool(parts.hostname) and (parts.scheme == "https" or local)


def _check_rendered(issue: RenderedIssue) -> None:
    marker = issue.placeholders["unsubscribe_url"]
    if not issue.text.strip():
        raise MessageError(f"{issue_id(issue.digest)}: the plain-text part is empty")
    for part, body in (("HTML", issue.html), ("text", issue.text)):
        if marker not in body:
            raise MessageError(
                f"{issue_id(issue.digest)}: the {part} part has no unsubscribe link",
                hint="templates must link to placeholders.unsubscribe_url",
            )


@lru_cache(maxsize=64)
def _list_id_header(label: str, list_id: str) -> Header:
    return list_id_header(label, list_id)


def sender_domain(config: Config) -> str:
    """The sender's domain in ASCII (IDNA); MessageError if the sender is unsendable."""
    return _sender_domain(config)


def _sender_domain(config: Config) -> str:
    """The sender's domain in ASCII: Message-IDs and List-Ids are made under it."""
    return wire_address(config.sender.email).rsplit("@", 1)[1]


def _list_label(config: Config, list_name: str) -> str:
    description = config.lists[list_name].description if list_name in config.lists else ""
    return description or list_name


def build_issue_message(issue: RenderedIssue, config: Config, list_name: str) -> IssueMessage:
    """Check a rendered issue and prepare it for personalisation; nothing is sent yet."""
    _check_rendered(issue)
    delivery = config.delivery
    message = IssueMessage(
        issue_id=issue_id(issue.digest),
        list_name=list_name,
        subject=issue.subject,
        from_name=config.sender.name,
        from_email=config.sender.email,
        reply_to=config.sender.reply_to,
        html=issue.html,
        text=issue.text,
        unsubscribe_placeholder=issue.placeholders["unsubscribe_url"],
        list_id=f"{list_name}.{_sender_domain(config)}",
        list_label=_list_label(config, list_name),
        unsubscribe_mailto=delivery.unsubscribe_mailto,
        categories=tuple(delivery.categories),
        message_id_domain=_sender_domain(config),
        content_hash=issue.digest.content_hash(),
        message_hash=issue.message_hash(),
        digest_json=issue.digest.canonical_json(),
        preferences_placeholder=issue.placeholders.get("preferences_url", ""),
        click_tracking=config.tracking.click,
        tracked_links=shown_item_links(issue.digest, config.links.utm),
    )
    message.check_placeholders()
    message.check_headers()
    return message
