"""SendGrid v3 Mail Send through the official sendgrid-python client.

The only module that imports `sendgrid` and `python_http_client`. One request
carries up to 1000 personal messages, one recipient per personalization; the
per-recipient unsubscribe URL travels as a substitution, so the HTML and text
are sent once per request, not once per recipient.

Every failure is classified here, at one boundary (`classify`), keeping
SendGrid's own error words in the error's `detail`:
400 and other 4xx → permanent; 401/403 → stop everything; 413 → split the
batch; 429 → wait as told, retry; 5xx and failures before the request left
(refused, DNS, TLS) → retry with back-off; an answer that never came after the
request left (read timeout, connection cut) → ambiguous, never retried.
"""

from __future__ import annotations

import email.utils
import html
import http.client
import json
import logging
import os
import re
import threading
import time
import urllib.error
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import python_http_client.exceptions as http_errors
from sendgrid import SendGridAPIClient

from newsletter.addresses import WIRE_SHAPE
from newsletter.config import SendGridSettings
from newsletter.errors import (
    AmbiguousDeliveryError,
    AuthenticationError,
    DeliveryError,
    MessageError,
    PayloadTooLargeError,
    PermanentDeliveryError,
    RateLimitedError,
    TransientDeliveryError,
)
from newsletter.message import IssueMessage, PersonalBatch, PersonalMessage, Recipient
from newsletter.message.build import list_unsubscribe_value
from newsletter.message.headers import (
    MAX_HARD_LINE,
    display_name,
    one_line,
    token_value,
    wire_address,
)
from newsletter.names import MAX_NAME
from newsletter.render import untracked_anchors
from newsletter.render.lines import MAX_CONTENT_LINE, longest_line
from newsletter.secrets import Secret, read_secret
from newsletter.transports.base import (
    OUTCOME_ERRORS,
    Outcome,
    Result,
    SendOptions,
    all_results,
    check_options,
    outcome_of,
)
from newsletter.transports.pacing import Pacer
from newsletter.transports.retry import with_retries

T = TypeVar("T")
API_KEY_ENV = "SENDGRID_API_KEY"
API_HOST_ENV = "SENDGRID_API_HOST"
ASM_UNSUBSCRIBE_TAG = "<%asm_group_unsubscribe_raw_url%>"
MAX_PERSONALIZATIONS = 1000
JSON_UTF8 = "application/json; charset=utf-8"

# python_http_client logs request headers (the API key among them) at DEBUG.
logging.getLogger("python_http_client").setLevel(logging.WARNING)


class _QuietBytes(bytes):
    """A request body's bytes that format as their length only. python-http-client
    formats every request's whole body into a DEBUG message (`'PAYLOAD: {data}'`)
    before it asks whether DEBUG is on: for a thousand-reader Mail Send body that
    repr took about a millisecond per request, a second per million readers, on the
    sending threads, holding the GIL. urllib sends these bytes like any other."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        return f"<{len(self)} bytes>"


class _Body(str):
    """JSON text given to python-http-client as `request_body`: it calls
    `request_body.encode('utf-8')` (our Content-Type is not bare application/json)
    and hands the result to urllib; this text encodes into `_QuietBytes`."""

    __slots__ = ()

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return _QuietBytes(str.encode(self, encoding, errors))


def api_key() -> Secret:
    return read_secret(API_KEY_ENV, purpose="send through SendGrid")


def api_host(settings: SendGridSettings) -> str:
    return (os.environ.get(API_HOST_ENV, "").strip() or settings.api_host).rstrip("/")


# --------------------------------------------------------------------------- the payload
#
# A large send builds a thousand personalizations per request, a million per issue: the
# request body is written as JSON text directly, one string format per recipient, with
# what every recipient of a request shares (content, sender, keys) encoded once per
# request. No per-recipient dict is built and nothing is serialised twice.

_json_string = json.encoder.encode_basestring  # C: a JSON string literal, non-ASCII kept
# html.escape(url, quote=True) changes a URL only if it has one of these.
_HTML_SPECIAL = ("&", "<", ">", '"', "'")


def _keys(placeholder: str, urls: Sequence[str]) -> tuple[str, str]:
    """Substitution keys for the HTML and the text part. One key serves both when no
    recipient's URL changes under HTML escaping (the usual case: a third less to send);
    otherwise two, neither a prefix of the other. Five substring searches over all the
    URLs joined (memchr-fast), not an escape per URL."""
    joined = "".join(urls)
    if not any(special in joined for special in _HTML_SPECIAL):
        return placeholder, placeholder
    return placeholder + "/html", placeholder + "/text"


def sendgrid_name(name: str | None) -> str | None:
    """A display name as SendGrid's payload takes it, or None for no name.

    One line, capped and neutralised like every header (`display_name`). SendGrid
    reads `,` and `;` in a `to.name` as address separators and drops the
    recipient as invalid after accepting the request (its v3 Mail Send
    limitations; sendgrid-python #291, sendgrid-csharp #268); its documented
    workaround is to send such a name as an RFC 5322 quoted string, which
    recipients' mail programs show without the quotes. Nothing is stripped."""
    shown = display_name(name)
    if not shown:
        return None
    if "," in shown or ";" in shown:
        return '"' + shown.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return shown


def _substitution_keys(
    issue: IssueMessage, messages: Sequence[PersonalMessage], no_unsubscribe: bool
) -> tuple[tuple[str, str], ...]:
    """(HTML key, text key) per personal URL of the issue, in `_Entries` order: the
    unsubscribe URL (none with an ASM group: SendGrid makes that link itself), then the
    preference page's URL when the issue links it (a transactional notice has no
    unsubscribe link either). Each pair's keys are encoded once per
    request, its value once per recipient."""
    if isinstance(messages, PersonalBatch):  # its columns: no message object made
        unsubscribe = list(messages.unsubscribe_urls)
        pages = [p or u for p, u in zip(messages.preferences_urls, unsubscribe, strict=True)]
    else:
        unsubscribe = [m.recipient.unsubscribe_url for m in messages]
        pages = [m.recipient.preferences_link for m in messages]
    keys: list[tuple[str, str]] = []
    if not no_unsubscribe:
        keys.append(_keys(issue.unsubscribe_placeholder, unsubscribe))
    if issue.preferences_placeholder:
        keys.append(_keys(issue.preferences_placeholder, pages))
    return tuple(keys)


class _Entries:
    """Writes one request's personalizations as JSON text: the format of an entry and
    its substitution keys are prepared once per request, then each recipient costs one
    string format. The text is the compact UTF-8 JSON of SendGrid's personalization
    object (keys in the order to, substitutions, headers, custom_args)."""

    def __init__(
        self, keys: tuple[tuple[str, str], ...], no_unsubscribe: bool, preferences: bool
    ) -> None:
        self._no_unsubscribe = no_unsubscribe
        self._preferences = preferences
        self._format = (
            '{"to":[%s]'
            + (',"substitutions":{%s}' if keys else "")
            + ',"headers":{"Message-ID":%s'
            + ("}" if no_unsubscribe else ',"List-Unsubscribe":%s}')
            + "%s}"
        )
        # One key per URL when HTML escaping changes none of them, else an HTML and a
        # text key, the HTML value escaped.
        self._html_keys = [_json_string(html_key) + ":" for html_key, _ in keys]
        self._text_keys = [
            None if html_key == text_key else _json_string(text_key) + ":"
            for html_key, text_key in keys
        ]
        self._whole_formats = self._formats_of_plain_readers()

    def _formats_of_plain_readers(self) -> tuple[str, str] | None:
        """The entry of a plain reader, with and without a name, as one %-format of
        their address, [name,] unsubscribe URL, [preference URL,] Message-ID, URL again
        and subscriber id: for `whole`, where every value is known to need no JSON
        escaping. None when this request's entries are not written that way."""
        if self._no_unsubscribe or any(key is not None for key in self._text_keys):
            return None
        escape = [key.replace("%", "%%") for key in self._html_keys]  # literal in a format
        pairs = escape[0] + '"%s"' + ("," + escape[1] + '"%s"' if self._preferences else "")
        rest = (pairs, '"%s"', '"<%s>"', ',"custom_args":{"subscriber_id":"%d"}')
        return (
            self._format % ('{"email":"%s","name":"%s"}', *rest),
            self._format % ('{"email":"%s"}', *rest),
        )

    def _urls(self, recipient: Recipient) -> tuple[str, ...]:
        if self._no_unsubscribe:
            return (recipient.preferences_link,) if self._preferences else ()
        if self._preferences:
            return (recipient.unsubscribe_url, recipient.preferences_link)
        return (recipient.unsubscribe_url,)

    def whole(self, messages: Sequence[PersonalMessage]) -> tuple[list[str], list[str]] | None:
        """(every reader's entry text, their lower-cased addresses), in order: what
        `entries` gives (a property test holds them equal), written from a PersonalBatch's
        columns with each of `entries`' checks made once over the whole batch, in C, and
        one %-format per reader. None unless every reader of the batch is plain and no
        value needs JSON escaping (then `entries` writes them one by one)."""
        if self._whole_formats is None or not isinstance(messages, PersonalBatch):
            return None
        if not messages or messages.issue.unsubscribe_mailto is not None:
            return None
        emails, names, ids = messages.emails, messages.names, messages.subscriber_ids
        urls, pages = messages.unsubscribe_urls, messages.preferences_urls
        message_ids = messages.message_ids
        addresses, joined_urls = "\n".join(emails), "".join(urls)
        # One address per line: no address holds a line break (each line is then
        # matched alone), all are ASCII without encoded words, and each has the wire
        # shape (`entries` checks the same per address; WIRE_SHAPE has no '"' or '\\').
        if not (
            addresses.count("\n") == len(emails) - 1
            and addresses.isascii()
            and "=?" not in addresses
            and _WIRE_LINES.fullmatch(addresses)
            and set(map(type, ids)) == {int}  # each written by %d as by :d
            and _verbatim(joined_urls)
            and " " not in joined_urls
            and max(map(len, urls)) <= MAX_HARD_LINE - len("List-Unsubscribe: <>")
            and _verbatim("".join(message_ids))
            and (not self._preferences or _verbatim("".join(pages), ascii_only=False))
            and _plain_names([name for name in names if name is not None])
        ):
            return None
        named, anonymous = self._whole_formats
        if self._preferences:
            texts = [
                named % (a, n, u, p or u, m, u, i)
                if n is not None
                else anonymous % (a, u, p or u, m, u, i)
                for a, n, i, u, p, m in zip(
                    emails, names, ids, urls, pages, message_ids, strict=True
                )
            ]
        else:
            texts = [
                named % (a, n, u, m, u, i) if n is not None else anonymous % (a, u, m, u, i)
                for a, n, i, u, m in zip(emails, names, ids, urls, message_ids, strict=True)
            ]
        return texts, addresses.lower().split("\n")

    def entries(
        self, messages: Sequence[PersonalMessage]
    ) -> Iterator[tuple[int, tuple[str, str] | MessageError]]:
        """(index, `entry(message)` or the MessageError it raises) for each message.

        The same texts as `entry`, one message after another (a property test holds
        them equal). A recipient whose address, name and links are plain, the usual
        case, is written inline from the batch's columns (a PersonalBatch's own, so no
        message object is made), with every lookup made once per batch; any other goes
        through `entry` itself."""
        if isinstance(messages, PersonalBatch):
            columns: tuple[Sequence[Any], ...] = (
                messages.emails,
                messages.names,
                messages.subscriber_ids,
                messages.unsubscribe_urls,
                messages.preferences_urls,
                messages.message_ids,
            )
        else:
            recipients = [m.recipient for m in messages]
            columns = (
                [r.email for r in recipients],
                [r.name for r in recipients],
                [r.subscriber_id for r in recipients],
                [r.unsubscribe_url for r in recipients],
                [r.preferences_url for r in recipients],
                [m.message_id for m in messages],
            )
        fast = not self._no_unsubscribe and all(key is None for key in self._text_keys)
        mailto = messages[0].issue.unsubscribe_mailto if len(messages) else None
        json_string, wire, fmt = _json_string, WIRE_SHAPE.fullmatch, self._format
        keys = self._html_keys
        preferences = self._preferences
        room = MAX_HARD_LINE - len("List-Unsubscribe: <>")
        for index, (address, name, subscriber_id, url, page, message_id) in enumerate(
            zip(*columns, strict=True)
        ):
            if not (
                fast
                and mailto is None
                and subscriber_id is not None
                and "=?" not in address
                and address.isascii()
                and wire(address)
                and url.isascii()
                and url.isprintable()
                and " " not in url
                and len(url) <= room
                and (name is None or _plain_name(name))
            ):
                try:
                    yield index, self.entry(messages[index])
                except MessageError as err:
                    yield index, err
                continue
            to = (
                '{"email":' + json_string(address) + ',"name":' + json_string(name) + "}"
                if name
                else '{"email":' + json_string(address) + "}"
            )
            if preferences:
                pairs = keys[0] + json_string(url) + "," + keys[1] + json_string(page or url)
            else:
                pairs = keys[0] + json_string(url)
            text = fmt % (
                to,
                pairs,
                json_string(message_id),
                json_string("<" + url + ">"),
                f',"custom_args":{{"subscriber_id":"{subscriber_id:d}"}}',
            )
            yield index, (text, address.lower())

    def entry(self, message: PersonalMessage) -> tuple[str, str]:
        """(the entry's JSON text, the lower-cased address it goes to). MessageError when
        this recipient's entry cannot be built (their address cannot be sent, their
        unsubscribe URL is unusable)."""
        recipient = message.recipient
        address = wire_address(recipient.email)
        name = sendgrid_name(recipient.name)
        to = (
            '{"email":' + _json_string(address) + ',"name":' + _json_string(name) + "}"
            if name
            else '{"email":' + _json_string(address) + "}"
        )
        custom = (
            f',"custom_args":{{"subscriber_id":"{recipient.subscriber_id:d}"}}'
            if recipient.subscriber_id is not None
            else ""
        )
        fields: list[str] = [to]
        if self._html_keys:
            pairs = []
            for html_key, text_key, url in zip(
                self._html_keys, self._text_keys, self._urls(recipient), strict=True
            ):
                if text_key is None:
                    pairs.append(html_key + _json_string(url))
                else:
                    escaped = html.escape(url, quote=True)
                    pairs.append(
                        html_key + _json_string(escaped) + "," + text_key + _json_string(url)
                    )
            fields.append(",".join(pairs))
        fields.append(_json_string(message.message_id))
        if not self._no_unsubscribe:
            value = list_unsubscribe_value(
                recipient.unsubscribe_url, message.issue.unsubscribe_mailto
            )
            fields.append(_json_string(token_value("List-Unsubscribe", value)))
        fields.append(custom)
        return self._format % tuple(fields), address.lower()


def _plain_name(name: str) -> bool:
    """A name `sendgrid_name` gives back unchanged (printable ASCII, single inner
    spaces, within MAX_NAME, no ``=?``, no separator SendGrid misreads), so it can be
    written as it is; any other goes through `sendgrid_name`."""
    return (
        name.isascii()
        and name.isprintable()
        and 0 < len(name) <= MAX_NAME
        and "  " not in name
        and name[0] != " "
        and name[-1] != " "
        and "=?" not in name
        and "," not in name
        and ";" not in name
    )


# Addresses one per line, each of the wire shape: a whole batch's checked in one match.
_WIRE_LINES = re.compile(f"(?:{WIRE_SHAPE.pattern})(?:\n(?:{WIRE_SHAPE.pattern}))*")


def _verbatim(text: str, *, ascii_only: bool = True) -> bool:
    """`text` is its own JSON string content: printable (so no control character), no
    '"' and no backslash, ASCII unless told otherwise; `_json_string(t)` is then
    '"' + t + '"' for every part t of it."""
    return (
        (text.isascii() or not ascii_only)
        and text.isprintable()
        and '"' not in text
        and "\\" not in text
    )


def _plain_names(names: list[str]) -> bool:
    """`_plain_name` of every name, and no name needs JSON escaping; checked on the
    names joined by commas (a comma is in no plain name, so each check of the joined
    text holds exactly when it holds for every name)."""
    if not names:
        return True
    joined = ",".join(names)
    return (
        _verbatim(joined)
        and joined.count(",") == len(names) - 1
        and min(map(len, names)) > 0
        and max(map(len, names)) <= MAX_NAME
        and "  " not in joined
        and joined[0] != " "
        and joined[-1] != " "
        and ", " not in joined
        and " ," not in joined
        and "=?" not in joined
        and ";" not in joined
    )


def _content(
    issue: IssueMessage, keys: tuple[tuple[str, str], ...], no_unsubscribe: bool
) -> list[dict[str, str]]:
    pairs = list(keys)
    html_key, text_key = (
        (ASM_UNSUBSCRIBE_TAG, ASM_UNSUBSCRIBE_TAG) if no_unsubscribe else pairs.pop(0)
    )
    marker = issue.unsubscribe_placeholder
    text, body = issue.text.replace(marker, text_key), issue.html.replace(marker, html_key)
    if issue.preferences_placeholder:
        preferences_html, preferences_text = pairs[0]
        text = text.replace(issue.preferences_placeholder, preferences_text)
        body = body.replace(issue.preferences_placeholder, preferences_html)
    if issue.click_tracking:
        body = untracked_anchors(body, issue.tracked_links)
    content = [
        {"type": "text/plain", "value": text},
        {"type": "text/html", "value": body},
    ]
    for part in content:
        longest = longest_line(part["value"])
        if longest > MAX_CONTENT_LINE:
            raise MessageError(
                f"{issue.issue_id}: the {part['type']} content has a line of {longest} octets; "
                f"SendGrid wants at most {MAX_CONTENT_LINE}"
            )
    return content


@dataclass(frozen=True)
class Prepared:
    """One batch's request body and what became of each message while building it."""

    body: str | None  # the JSON text; None when no message of the batch could be built
    carried: list[int]  # indexes of the messages the body carries, in its order
    failed: dict[int, Result]  # messages that could not be built: FAILED with the reason

    @property
    def payload(self) -> dict[str, Any] | None:
        """The body as a dict (for tests and tools; the transport sends `body`)."""
        return None if self.body is None else dict(json.loads(self.body))


def prepare_payload(
    messages: Sequence[PersonalMessage], settings: SendGridSettings, options: SendOptions
) -> Prepared:
    """The Mail Send request body for one batch of messages of one issue, as JSON text.

    A recipient whose personalization cannot be built, or whose address repeats
    one already in the batch, is FAILED alone with the reason; the others are
    carried. A fault of the issue itself (its sender, subject or body) is a
    MessageError for the whole batch."""
    if not 1 <= len(messages) <= MAX_PERSONALIZATIONS:
        raise MessageError(f"a SendGrid request takes 1–1000 messages, got {len(messages)}")
    first = messages[0]
    issue = first.issue
    # A transactional notice has no unsubscribe link to substitute and no list headers;
    # with an ASM group, SendGrid makes the unsubscribe link itself.
    asm_group_id = None if issue.transactional else settings.asm_group_id
    no_unsubscribe = asm_group_id is not None or issue.transactional
    keys = _substitution_keys(issue, messages, no_unsubscribe)
    entries = _Entries(keys, no_unsubscribe, bool(issue.preferences_placeholder))
    whole = entries.whole(messages)
    failed: dict[int, Result] = {}
    if whole is not None and len(set(whole[1])) == len(messages):  # the usual batch
        texts, carried = whole[0], list(range(len(messages)))
    else:
        texts, carried, failed = _one_by_one(entries, messages)
    if not texts:
        return Prepared(None, [], failed)
    shared = _shared_json(
        issue,
        first.subject,
        keys,
        asm_group_id,
        settings.sandbox,
        options,
    )
    return Prepared('{"personalizations":[' + ",".join(texts) + "]," + shared, carried, failed)


def _one_by_one(
    entries: _Entries, messages: Sequence[PersonalMessage]
) -> tuple[list[str], list[int], dict[int, Result]]:
    """(entry texts, indexes of the messages they carry, the messages FAILED with their
    reason): each reader's entry, a reader whose entry cannot be built or whose address
    repeats one already in the batch failed alone."""
    texts: list[str] = []
    carried: list[int] = []
    failed: dict[int, Result] = {}
    seen: set[str] = set()
    for index, written in entries.entries(messages):
        if isinstance(written, MessageError):
            failed[index] = Result(messages[index].recipient, Outcome.FAILED, error=written.message)
            continue
        text, address = written
        if address in seen:
            error = f"{address} appears twice in one SendGrid request"
            failed[index] = Result(messages[index].recipient, Outcome.FAILED, error=error)
            continue
        seen.add(address)
        texts.append(text)
        carried.append(index)
    return texts, carried, failed


@lru_cache(maxsize=16)
def _shared_json(
    issue: IssueMessage,
    subject: str,
    keys: tuple[tuple[str, str], ...],
    asm_group_id: int | None,
    sandbox: bool,
    options: SendOptions,
) -> str:
    """Everything of the body but the personalizations, as JSON text without its opening
    brace: the same for every request of a send, so made once."""
    payload: dict[str, Any] = {
        "from": _sender(issue),
        "subject": one_line(subject),
        "content": _content(issue, keys, asm_group_id is not None or issue.transactional),
        "headers": {} if issue.transactional else {"List-Id": issue.list_id_header.value},
        "custom_args": {"issue": issue.issue_id, "list": issue.list_name},
    }
    if issue.reply_to:
        payload["reply_to"] = {"email": wire_address(issue.reply_to)}
    if asm_group_id is not None:
        payload["asm"] = {"group_id": asm_group_id}
    elif not issue.transactional:
        payload["headers"]["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if issue.categories:
        payload["categories"] = list(issue.categories)
    if options.preview:
        payload["custom_args"]["preview"] = "true"
    # Said in every request, so an account-wide click tracking setting never applies:
    # off unless `tracking.click`; then item links only (`_content` marked every other
    # anchor clicktracking="off") and never the text part, whose unsubscribe URL would
    # otherwise go through SendGrid's redirect.
    payload["tracking_settings"] = {
        "click_tracking": {"enable": issue.click_tracking, "enable_text": False}
    }
    if sandbox:
        payload["mail_settings"] = {"sandbox_mode": {"enable": True}}
    if options.send_at is not None:
        payload["send_at"] = options.send_at
    if options.batch_id is not None:
        payload["batch_id"] = options.batch_id
    if not payload["headers"]:
        del payload["headers"]  # a notice: no list headers at all
    return serialise(payload)[1:]


def _sender(issue: IssueMessage) -> dict[str, str]:
    sender = {"email": wire_address(issue.from_email)}
    name = sendgrid_name(issue.from_name)
    if name:
        sender["name"] = name
    return sender


def build_payload(
    messages: Sequence[PersonalMessage], settings: SendGridSettings, options: SendOptions
) -> dict[str, Any]:
    """The request body for a batch every message of which can be built, as a dict;
    MessageError naming the first that cannot (`prepare_payload` is the per-reader form)."""
    prepared = prepare_payload(messages, settings, options)
    if prepared.failed or prepared.payload is None:
        first = prepared.failed[min(prepared.failed)]
        raise MessageError(f"{first.recipient.email}: {first.error}")
    return prepared.payload


def serialise(body: Any) -> str:
    """A request body as sent: compact UTF-8 JSON instead of the client's ASCII-escaped
    default, so a 1000-recipient request is smaller and serialises much faster."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- the boundary


def _sendgrid_messages(body: bytes | str | None) -> str:
    """SendGrid's own error words: 'field: message' for each error in its JSON."""
    try:
        errors = json.loads(body or b"{}").get("errors") or []
    except (ValueError, AttributeError):
        return (body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body))[:500]
    parts = [
        f"{e.get('field')}: {e.get('message')}" if e.get("field") else str(e.get("message"))
        for e in errors
        if isinstance(e, dict)
    ]
    return "; ".join(parts) or "no error details"


def sendgrid_detail(body: bytes | str | None, limit: int = 500) -> str | None:
    """SendGrid's own words for an error answer, for DeliveryError.detail: the
    `errors[].message` texts of its JSON joined by "; " (its 400/401/403/413/429
    shape, {"errors": [{"message", "field", "help"}]}), else the body's text; at most
    `limit` characters; None for an empty body."""
    try:
        errors = json.loads(body or b"{}").get("errors") or []
        words = "; ".join(
            str(e["message"]) for e in errors if isinstance(e, dict) and e.get("message")
        )
    except (ValueError, AttributeError):
        words = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
    words = words.strip()
    return (words if len(words) <= limit else words[: limit - 1] + "…") or None


def _sendgrid_fields(body: bytes | str | None) -> tuple[str, ...]:
    """The `field` of each error in SendGrid's JSON answer (empty when it names none)."""
    try:
        errors = json.loads(body or b"{}").get("errors") or []
    except (ValueError, AttributeError):
        return ()
    return tuple(
        str(e["field"]) for e in errors if isinstance(e, dict) and isinstance(e.get("field"), str)
    )


_PERSONALIZATION_FIELD = re.compile(r"personalizations\.([0-9]+)\.")


def refused_personalizations(fields: Sequence[str], count: int) -> set[int] | None:
    """The personalizations a 400 blames, when every error names one of the `count`
    personalizations of the request (``personalizations.3.to.0.email``); None when an
    error concerns the request as a whole (or names nothing): then nobody can be singled
    out. SendGrid refuses a Mail Send request whole, so what it refused was not sent."""
    indices: set[int] = set()
    for name in fields:
        found = _PERSONALIZATION_FIELD.match(name + ".")
        if found is None or int(found.group(1)) >= count:
            return None
        indices.add(int(found.group(1)))
    return indices or None


def _retry_after(headers: Any, now: float) -> float:
    """Seconds to wait after a 429: Retry-After, else X-RateLimit-Reset, else 1."""
    headers = headers or {}
    value = headers.get("Retry-After")
    if value:
        try:
            return max(float(value), 0.0)
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value)
            return max(parsed.timestamp() - now, 0.0)
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        try:
            return max(float(reset) - now, 0.0)
        except ValueError:
            pass
    return 1.0


def _classify_http(err: http_errors.HTTPError) -> DeliveryError:
    status = int(err.status_code)
    words = _sendgrid_messages(err.body)
    detail = sendgrid_detail(err.body)  # SendGrid's own words, kept apart from ours
    if status in (401, 403):
        return AuthenticationError(
            f"SendGrid refused the API key ({status}): {words}",
            hint=f"check {API_KEY_ENV} and that the key may send mail (Mail Send permission)",
            status=status,
            detail=detail,
        )
    if status == 413:
        return PayloadTooLargeError(
            f"SendGrid: request too large (413): {words}", status=status, detail=detail
        )
    if status == 429:
        wait = _retry_after(err.headers, time.time())
        return RateLimitedError(
            f"SendGrid rate limit (429), wait {wait:.0f} s", retry_after=wait, detail=detail
        )
    if status >= 500:
        return TransientDeliveryError(
            f"SendGrid server error ({status}): {words}", status=status, detail=detail
        )
    return PermanentDeliveryError(
        f"SendGrid refused the request ({status}): {words}",
        status=status,
        fields=_sendgrid_fields(err.body),
        detail=detail,
    )


def classify(err: BaseException) -> DeliveryError:
    """Translate whatever the client raised into our delivery error classes."""
    if isinstance(err, http_errors.HTTPError):
        return _classify_http(err)
    if isinstance(err, urllib.error.URLError):
        # urllib wraps only failures while connecting and writing the request:
        # SendGrid never had it whole, so it cannot have been accepted.
        return TransientDeliveryError(f"SendGrid unreachable: {err.reason}")
    if isinstance(err, TimeoutError | http.client.HTTPException | ConnectionError | OSError):
        return AmbiguousDeliveryError(
            f"SendGrid's answer never came ({type(err).__name__}: {err}); "
            "the request may have been accepted"
        )
    return AmbiguousDeliveryError(f"unexpected failure talking to SendGrid: {err!r}")


# --------------------------------------------------------------------------- the transport


class SendGridTransport:
    """Posts batches to /v3/mail/send; thread-safe (one client per thread)."""

    name = "sendgrid"
    max_in_flight = 1 << 30  # one client per thread: any concurrency (base.UNLIMITED)
    supports = frozenset({"send_at", "batch_id", "preview"})

    def __init__(
        self,
        settings: SendGridSettings,
        *,
        retry_base_seconds: float = 1.0,
        pacer: Pacer | None = None,
    ) -> None:
        self.settings = settings
        self.pacer = pacer or Pacer()
        self.max_batch = settings.batch_size
        self.host = api_host(settings)
        self._key = api_key()
        self._retry_base = retry_base_seconds
        self._local = threading.local()

    def _client(self) -> SendGridAPIClient:
        client: SendGridAPIClient | None = getattr(self._local, "client", None)
        if client is None:
            client = SendGridAPIClient(self._key.reveal(), host=self.host)
            client.client.timeout = self.settings.timeout_seconds
            # With a Content-Type other than plain "application/json" python-http-client
            # sends the body as given: we serialise it ourselves (see `request`).
            client.client.request_headers["Content-Type"] = JSON_UTF8
            self._local.client = client
        return client

    def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any, Any]:
        """One API call, e.g. request("post", "mail/send", request_body=…); errors classified."""
        endpoint = self._client().client
        for segment in path.strip("/").split("/"):
            endpoint = endpoint._(segment)
        body = kwargs.get("request_body")
        if body is not None:  # prepare_payload's are text already
            kwargs["request_body"] = _Body(body if isinstance(body, str) else serialise(body))
        try:
            response = getattr(endpoint, method.lower())(**kwargs)
        except Exception as err:  # every client failure, whatever its type, is classified here
            raise classify(err) from err
        return int(response.status_code), response.headers, response.body

    def _retrying(self, call: Callable[[], T]) -> T:
        """`call` with this transport's bounded retries of transient failures."""
        return with_retries(
            call, attempts=self.settings.max_attempts, base_seconds=self._retry_base
        )

    def _send_once(self, body: str, count: int) -> str | None:
        self.pacer.acquire(count)
        try:
            status, headers, _ = self.request("post", "mail/send", request_body=body)
        except RateLimitedError as err:
            self.pacer.hold(err.retry_after)  # every thread of this send waits, not just us
            raise
        if status not in (200, 202):
            raise AmbiguousDeliveryError(f"SendGrid answered {status}, expected 202")
        return str(headers.get("X-Message-Id")) if headers.get("X-Message-Id") else None

    def send(self, messages: Sequence[PersonalMessage], options: SendOptions) -> Sequence[Result]:
        """One Result per message, in order; a message that cannot be built fails alone.
        UnsupportedFeatureError for an option SendGrid has no field for (check_options)."""
        return self.prepare(messages, options)()

    def prepare(
        self, messages: Sequence[PersonalMessage], options: SendOptions
    ) -> Callable[[], Sequence[Result]]:
        """`send` in two steps (base.Preparer): the request body is built now, on the
        caller's thread; the callable posts it and answers as `send` does."""
        check_options(self, options)
        if not messages:
            return list
        prepared = prepare_payload(messages, self.settings, options)
        return lambda: self._post(messages, prepared, options)

    def _post(
        self, messages: Sequence[PersonalMessage], prepared: Prepared, options: SendOptions
    ) -> Sequence[Result]:
        if not prepared.failed:  # the usual case: every message carried, in order
            return self._send_built(messages, prepared.body, options)
        carried = [messages[i] for i in prepared.carried]
        sent = self._send_built(carried, prepared.body, options) if carried else []
        results = dict(prepared.failed) | dict(zip(prepared.carried, sent, strict=True))
        return [results[i] for i in range(len(messages))]

    def _send_built(
        self,
        messages: Sequence[PersonalMessage],
        body: str | None,
        options: SendOptions,
    ) -> Sequence[Result]:
        if body is None:  # a half after a 413 split: build its own body
            return self.send(messages, options)
        try:
            message_id = self._retrying(lambda: self._send_once(body, len(messages)))
        except PayloadTooLargeError as err:
            if len(messages) == 1:
                return all_results(messages, Outcome.FAILED, error=err.message)
            half = len(messages) // 2
            first, second = messages[:half], messages[half:]
            halves = self._send_built(first, None, options), self._send_built(second, None, options)
            return [*halves[0], *halves[1]]
        except PermanentDeliveryError as err:
            blamed = refused_personalizations(err.fields, len(messages))
            if blamed is None or len(blamed) == len(messages):
                return all_results(messages, Outcome.FAILED, error=err.message)
            return self._without(messages, blamed, err, options)
        except OUTCOME_ERRORS as err:
            return all_results(messages, outcome_of(err), error=err.message)
        return all_results(messages, Outcome.ACCEPTED, provider_id=message_id)

    def _without(
        self,
        messages: Sequence[PersonalMessage],
        blamed: set[int],
        refusal: PermanentDeliveryError,
        options: SendOptions,
    ) -> Sequence[Result]:
        """A 400 that names some readers' entries: those fail alone, with SendGrid's words;
        the rest, never accepted (SendGrid refuses a request whole), are sent again in a
        request of their own. One reader's bad entry never fails a whole batch."""
        others = [m for i, m in enumerate(messages) if i not in blamed]
        sent = iter(self._send_built(others, None, options))
        return [
            Result(m.recipient, Outcome.FAILED, error=refusal.message)
            if i in blamed
            else next(sent)
            for i, m in enumerate(messages)
        ]

    # ----------------------------------------------------------------- scheduling

    def create_batch(self) -> str:
        """A new batch id, under which a scheduled send can later be cancelled."""
        _, _, body = self._retrying(lambda: self.request("post", "mail/batch"))
        try:
            return str(json.loads(body)["batch_id"])
        except (ValueError, KeyError, TypeError) as err:
            raise AmbiguousDeliveryError("SendGrid's answer had no batch_id") from err

    def cancel_scheduled(self, batch_id: str) -> None:
        """Cancel every message scheduled under `batch_id` that has not gone out."""
        body = {"batch_id": batch_id, "status": "cancel"}
        self._retrying(lambda: self.request("post", "user/scheduled_sends", request_body=body))

    def close(self) -> None:
        self._local = threading.local()
