"""Header values made from data: the one place that builds them.

Every header whose value comes from data (To and From with their display names,
Reply-To, Subject, List-Id, List-Unsubscribe, Message-ID) is built here, for
the MIME messages of the outbox and SMTP and for SendGrid's payload alike:

- Plain text (names, the subject, a list's description) becomes one line
  (`one_line`): control characters, line and paragraph separators and runs of
  white space become one space, bidi controls are dropped, and ``=?``, which
  opens an RFC 2047 encoded word, becomes ``= ?``, so no input can smuggle in an
  encoded word that a reader's mail program would decode into a line break, a
  ``Bcc:`` or a second address. Names are cut to `MAX_NAME` characters.
- Values are folded at white space into lines of at most 78 characters
  (RFC 5322 §2.1.1). Non-ASCII text, and text with a word too long to fold,
  becomes RFC 2047 encoded words of at most 75 characters (RFC 2047 §2). A
  lone address never breaks, so its line may be longer (never over 998, as an
  address has at most 254 characters); ``List-Unsubscribe`` stays on one line
  because mail providers cannot read a folded URL.
- Addresses go out in ASCII: the domain in its IDNA (punycode) form
  (RFC 5890); a non-ASCII local part needs SMTPUTF8 (RFC 6531), which neither
  SendGrid nor our SMTP client uses, so it is a MessageError.
- Every header built is parsed back with the standard library and must give
  exactly the intended value (one header, one address, the intended one, with
  the intended name, compared without white space because the standard
  library keeps the space between encoded words that RFC 2047 §6.2 drops);
  anything else is a MessageError, which fails that reader's message only.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from newsletter.addresses import InvalidAddressError, ascii_email
from newsletter.errors import MessageError
from newsletter.names import MAX_NAME

MAX_LINE = 78  # RFC 5322 §2.1.1: lines SHOULD be at most 78 characters
MAX_HARD_LINE = 998  # RFC 5322 §2.1.1: lines MUST be at most 998 characters
MAX_ENCODED_WORD = 75  # RFC 2047 §2
MAX_TEXT = 900  # any other plain-text value (a subject is at most 300 by the digest rules)
ELLIPSIS = "…"

_SPACES = re.compile(r"\s+")
_BIDI = dict.fromkeys(
    map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)
_ATEXT_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*")  # atoms and spaces: no quoting
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_Q_PREFIX, _B_PREFIX, _SUFFIX = "=?utf-8?q?", "=?utf-8?b?", "?="
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_PARSER = email.parser.BytesHeaderParser(policy=email.policy.default)
_CHECK_ADDRESS = "check@example.invalid"


def one_line(text: str, *, limit: int = MAX_TEXT) -> str:
    """`text` as one line of plain text for a header, at most `limit` characters.

    Control characters (Unicode category Cc: CR, LF, TAB, NUL, C1), line and
    paragraph separators and white-space runs become one space; bidi controls
    (which can disguise text) are dropped; ``=?`` becomes ``= ?``."""
    if text.isascii() and text.isprintable():
        # The common case, a million times per large send: printable ASCII has no
        # control, separator or bidi character, and its only white space is " ".
        cleaned = " ".join(text.split())
    else:
        cleaned = "".join(" " if _is_break(ch) else ch for ch in text.translate(_BIDI))
        cleaned = _SPACES.sub(" ", cleaned).strip()
    while "=?" in cleaned:
        cleaned = cleaned.replace("=?", "= ?")
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + ELLIPSIS
    return cleaned


def _is_break(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp")


def display_name(name: str | None) -> str:
    """A person's or sender's name as it appears in a header: one line, at most MAX_NAME."""
    return one_line(name or "", limit=MAX_NAME)


def wire_address(address: str) -> str:
    """The address as it is sent: ASCII, the domain in IDNA (punycode) form.

    MessageError when it cannot be carried (a non-ASCII local part: no SMTPUTF8)
    or is not a valid address at all."""
    try:
        return ascii_email(address)
    except InvalidAddressError as err:
        raise MessageError(f"{address!r} cannot be sent: {err}") from err


# --------------------------------------------------------------------------- encoding


def _q_word_payload(ch: str) -> str:
    # The phrase-safe set (RFC 2047 §5(3)) is legal everywhere, so one encoder serves all.
    return "".join(
        chr(b) if b in _Q_SAFE else ("_" if b == 0x20 else f"={b:02X}") for b in ch.encode()
    )


def _q_words(text: str, first_room: int) -> list[str]:
    words: list[str] = []
    room = min(first_room, MAX_ENCODED_WORD) - len(_Q_PREFIX) - len(_SUFFIX)
    payload = ""
    for ch in text:
        piece = _q_word_payload(ch)
        if payload and len(payload) + len(piece) > room:
            words.append(_Q_PREFIX + payload + _SUFFIX)
            payload = ""
            room = MAX_ENCODED_WORD - len(_Q_PREFIX) - len(_SUFFIX)
        payload += piece
    words.append(_Q_PREFIX + payload + _SUFFIX)
    return words


def _b_words(text: str, first_room: int) -> list[str]:
    words: list[str] = []
    room = min(first_room, MAX_ENCODED_WORD) - len(_B_PREFIX) - len(_SUFFIX)
    chunk = b""
    for ch in text:
        raw = ch.encode()
        if chunk and (len(chunk) + len(raw) + 2) // 3 * 4 > room:
            words.append(_B_PREFIX + base64.b64encode(chunk).decode("ascii") + _SUFFIX)
            chunk = b""
            room = MAX_ENCODED_WORD - len(_B_PREFIX) - len(_SUFFIX)
        chunk += raw
    words.append(_B_PREFIX + base64.b64encode(chunk).decode("ascii") + _SUFFIX)
    return words


def encoded_words(text: str, first_room: int = MAX_ENCODED_WORD) -> list[str]:
    """`text` as RFC 2047 encoded words (UTF-8), Q or B, whichever is shorter.

    The first word fits in `first_room` characters, the others in 75; a character
    is never split between words. White space between the words is ignored by
    decoders, so the text's own spaces travel inside the words."""
    q, b = _q_words(text, first_room), _b_words(text, first_room)
    return q if sum(map(len, q)) <= sum(map(len, b)) else b


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _phrase_tokens(name: str, first_room: int) -> list[str]:
    """A display name (RFC 5322 phrase) as foldable tokens: atoms or a quoted string
    when ASCII and each piece fits a line, else encoded words."""
    if not name:
        return []
    if name.isascii():
        plain = name if _ATEXT_NAME.fullmatch(name) else _quoted(name)
        tokens = plain.split(" ")
        if len(tokens[0]) <= first_room and all(len(t) < MAX_LINE for t in tokens):
            return tokens
    return encoded_words(name, first_room)


def _plain_word(word: str) -> bool:
    return word.isascii() and 0 < len(word) < MAX_LINE - 1


def _text_tokens(text: str, first_room: int) -> list[str]:
    """Unstructured text (RFC 5322 §3.2.5) as foldable tokens: ASCII words stay as they
    are; each run of other words (non-ASCII, or too long to fold) becomes encoded words
    holding the run's own spaces. The space between a word and an encoded word is kept
    by decoders (RFC 2047 §6.2), so it may serve as a fold."""
    if not text:
        return []
    tokens: list[str] = []
    run: list[str] = []
    for word in text.split(" "):
        if _plain_word(word):
            if run:
                tokens += encoded_words(" ".join(run), first_room if not tokens else MAX_LINE)
                run = []
            tokens.append(word)
        else:
            run.append(word)
    if run:
        tokens += encoded_words(" ".join(run), first_room if not tokens else MAX_LINE)
    if len(tokens[0]) > first_room:  # a first plain word too long for the first line
        return encoded_words(text, first_room)
    return tokens


def fold(field: str, tokens: list[str]) -> str:
    """`Field: tokens…` folded before a token wherever a line would pass 78 characters."""
    lines = [f"{field}:"]
    for token in tokens:
        started = len(lines) > 1 or lines[0] != f"{field}:"
        if started and len(lines[-1]) + 1 + len(token) > MAX_LINE:
            lines.append("")
        lines[-1] += " " + token
    return "\r\n".join(lines)


# --------------------------------------------------------------------------- headers


@dataclass(frozen=True)
class Header:
    """One built header: its field name, its one-line value (for SendGrid's JSON, which
    folds itself) and its folded form for MIME (without the final CRLF)."""

    name: str
    value: str
    folded: str


def _room(field: str) -> int:
    return MAX_LINE - len(field) - 2  # "Field: "


def address_header(field: str, name: str | None, address: str) -> Header:
    """From, To or Reply-To naming exactly one mailbox; checked by parsing it back."""
    addr = wire_address(address)
    shown = display_name(name)
    tokens = [*_phrase_tokens(shown, _room(field)), f"<{addr}>"]
    header = Header(field, " ".join(tokens), fold(field, tokens))
    _check_address(header, shown, addr)
    return header


def text_header(field: str, text: str) -> Header:
    """An unstructured header such as Subject; checked by parsing it back."""
    shown = one_line(text)
    tokens = _text_tokens(shown, _room(field))
    header = Header(field, " ".join(tokens), fold(field, tokens))
    _check_lines(header)
    parsed = _parse(header)[field]
    if str(parsed) != shown:
        raise MessageError(f"{field} header would read {str(parsed)!r}, not {shown!r}")
    return header


def list_id_header(description: str, list_id: str) -> Header:
    """List-Id (RFC 2919): an optional phrase and the list's id in angle brackets."""
    if not re.fullmatch(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+", list_id) or ".." in list_id:
        raise MessageError(f"List-Id {list_id!r} is not a dot-atom")
    limit = MAX_NAME
    shown = one_line(description, limit=limit)
    phrase = _phrase_tokens(shown, _room("List-Id"))
    tokens = [*phrase, f"<{list_id}>"]
    # SendGrid's payload carries the value unfolded, so it must fit one 998-octet line
    # too: 200 CJK characters make over 1,000 characters of encoded words. Cut the phrase.
    while len("List-Id: ") + len(" ".join(tokens)) > MAX_HARD_LINE and limit > 1:
        limit = limit * 9 // 10
        shown = one_line(description, limit=limit)
        phrase = _phrase_tokens(shown, _room("List-Id"))
        tokens = [*phrase, f"<{list_id}>"]
    header = Header("List-Id", " ".join(tokens), fold("List-Id", tokens))
    _check_lines(header)
    if len(f"List-Id: {header.value}") > MAX_HARD_LINE:
        raise MessageError(f"List-Id header is over {MAX_HARD_LINE} characters on one line")
    _check_phrase(phrase, shown)
    return header


def _spaced_tokens(value: str) -> bool:
    """Printable ASCII words (``[\x21-\x7e]+``) separated by single spaces. String
    methods, not a regex per word: this runs once per reader of a million."""
    return (
        bool(value)
        and value.isascii()
        and value.isprintable()
        and "  " not in value
        and value[0] != " "
        and value[-1] != " "
    )


def token_value(field: str, value: str) -> str:
    """`value` once checked as `token_header` checks it (printable ASCII, single spaces,
    one line of at most 998 octets with its field name); MessageError otherwise. The
    per-recipient form: no Header is built."""
    if not _spaced_tokens(value):
        raise MessageError(f"{field} header value is not printable ASCII: {value!r}")
    if len(field) + 2 + len(value) > MAX_HARD_LINE:
        raise MessageError(
            f"{field} header is {len(field) + 2 + len(value):,} characters on one line; "
            f"RFC 5322 allows at most {MAX_HARD_LINE}"
        )
    return value


def token_header(field: str, value: str) -> Header:
    """A header built from values already checked to be printable ASCII without spaces
    between its items' separators (Message-ID, Date, List-Unsubscribe), kept on one
    line: List-Unsubscribe must not fold (mail providers cannot read folded URLs)."""
    token_value(field, value)
    return Header(field, value, f"{field}: {value}")


# --------------------------------------------------------------------------- checks


def _parse(header: Header) -> email.message.Message:
    return _PARSER.parsebytes(header.folded.encode("ascii") + b"\r\n\r\n")


def _check_lines(header: Header) -> None:
    folded = header.folded
    if not folded.isascii():
        raise MessageError(f"{header.name} header is not ASCII")
    for line in folded.split("\r\n"):
        if len(line) > MAX_HARD_LINE or "\r" in line or "\n" in line:
            raise MessageError(f"{header.name} header has a line over {MAX_HARD_LINE} octets")
    if any(len(word) > MAX_ENCODED_WORD for word in _ENCODED_WORD.findall(folded)):
        raise MessageError(f"{header.name} header has an encoded word over 75 characters")


def _check_address(header: Header, name: str, addr: str) -> None:
    _check_lines(header)
    message = _parse(header)
    values = message.get_all(header.name) or []
    addresses: tuple[Any, ...] = getattr(values[0], "addresses", ()) if len(values) == 1 else ()
    if len(message.keys()) != 1 or len(addresses) != 1:
        raise MessageError(f"{header.name} header would not name exactly one address")
    found = addresses[0]
    # Python's parser keeps the white space between adjacent encoded words of a phrase
    # (RFC 2047 §6.2 says to drop it), so names are compared without white space.
    if found.addr_spec != addr or _SPACES.sub("", found.display_name) != _SPACES.sub("", name):
        raise MessageError(
            f"{header.name} header would name {found.display_name!r} <{found.addr_spec}>, "
            f"not {name!r} <{addr}>"
        )


def _check_phrase(tokens: list[str], name: str) -> None:
    """A phrase that is not a mailbox's (List-Id) is checked as a stand-in address's name."""
    probe = Header("To", "", fold("To", [*tokens, f"<{_CHECK_ADDRESS}>"]))
    _check_address(probe, name, _CHECK_ADDRESS)


@lru_cache(maxsize=1024)
def sender_headers(
    from_name: str, from_email: str, reply_to: str | None, subject: str
) -> tuple[Header, ...]:
    """The headers every message of an issue shares, built and checked once."""
    headers = [address_header("From", from_name, from_email)]
    if reply_to:
        headers.append(address_header("Reply-To", None, reply_to))
    headers.append(text_header("Subject", subject))
    return tuple(headers)
