"""The transport contract: every transport delivers the same messages the same way.

Run against the outbox, SendGrid (the real client against the
SendGrid-compatible server), SMTP (a real aiosmtpd server), all on loopback, and
the in-memory transport; also at the concurrency the dispatcher uses them with.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from newsletter.message import PersonalMessage, Recipient
from newsletter.transports import Outcome, Result, SendOptions, Transport
from tests.delivery_support import PUBLIC, personal_messages, sample_issue
from tests.transports.harness import (
    Harness,
    MemoryHarness,
    OutboxHarness,
    SendGridHarness,
    SmtpHarness,
    sendgrid_server,
    smtp_server,
)

TOKEN = re.compile(r"/unsubscribe/([0-9]+\.token[0-9]+)")
CONCURRENCY = 4  # delivery.concurrency's default
NAMES = ("Zoë Ünal", "Łukasz Żółć", "李小龍", "Ольга Петрова", "José “Pepe” Núñez")


@pytest.fixture(params=["outbox", "sendgrid", "smtp", "memory"])
def harness(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Harness]:
    if request.param == "outbox":
        yield OutboxHarness(tmp_path)
    elif request.param == "memory":
        yield MemoryHarness()
    elif request.param == "sendgrid":
        with sendgrid_server(monkeypatch) as server:
            yield SendGridHarness(server)
    else:
        with smtp_server() as (port, collector, _):
            yield SmtpHarness(port, collector)


def test_each_recipient_gets_exactly_one_message(harness: Harness) -> None:
    """A batch of 7 yields 7 accepted results, in order, and 7 delivered messages."""
    messages = personal_messages(7)
    transport = harness.transport()
    results = transport.send(messages, SendOptions())
    transport.close()
    assert [r.recipient for r in results] == [m.recipient for m in messages]
    assert {r.outcome for r in results} == {Outcome.ACCEPTED}
    delivered = sorted(d.to for d in harness.delivered())
    assert delivered == sorted(m.recipient.email for m in messages)


def test_messages_are_personalised(harness: Harness) -> None:
    """Each message carries its own recipient's unsubscribe URL in text, HTML and header."""
    messages = personal_messages(3)
    transport = harness.transport()
    transport.send(messages, SendOptions())
    transport.close()
    urls = {m.recipient.email: m.recipient.unsubscribe_url for m in messages}
    for got in harness.delivered():
        url = urls[got.to]
        assert f"Unsubscribe: {url}" in got.text
        assert f'href="{url}"' in got.html
        assert got.headers["list-unsubscribe"] == f"<{url}>"
        assert got.headers["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"
        assert got.headers["list-id"].endswith("<weekly.astanatimes.com>")
        assert ".invalid/" not in got.text + got.html


def test_subject_and_content_are_the_issue(harness: Harness) -> None:
    """Subject, the text part and the HTML part are those of the rendered issue."""
    issue = sample_issue()
    transport = harness.transport()
    transport.send([issue.personalise(r.recipient) for r in personal_messages(1)], SendOptions())
    transport.close()
    (got,) = harness.delivered()
    assert got.subject == issue.subject
    assert got.text.startswith("THE ASTANA TIMES · FOREIGN MEDIA DIGEST")
    assert "<blockquote" in got.html


def test_empty_batch_sends_nothing(harness: Harness) -> None:
    """Sending no messages is a no-op with no results."""
    assert harness.transport().send([], SendOptions()) == []
    assert harness.delivered() == []


def test_batches_reuse_the_transport(harness: Harness) -> None:
    """Several batches through one transport object all arrive once."""
    messages = personal_messages(6)
    transport = harness.transport()
    for start in range(0, 6, 2):
        transport.send(messages[start : start + 2], SendOptions())
    transport.close()
    assert len(harness.delivered()) == 6


def international_batches(batches: int, size: int) -> list[list[PersonalMessage]]:
    """`batches` batches of `size` readers, every one with a non-ASCII display name
    and their own unsubscribe URL."""
    issue = sample_issue()
    numbers = iter(range(1, batches * size + 1))
    return [
        [
            issue.personalise(
                Recipient(
                    email=f"reader{n}@example.com",
                    name=f"{NAMES[n % len(NAMES)]} {n}",
                    subscriber_id=n,
                    unsubscribe_url=f"{PUBLIC}/unsubscribe/{n}.token{n}",
                )
            )
            for n in (next(numbers) for _ in range(size))
        ]
        for _ in range(batches)
    ]


def send_at_once(transport: Transport, batches: Sequence[list[PersonalMessage]]) -> list[Result]:
    """Each batch on its own thread, all released together, as the Dispatcher does."""
    start = threading.Barrier(len(batches))

    def one(batch: list[PersonalMessage]) -> list[Result]:
        start.wait()
        return transport.send(batch, SendOptions())

    with ThreadPoolExecutor(len(batches)) as pool:
        results = [r for batch_results in pool.map(one, batches) for r in batch_results]
    transport.close()
    return results


def test_concurrent_batches_each_reader_gets_exactly_their_own_message(
    harness: Harness,
) -> None:
    """4 threads sending different batches at once through one transport: every
    reader is accepted and receives exactly one message, addressed to them (To, display
    name, SMTP envelope) and carrying their own unsubscribe URL, nobody else's."""
    batches = international_batches(CONCURRENCY, 12)
    results = send_at_once(harness.transport(), batches)
    assert [r.error for r in results if r.outcome is not Outcome.ACCEPTED] == []
    readers = {m.recipient.email: m.recipient for batch in batches for m in batch}
    delivered = harness.delivered()
    assert Counter(d.to for d in delivered) == Counter(list(readers))  # each exactly once
    for got in delivered:
        reader = readers[got.to]
        assert got.to_name == reader.name
        assert got.envelope in (None, (reader.email,))
        assert got.headers["list-unsubscribe"] == f"<{reader.unsubscribe_url}>"
        assert f"Unsubscribe: {reader.unsubscribe_url}" in got.text
        assert f'href="{reader.unsubscribe_url}"' in got.html
        everywhere = got.text + got.html + got.headers["list-unsubscribe"]
        assert set(TOKEN.findall(everywhere)) == {reader.unsubscribe_url.rsplit("/", 1)[1]}
