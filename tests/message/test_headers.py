"""The one header builder: RFC 5322 folding, RFC 2047 encoded words, no injection."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.errors import MessageError
from newsletter.message import Recipient
from newsletter.message.build import mailto_url
from newsletter.message.headers import (
    address_header,
    encoded_words,
    list_id_header,
    one_line,
    text_header,
    token_header,
    wire_address,
)
from newsletter.message.mime import mime_bytes
from tests.delivery_support import PUBLIC, sample_issue

ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def squeeze(text: str) -> str:
    """Text without white space: Python's parser keeps the space between two encoded
    words of a display name, which RFC 2047 §6.2 (and mail programs) drop."""
    return re.sub(r"\s+", "", text)


def head_lines(raw: bytes) -> list[str]:
    return raw.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")


def parsed(raw: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def message_for(name: str | None, address: str = "x@example.com") -> bytes:
    recipient = Recipient(address, f"{PUBLIC}/unsubscribe/1.t", name=name, subscriber_id=1)
    return mime_bytes(sample_issue().personalise(recipient))


@pytest.mark.parametrize(
    "name",
    [
        "=?utf-8?q?=0D=0ABcc:_victim@example.org?=",
        "=?utf-8?q?Support_<help@other.example>,?=",
        "=?utf-8?b?U3VwcG9ydCA8aGVscEBvdGhlci5leGFtcGxlPiw=?=",
        "Eve\r\nBcc: victim@example.org",
        "Eve\u2028Bcc: victim@example.org",
        'Support <help@other.example>, "x" <y@z.example>',
    ],
)
def test_a_name_cannot_add_a_header_or_change_who_to_names(name: str) -> None:
    """Encoded words, line breaks and address syntax in a name stay text in the To name."""
    raw = message_for(name)
    message = parsed(raw)
    assert message["Bcc"] is None
    (to,) = message["To"].addresses
    assert to.addr_spec == "x@example.com"
    assert "\r" not in to.display_name and "\n" not in to.display_name
    assert "=?" not in to.display_name  # no encoded word survives to be decoded later
    assert sum(line.startswith("To:") for line in head_lines(raw)) == 1


def test_a_huge_name_is_cut_and_folded() -> None:
    """A 100,000-character name gives a To header of 200 characters in 78-column lines."""
    raw = message_for("N" * 100_000)
    assert max(len(line) for line in head_lines(raw)) <= 78
    (to,) = parsed(raw)["To"].addresses
    assert squeeze(to.display_name) == "N" * 199 + "…"


def test_a_non_ascii_subject_is_short_encoded_words_in_short_lines() -> None:
    """The sample's non-ASCII subject: encoded words of at most 75, lines of at most 78."""
    raw = message_for("Reader")
    lines = head_lines(raw)
    words = [w for line in lines for w in ENCODED_WORD.findall(line)]
    assert words and max(map(len, words)) <= 75
    unsubscribe = [line for line in lines if line.startswith("List-Unsubscribe:")]
    assert all(len(line) <= 78 for line in lines if line not in unsubscribe)
    assert parsed(raw)["Subject"] == sample_issue().subject


def test_names_with_commas_and_quotes_arrive_intact() -> None:
    """'Smith, John' and names with quotes or backslashes parse back exactly."""
    for name in ("Smith, John", 'Ann "Nan" O\'Neil', "back\\slash", "Ünal, Ayşe"):
        (to,) = parsed(message_for(name))["To"].addresses
        assert to.display_name == name


def test_an_idn_domain_is_sent_as_punycode() -> None:
    """user@bücher.example goes out as user@xn--bcher-kva.example, never an encoded word."""
    raw = message_for("Reader", "user@bücher.example")
    (to,) = parsed(raw)["To"].addresses
    assert to.addr_spec == "user@xn--bcher-kva.example"
    assert "=?" not in next(line for line in head_lines(raw) if line.startswith("To:"))


def test_a_non_ascii_local_part_fails_that_message_with_the_reason() -> None:
    """ñoño@example.com cannot be carried without SMTPUTF8: MessageError, no traceback."""
    with pytest.raises(MessageError, match=r"non-ASCII.*SMTPUTF8"):
        message_for("Reader", "ñoño@example.com")


def test_plain_text_is_one_line_without_encoded_words() -> None:
    """Control characters, separators and =? are neutralised in plain-text inputs."""
    assert one_line("a\r\n\tb\x00c\u2029d\u202eе") == "a b c dе"
    assert one_line("=?utf-8?q?x?=") == "= ?utf-8?q?x?="
    assert one_line("==??") == "== ??"
    # Every bidirectional mark, override and isolate, the Arabic letter mark included.
    assert one_line("a\u061cb\u200fc\u2067d") == "abcd"


def test_a_list_description_cannot_break_list_id() -> None:
    """A description with a line break or an encoded word stays one List-Id phrase."""
    header = list_id_header("Weekly\r\nBcc: x@example.org =?utf-8?q?=0D=0A?=", "weekly.example")
    message = parsed(header.folded.encode("ascii") + b"\r\n\r\n")
    assert list(message.keys()) == ["List-Id"]
    assert str(message["List-Id"]).endswith("<weekly.example>")


def test_a_header_that_would_not_parse_back_is_refused() -> None:
    """An address that is not one mailbox is a MessageError, never a header."""
    with pytest.raises(MessageError):
        address_header("To", "x", "a@example.com, b@example.com")
    with pytest.raises(MessageError):
        wire_address("not an address")


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=300)


@settings(max_examples=300, deadline=None)
@given(names)
def test_any_name_builds_one_to_header_naming_the_address(name: str) -> None:
    """For any name: one To header, the intended address, the cleaned name, short lines."""
    header = address_header("To", name, "reader@example.com")
    message = parsed(header.folded.encode("ascii") + b"\r\n\r\n")
    assert list(message.keys()) == ["To"]
    (to,) = message["To"].addresses
    assert to.addr_spec == "reader@example.com"
    assert squeeze(to.display_name) == squeeze(one_line(name, limit=200))
    assert all(len(line) <= 78 for line in header.folded.split("\r\n"))
    assert all(len(word) <= 75 for word in ENCODED_WORD.findall(header.folded))


@settings(max_examples=200, deadline=None)
@given(names)
def test_any_subject_folds_and_parses_back(text: str) -> None:
    """For any subject: lines of at most 78, encoded words of at most 75, same text back."""
    header = text_header("Subject", text)
    message = parsed(header.folded.encode("ascii") + b"\r\n\r\n")
    assert str(message["Subject"]) == one_line(text)
    assert all(len(line) <= 78 for line in header.folded.split("\r\n"))


def test_encoded_words_respect_the_first_line_room() -> None:
    """The first encoded word fits after the field name; none splits a character."""
    words = encoded_words("Ж" * 100, first_room=60)
    assert len(words[0]) <= 60 and all(len(w) <= 75 for w in words)


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("unsub#list@example.com", "mailto:unsub%23list@example.com"),
        ("a?b@example.com", "mailto:a%3Fb@example.com"),
        ("a%b&c=d@example.com", "mailto:a%25b%26c%3Dd@example.com"),
        ("o'brien+x@bücher.example", "mailto:o'brien+x@xn--bcher-kva.example"),
    ],
)
def test_the_unsubscribe_mailto_is_a_well_formed_mailto_url(address: str, url: str) -> None:
    """delivery.unsubscribe_mailto lands in List-Unsubscribe percent-encoded (RFC 6068 §2):
    a bare '#' or '?' would start the URL's fragment or query and mail someone else."""
    issue = replace(sample_issue(), unsubscribe_mailto=address)
    recipient = Recipient("x@example.com", f"{PUBLIC}/unsubscribe/1.t", subscriber_id=1)
    value = issue.list_unsubscribe(recipient)
    assert value == f"<{PUBLIC}/unsubscribe/1.t>, <{url}?subject=unsubscribe>"
    assert mailto_url(address) == url


def test_list_id_fits_one_998_octet_line_for_sendgrid() -> None:
    """A 200-character CJK list description makes over 1,000 characters of encoded words:
    SendGrid's payload carries List-Id unfolded, so the phrase is cut to fit 998 octets,
    still parses back as the description's start, and the folded form stays within 78."""
    header = list_id_header("李" * 200, "weekly.example")
    assert len(f"List-Id: {header.value}") <= 998
    assert all(len(line) <= 78 for line in header.folded.split("\r\n"))
    phrase = str(parsed(header.folded.encode("ascii") + b"\r\n\r\n")["List-Id"])
    assert re.sub(r"\s", "", phrase).startswith("李" * 100)
    assert phrase.rstrip().endswith("… <weekly.example>")


def test_an_unfoldable_header_over_998_octets_is_refused() -> None:
    """List-Unsubscribe is never folded: a value that would make a line over 998 octets
    (an enormous public_base_url) is a MessageError, never a line servers may cut."""
    with pytest.raises(MessageError, match="at most 998"):
        token_header("List-Unsubscribe", f"<https://example.com/{'a' * 980}>")
    assert token_header("List-Unsubscribe", "<https://example.com/a>").folded.endswith("/a>")


@given(st.text(alphabet=st.characters(max_codepoint=0x17F), max_size=40))
def test_token_check_is_exactly_printable_ascii_words_single_spaced(value: str) -> None:
    """The fast check token_header uses (string methods, once per reader) accepts exactly
    what its rule says: printable ASCII words separated by single spaces."""
    import re

    from newsletter.message.headers import _spaced_tokens

    rule = all(re.fullmatch(r"[\x21-\x7e]+", part) for part in value.split(" "))
    assert _spaced_tokens(value) == rule


@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=60))
def test_ascii_fast_path_matches_the_general_rule(text: str) -> None:
    """one_line's shortcut for printable ASCII gives what the general cleaning gives."""
    from newsletter.message import headers

    general = headers._SPACES.sub(
        " ", "".join(" " if headers._is_break(c) else c for c in text.translate(headers._BIDI))
    ).strip()
    while "=?" in general:
        general = general.replace("=?", "= ?")
    assert one_line(text, limit=10_000) == general
