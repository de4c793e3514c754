"""The SendGrid request body written as JSON text is exactly the JSON of the request as
a dict: the text fast path (issue 16) changes nothing that is sent."""

from __future__ import annotations

import html
import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.config import SendGridSettings
from newsletter.errors import MessageError
from newsletter.message import PersonalBatch, PersonalMessage, Recipient
from newsletter.message.build import list_unsubscribe_value
from newsletter.names import MAX_NAME
from newsletter.transports import Outcome, SendOptions
from newsletter.transports.sendgrid import (
    _Entries,
    _substitution_keys,
    prepare_payload,
    sendgrid_name,
    serialise,
)
from tests.delivery_support import sample_issue

BASE = "https://news.example.com/unsubscribe/"


def reference(
    messages: list[PersonalMessage], settings: SendGridSettings, options: SendOptions
) -> dict[str, Any]:
    """The body as a dict, built field by field from SendGrid's v3 Mail Send shape: what
    the transport built before it wrote the JSON text itself."""
    issue = messages[0].issue
    asm = settings.asm_group_id is not None
    marker = issue.unsubscribe_placeholder
    urls = [m.recipient.unsubscribe_url for m in messages]
    split = any(html.escape(url, quote=True) != url for url in urls)
    html_key, text_key = (marker + "/html", marker + "/text") if split else (marker, marker)
    pref = issue.preferences_placeholder  # issue 14: the footer's preference page link
    pref_urls = [m.recipient.preferences_link for m in messages]
    pref_split = any(html.escape(url, quote=True) != url for url in pref_urls)
    pref_html, pref_text = (pref + "/html", pref + "/text") if pref_split else (pref, pref)
    entries = []
    for message in messages:
        recipient = message.recipient
        to = {"email": recipient.email}
        name = sendgrid_name(recipient.name)
        if name:
            to["name"] = name
        entry: dict[str, Any] = {"to": [to]}
        substitutions: dict[str, str] = {}
        if not asm:
            url = recipient.unsubscribe_url
            substitutions.update(
                {html_key: html.escape(url, quote=True), text_key: url}
                if split
                else {html_key: url}
            )
        if pref:
            url = recipient.preferences_link
            substitutions.update(
                {pref_html: html.escape(url, quote=True), pref_text: url}
                if pref_split
                else {pref_html: url}
            )
        if substitutions:
            entry["substitutions"] = substitutions
        if asm:
            entry["headers"] = {"Message-ID": message.message_id}
        else:
            url = recipient.unsubscribe_url
            entry["headers"] = {
                "Message-ID": message.message_id,
                "List-Unsubscribe": list_unsubscribe_value(url, issue.unsubscribe_mailto),
            }
        if recipient.subscriber_id is not None:
            entry["custom_args"] = {"subscriber_id": str(recipient.subscriber_id)}
        entries.append(entry)
    tag = "<%asm_group_unsubscribe_raw_url%>"
    body: dict[str, Any] = {
        "personalizations": entries,
        "from": {"email": issue.from_email, "name": issue.from_name},
        "subject": issue.subject,
        "content": [
            {
                "type": "text/plain",
                "value": issue.text.replace(marker, tag if asm else text_key).replace(
                    pref, pref_text
                )
                if pref
                else issue.text.replace(marker, tag if asm else text_key),
            },
            {
                "type": "text/html",
                "value": issue.html.replace(marker, tag if asm else html_key).replace(
                    pref, pref_html
                )
                if pref
                else issue.html.replace(marker, tag if asm else html_key),
            },
        ],
        "headers": {"List-Id": issue.list_id_header.value},
        "custom_args": {"issue": issue.issue_id, "list": issue.list_name},
    }
    if issue.reply_to:
        body["reply_to"] = {"email": issue.reply_to}
    if asm:
        body["asm"] = {"group_id": settings.asm_group_id}
    else:
        body["headers"]["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if issue.categories:
        body["categories"] = list(issue.categories)
    if options.preview:
        body["custom_args"]["preview"] = "true"
    body["tracking_settings"] = {  # issue 15: said in every request, off by default
        "click_tracking": {"enable": issue.click_tracking, "enable_text": False}
    }
    if settings.sandbox:
        body["mail_settings"] = {"sandbox_mode": {"enable": True}}
    if options.send_at is not None:
        body["send_at"] = options.send_at
    if options.batch_id is not None:
        body["batch_id"] = options.batch_id
    return body


READERS = [
    Recipient("plain@example.com", BASE + "1.abc", "Plain Reader", 1),
    Recipient("comma@example.com", BASE + "2.abc", "Doe, Jane", 2),
    Recipient("uni@example.com", BASE + "3.abc", "Ана «Ю» \u2028 Li", 3),
    Recipient("quote@example.com", BASE + "4.abc", 'Back\\slash "Q" ; x', 4),
    Recipient("noname@example.com", BASE + "5.abc", None, 5),
    Recipient("noid@example.com", BASE + "6.abc", "No Id", None),
    Recipient("emoji@example.com", BASE + "7.abc", "😀 </script>", 7),
]


def messages(readers: list[Recipient], mailto: str | None = None) -> list[PersonalMessage]:
    issue = replace(sample_issue(), unsubscribe_mailto=mailto)
    return [issue.personalise(reader) for reader in readers]


@pytest.mark.parametrize(
    ("readers", "settings", "options", "mailto"),
    [
        (READERS, SendGridSettings(), SendOptions(), None),
        (READERS, SendGridSettings(), SendOptions(), "leave@example.com"),
        (READERS, SendGridSettings(asm_group_id=42), SendOptions(), None),
        (READERS, SendGridSettings(sandbox=True), SendOptions(preview=True), None),
        (READERS, SendGridSettings(), SendOptions(send_at=1_900_000_000, batch_id="b1"), None),
        # Each reader's own preference page (issue 14): a second substitution per reader.
        (
            [
                Recipient(
                    r.email, r.unsubscribe_url, r.name, r.subscriber_id, f"{r.unsubscribe_url}/p"
                )
                for r in READERS
            ],
            SendGridSettings(),
            SendOptions(),
            None,
        ),
        (
            [
                Recipient(
                    r.email, r.unsubscribe_url, r.name, r.subscriber_id, f"{r.unsubscribe_url}/p&"
                )
                for r in READERS
            ],
            SendGridSettings(asm_group_id=42),
            SendOptions(),
            None,
        ),
        # A URL that HTML escaping changes: an HTML key and a text key, the HTML value escaped.
        (
            [*READERS, Recipient("amp@example.com", BASE + "8.a&b'c", "Amp", 8)],
            SendGridSettings(),
            SendOptions(),
            None,
        ),
    ],
    ids=[
        "plain",
        "mailto",
        "asm",
        "sandbox-preview",
        "scheduled",
        "preferences",
        "asm-preferences-special",
        "html-special-url",
    ],
)
def test_text_body_is_the_json_of_the_dict(
    readers: list[Recipient],
    settings: SendGridSettings,
    options: SendOptions,
    mailto: str | None,
) -> None:
    """Byte for byte: the body prepared as text equals the compact JSON of the request
    built as a dict, for names with commas, quotes, backslashes, line separators and
    non-ASCII, no name, no subscriber id, an ASM group, scheduling and a URL with HTML
    specials; and it parses back to that dict."""
    batch = messages(readers, mailto)
    prepared = prepare_payload(batch, settings, options)
    expected = reference(batch, settings, options)
    assert prepared.failed == {}
    assert prepared.body == serialise(expected)
    assert json.loads(prepared.body or "") == expected
    # The dispatcher's batch of columns (the same readers, the same Message-IDs): the same body.
    columns = replace(sample_issue(), unsubscribe_mailto=mailto).personalise_many(readers)
    assert prepare_payload(columns, settings, options).body == prepared.body


def test_unsendable_reader_fails_alone_in_the_text_body() -> None:
    """A reader whose address cannot be sent, or who repeats an address of the batch, is
    failed alone; the body carries the others, exactly as the dict would."""
    readers = [
        READERS[0],
        Recipient("ünï@example.com", BASE + "9.abc", "Bad", 9),
        Recipient("PLAIN@example.com", BASE + "10.abc", "Again", 10),
        READERS[1],
    ]
    batch = messages(readers)
    prepared = prepare_payload(batch, SendGridSettings(), SendOptions())
    assert prepared.carried == [0, 3]
    assert {i: r.outcome for i, r in prepared.failed.items()} == {
        1: Outcome.FAILED,
        2: Outcome.FAILED,
    }
    assert "appears twice" in (prepared.failed[2].error or "")
    carried = [batch[0], batch[3]]
    assert prepared.body == serialise(reference(carried, SendGridSettings(), SendOptions()))


_NAMES = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.text(alphabet=' ,;=?"\\abcAB', max_size=12),
    st.sampled_from(["Plain Reader", " lead", "trail ", "two  spaces", "=?utf-8?q?x?=", "x" * 70]),
)
_ADDRESSES = st.sampled_from(
    [
        "plain@example.com",
        "MiXed@Example.COM",
        "ünï@example.com",
        "a=?b@example.com",
        "x@xn--d1a.kz",
    ]
)
_URLS = st.sampled_from(
    [BASE + "1.abc", BASE + "2.a&b", BASE + "3.a b", BASE + "4.ü", BASE + "5." + "x" * 990]
)


@settings(max_examples=150, deadline=None)
@given(
    readers=st.lists(
        st.tuples(_ADDRESSES, _URLS, _NAMES, st.one_of(st.none(), st.integers(1, 2**63 - 1))),
        min_size=1,
        max_size=6,
    ),
    preferences=st.booleans(),
    mailto=st.sampled_from([None, "leave@example.com"]),
    asm=st.booleans(),
)
def test_the_batch_writer_writes_what_the_entry_writer_writes(
    readers: list[tuple[str, str, str | None, int | None]],
    preferences: bool,
    mailto: str | None,
    asm: bool,
) -> None:
    """`_Entries.entries` (a batch's plain readers written inline) gives, reader by
    reader, exactly `_Entries.entry`'s text or MessageError, whatever the names,
    addresses, URLs, preference links, mailto and ASM group."""
    issue = replace(sample_issue(), unsubscribe_mailto=mailto)
    batch = [
        PersonalMessage(
            issue,
            Recipient(email, url, name, subscriber_id, url + "/p" if preferences else ""),
            f"<m{n}@example.com>",
        )
        for n, (email, url, name, subscriber_id) in enumerate(readers)
    ]
    no_unsubscribe = asm
    keys = _substitution_keys(issue, batch, no_unsubscribe)
    writer = _Entries(keys, no_unsubscribe, bool(issue.preferences_placeholder))

    def one(message: PersonalMessage) -> tuple[str, str] | str:
        try:
            return writer.entry(message)
        except MessageError as err:
            return err.message

    written = [
        (i, got.message if isinstance(got, MessageError) else got)
        for i, got in writer.entries(batch)
    ]
    assert written == [(i, one(m)) for i, m in enumerate(batch)]
    # The same readers as a batch of columns (the dispatcher's): the same entries.
    columns = PersonalBatch(
        issue,
        [m.recipient.email for m in batch],
        [m.recipient.name for m in batch],
        [m.recipient.subscriber_id for m in batch],
        [m.recipient.unsubscribe_url for m in batch],
        [m.recipient.preferences_url for m in batch],
        [m.message_id for m in batch],
    )
    assert _substitution_keys(issue, columns, no_unsubscribe) == keys
    from_columns = [
        (i, got.message if isinstance(got, MessageError) else got)
        for i, got in writer.entries(columns)
    ]
    assert from_columns == written


_PLAIN_ADDRESSES = st.sampled_from(
    ["plain@example.com", "MiXed@Example.COM", "o'brien+tag@sub.example.co", "x@xn--d1a.kz"]
)
_PLAIN_NAMES = st.one_of(
    st.none(), st.sampled_from(["Plain Reader", "A", "x" * MAX_NAME, "O'Brien", "J. R. R. T"])
)
_PLAIN_URLS = st.sampled_from([BASE + "1.abc", BASE + "2.a-b_c", BASE + "3." + "x" * 900])
# Values `entries` writes another way than a plain reader's (or refuses), by field of a
# reader: address, unsubscribe URL, name, subscriber id, preference page, Message-ID.
_ODD_VALUES: dict[int, list[Any]] = {
    0: ["ünï@example.com", "a=?b@example.com", "a@example.com\nb@example.com", "no-at", ""],
    1: [
        *(BASE + tail for tail in ("2.a&b", "3.a b", "4.ü", '6.a"b', "7.a\\b", "8.\t")),
        BASE + "9." + "x" * 1000,
    ],
    2: [
        *("", " lead", "trail ", "two  spaces", "=?utf-8?q?x?=", "x" * (MAX_NAME + 1)),
        *("a,b", "a;b", "a, b", "a ,b", 'a"b', "a\\b", "tab\tname", "ünï", "a\u2028b"),
    ],
    3: [None, True],  # no id; an id that is not a plain int (the store gives ints)
    4: ['/p"q', "/\\", "/\x00", "/ü"],
    5: ['<m"1@example.com>', "<m\\1@example.com>", "<m\t1@x>"],
}


def _whole_and_entries(
    rows: list[list[Any]], preferences: bool, mailto: str | None
) -> tuple[tuple[list[str], list[str]] | None, list[tuple[str, str] | MessageError]]:
    """`whole` and `entries` of a batch of (address, URL, name, id, page, Message-ID) rows."""
    issue = replace(sample_issue(), unsubscribe_mailto=mailto)
    if not preferences:
        issue = replace(issue, preferences_placeholder="")
    pages = [row[1] + row[4] if row[4] else "" for row in rows]
    # PersonalBatch's order: emails, names, ids, unsubscribe URLs, preference URLs, Message-IDs
    columns = PersonalBatch(
        issue, *([row[i] for row in rows] for i in (0, 2, 3, 1)), pages, [r[5] for r in rows]
    )
    keys = _substitution_keys(issue, columns, False)
    writer = _Entries(keys, False, bool(issue.preferences_placeholder))
    return writer.whole(columns), [got for _, got in writer.entries(columns)]


def _plain_rows(count: int) -> list[list[Any]]:
    return [
        [
            f"reader{n}@example.com",
            BASE + f"{n}.abc",
            f"Reader {n}" if n % 2 else None,
            n,
            "/p",
            f"<m{n}@example.com>",
        ]
        for n in range(1, count + 1)
    ]


@pytest.mark.parametrize("where", [0, 2])  # first and last: the joined checks' edges
@pytest.mark.parametrize("preferences", [False, True])
@pytest.mark.parametrize(
    ("field", "value"),
    [(field, value) for field, values in _ODD_VALUES.items() for value in values],
)
def test_one_odd_value_is_never_written_as_if_plain(
    field: int, value: Any, preferences: bool, where: int
) -> None:
    """A batch of plain readers but one, with one odd value (each kind `entries` checks
    for, one at a time): `whole` either declines or writes exactly `entries`' texts."""
    rows = _plain_rows(3)
    rows[where][field] = value
    whole, expected = _whole_and_entries(rows, preferences, None)
    if whole is not None:
        assert list(zip(*whole, strict=True)) == expected


@settings(max_examples=300, deadline=None)
@given(
    readers=st.lists(
        st.tuples(
            _PLAIN_ADDRESSES,
            _PLAIN_URLS,
            _PLAIN_NAMES,
            st.integers(1, 2**63 - 1),
            st.sampled_from(["", "/p"]),
        ),
        min_size=1,
        max_size=6,
    ),
    odd=st.one_of(
        st.none(),
        st.tuples(st.sampled_from(sorted(_ODD_VALUES)), st.integers(0, 20)),
        st.tuples(st.just(2), st.text(alphabet=' ,;=?"\\abcAB', max_size=12)),
    ),
    where=st.integers(0, 5),
    preferences=st.booleans(),
    mailto=st.sampled_from([None, None, "leave@example.com"]),
)
def test_the_whole_batch_writer_writes_what_entries_writes(
    readers: list[tuple[str, str, str | None, int, str]],
    odd: tuple[int, Any] | None,
    where: int,
    preferences: bool,
    mailto: str | None,
) -> None:
    """`_Entries.whole` (a batch checked as a whole, each reader one %-format) gives
    exactly what `entries` gives, reader by reader, whenever it answers at all; and it
    answers for a batch whose readers are all plain (the usual batch)."""
    rows: list[list[Any]] = [
        [email, url, name, subscriber_id, page, f"<m{n}@example.com>"]
        for n, (email, url, name, subscriber_id, page) in enumerate(readers)
    ]
    if odd is not None:
        field, value = odd
        if isinstance(value, int):  # an index into that field's odd values
            value = _ODD_VALUES[field][value % len(_ODD_VALUES[field])]
        rows[where % len(rows)][field] = value
    whole, expected = _whole_and_entries(rows, preferences, mailto)
    if whole is not None:
        assert list(zip(*whole, strict=True)) == expected
    if odd is None and mailto is None:
        assert whole is not None, "a batch of plain readers was not written whole"


def test_a_plain_batch_is_written_whole_and_prepared_as_the_dict() -> None:
    """The dispatcher's usual batch (plain readers as columns) goes through `whole`, and
    its request body is still byte for byte the JSON of the dict."""
    readers = [
        Recipient(f"reader{n}@example.com", BASE + f"{n}.abc", f"Reader {n}" if n % 2 else None, n)
        for n in range(1, 40)
    ]
    columns = sample_issue().personalise_many(readers)
    keys = _substitution_keys(columns.issue, columns, False)
    writer = _Entries(keys, False, bool(columns.issue.preferences_placeholder))
    assert writer.whole(columns) is not None
    prepared = prepare_payload(columns, SendGridSettings(), SendOptions())
    assert prepared.failed == {}
    assert prepared.carried == list(range(len(readers)))
    expected = reference(list(columns), SendGridSettings(), SendOptions())
    assert prepared.body == serialise(expected)
