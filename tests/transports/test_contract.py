"""The transport contract: every transport delivers the same messages the same way,
and answers each of the four outcomes and a refused option the same way.

Run against the outbox, SendGrid (the real client against the
SendGrid-compatible server), SMTP (a real aiosmtpd server), all on loopback, and
the in-memory transport; also at the concurrency the dispatcher uses them with.
How each harness arranges an outcome is tabled in harness.py.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from newsletter.errors import DeliveryHaltedError, UnsupportedFeatureError
from newsletter.message import PersonalMessage, Recipient
from newsletter.transports import Outcome, Result, SendOptions, Transport, scheduler_of
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


def send_collect(transport: Transport, messages: Sequence[PersonalMessage]) -> list[Result]:
    """One batch's results, whether returned or carried by DeliveryHaltedError (the
    outbox's way of saying it cannot go on for now)."""
    try:
        return transport.send(messages, SendOptions())
    except DeliveryHaltedError as halted:
        return halted.results


def test_accepted_results_carry_provider_ids(harness: Harness) -> None:
    """Accepted: one result per message, in order, each with the id the transport
    gives (SendGrid's X-Message-Id, the Message-ID for outbox and SMTP, mem-N)."""
    messages = personal_messages(3)
    transport = harness.transport()
    results = transport.send(messages, SendOptions())
    transport.close()
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 3
    assert all(r.provider_id for r in results), results
    assert all(r.error is None for r in results)


def test_a_reader_refused_for_good_fails_alone_with_the_providers_words(
    harness: Harness,
) -> None:
    """Failed: a reader refused for good (SendGrid 400 naming them, SMTP 550, memory's
    scripted failure, an unbuildable message in the outbox) is FAILED with the
    provider's own words and never delivered; the other readers are delivered once."""
    first, second, third = personal_messages(3)
    batch = [first, harness.refuse_for_good(second), third]
    transport = harness.transport()
    results = transport.send(batch, SendOptions())
    transport.close()
    assert [r.recipient for r in results] == [m.recipient for m in batch]
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.FAILED, Outcome.ACCEPTED]
    assert harness.refusal_words in str(results[1].error)
    assert sorted(d.to for d in harness.delivered()) == [
        first.recipient.email,
        third.recipient.email,
    ]


def test_deferred_is_not_delivered_and_goes_out_once_later(harness: Harness) -> None:
    """Deferred: each way the transport defers (SendGrid 429 and 503, SMTP 421 and 451
    on every attempt, memory's scripted deferral, an outbox folder that cannot be
    written) gives every message DEFERRED with a reason and delivers nothing; sent
    again once the cause is gone, each is delivered exactly once."""
    batches = international_batches(len(harness.deferrals), 2)
    delivered = 0
    for kind, batch in zip(harness.deferrals, batches, strict=True):
        harness.defer(kind, batch)
        transport = harness.transport()
        results = send_collect(transport, batch)
        transport.close()
        assert [r.outcome for r in results] == [Outcome.DEFERRED] * 2, kind
        assert all(r.error for r in results), kind
        assert len(harness.delivered()) == delivered, kind
        harness.recover()
        transport = harness.transport()
        again = send_collect(transport, batch)
        transport.close()
        assert [r.outcome for r in again] == [Outcome.ACCEPTED] * 2, kind
        delivered += 2
        got = Counter(d.to for d in harness.delivered())
        assert all(got[m.recipient.email] == 1 for m in batch), (kind, got)
        assert len(harness.delivered()) == delivered, kind


def test_a_lost_answer_is_ambiguous_and_never_resent(harness: Harness) -> None:
    """Ambiguous: the message arrived but its answer was lost (SendGrid's connection
    cut after the request was read, SMTP's dropped after DATA, memory's scripted
    ambiguity): AMBIGUOUS with a reason, and the transport does not send it again by
    itself, so it arrived exactly once. (The outbox cannot lose an answer; its
    ambiguity, a kill mid-batch, is tests/dispatch/test_kill_transports.py.)"""
    harness.lose_answer()
    (message,) = personal_messages(1)
    transport = harness.transport()
    results = transport.send([message], SendOptions())
    transport.close()
    assert [r.outcome for r in results] == [Outcome.AMBIGUOUS]
    assert results[0].error
    assert [d.to for d in harness.delivered()] == [message.recipient.email]


def test_options_it_cannot_honour_are_refused_before_anything_is_sent(harness: Harness) -> None:
    """Refused options: a transport that cannot schedule raises UnsupportedFeatureError
    (exit 3) for send_at and for batch_id, and scheduler_of says so with the CLI's
    words; nothing is sent. SendGrid, a Scheduler, accepts send_at with a batch id it
    created and passes both on. A preview is honoured by every transport."""
    messages = personal_messages(2)
    transport = harness.transport()
    send_at = int(time.time()) + 3600  # SendGrid takes at most 72 h ahead
    assert {r.outcome for r in transport.send(messages, SendOptions(preview=True))} == {
        Outcome.ACCEPTED
    }
    previews = len(harness.delivered())
    if harness.schedules:
        batch_id = scheduler_of(transport).create_batch()
        results = transport.send(messages, SendOptions(send_at=send_at, batch_id=batch_id))
        assert {r.outcome for r in results} == {Outcome.ACCEPTED}
        assert isinstance(harness, SendGridHarness)
        body = harness.server.accepted[-1].body
        assert body is not None
        assert (body["send_at"], body["batch_id"]) == (send_at, batch_id)
    else:
        for options in (SendOptions(send_at=send_at), SendOptions(batch_id="b1")):
            with pytest.raises(UnsupportedFeatureError, match=f"the {harness.name} transport"):
                transport.send(messages, options)
        with pytest.raises(UnsupportedFeatureError) as schedule:
            scheduler_of(transport)
        assert schedule.value.message == (
            f"--at needs the sendgrid transport; {harness.name} cannot schedule a send"
        )
        with pytest.raises(UnsupportedFeatureError) as cancel:
            scheduler_of(transport, "cancel")
        assert cancel.value.message == f"the {harness.name} transport cannot cancel sends"
        assert len(harness.delivered()) == previews
    transport.close()
