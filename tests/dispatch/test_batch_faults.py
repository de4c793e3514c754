"""One reader's bad message never puts a whole batch in doubt (issue 9, item 3).

Fake transports that fail on one particular reader, in each way a transport can:
the message cannot be built, the transport refuses to build the batch, it writes
some messages and then crashes, it is down for now. Every reader ends in the
state that is true for them: failed (with the reason) only for the bad one,
accepted for those handed over, pending for those never tried, ambiguous only
where nobody can know.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from newsletter.api.sending import linked_recipients
from newsletter.dispatch.engine import SendRequest
from newsletter.errors import (
    EXIT_INTERNAL,
    InternalError,
    MessageError,
    TransientDeliveryError,
)
from newsletter.message import PersonalMessage
from newsletter.message.links import UnsubscribeLinks
from newsletter.secrets import signing_secret
from newsletter.transports import Outcome, Result, SendOptions
from newsletter.transports.memory import MemoryTransport
from tests.dispatch.clirun import DIGEST, Project
from tests.dispatch.support import World

BAD = "reader0000042@example.com"  # the one reader every fake here trips over


class RefusesToBuild(MemoryTransport):
    """Builds one payload per batch (as SendGrid does) and refuses a batch naming BAD."""

    def send(self, messages: Sequence[PersonalMessage], options: SendOptions) -> list[Result]:
        if any(m.recipient.email == BAD for m in messages):
            raise MessageError(f"cannot encode the address {BAD}")
        return super().send(messages, options)


class CrashesMidBatch(MemoryTransport):
    """Writes messages one by one (as the outbox does) and crashes on `bad`'s, once the
    messages before it are already written."""

    def __init__(self, max_batch: int, bad: str = BAD) -> None:
        super().__init__(max_batch)
        self.bad = bad

    def send(self, messages: Sequence[PersonalMessage], options: SendOptions) -> list[Result]:
        for n, message in enumerate(messages):
            if message.recipient.email == self.bad:
                super().send(messages[:n], options)
                raise ValueError("write failed half-way")
        return super().send(messages, options)


class FailsOneReader(MemoryTransport):
    """The transport contract done right: BAD's message is failed, the rest accepted."""

    def send(self, messages: Sequence[PersonalMessage], options: SendOptions) -> list[Result]:
        good = [m for m in messages if m.recipient.email != BAD]
        accepted = iter(super().send(good, options))
        return [
            Result(m.recipient, Outcome.FAILED, error="mailbox name not allowed")
            if m.recipient.email == BAD
            else next(accepted)
            for m in messages
        ]


class BadLinkFor:
    """Unsubscribe links, one of them unusable in a header (the reader's message cannot
    be built: personalise raises MessageError)."""

    def __init__(self, links: UnsubscribeLinks, subscriber_id: int) -> None:
        self.links = links
        self.subscriber_id = subscriber_id

    def __call__(self, subscriber_id: int) -> str:
        url = self.links(subscriber_id)
        return url + "\r\nBcc: x@example.com" if subscriber_id == self.subscriber_id else url


def states(world: World) -> dict[str, str]:
    """Every reader's delivery state in the ledger, by address."""
    record = world.store.sends.find_send(world.issue.issue_id, "weekly")
    assert record is not None
    found = {}
    for state in ("pending", "sending", "accepted", "failed", "ambiguous"):
        for email, _ in world.store.sends.deliveries_in(record.id, state, limit=10_000):
            found[email] = state
    return found


def test_message_that_cannot_be_built_fails_for_that_reader_only(any_world: World) -> None:
    """personalise raising for one reader: that reader is failed with the reason, the
    rest of the batch and every other batch are sent, the send finishes."""
    emails = any_world.subscribe(250)
    bad_id = any_world.store.subscribers.ensure_subscriber(BAD).id
    transport = MemoryTransport(max_batch=100)
    dispatcher = any_world.dispatcher(transport)
    links = UnsubscribeLinks(any_world.config, signing_secret())
    dispatcher.recipient_of = linked_recipients(BadLinkFor(links, bad_id))
    report = dispatcher.send(SendRequest(any_world.issue, "weekly", "memory"))
    assert report.counts == {"accepted": 249, "failed": 1}
    assert report.send.state == "finished"
    assert sorted(transport.recipients()) == sorted(set(emails) - {BAD})
    [(email, error)] = any_world.store.sends.deliveries_in(report.send.id, "failed")
    assert email == BAD
    assert error.startswith("message could not be built: unsubscribe URL contains characters")


def test_transport_refusing_to_build_a_batch_isolates_the_reader(world: World) -> None:
    """A transport raising MessageError for a batch (nothing handed over) gets the batch
    again in halves until the bad reader is alone: only they fail, nobody twice."""
    world.subscribe(250)
    transport = RefusesToBuild(max_batch=100)
    report = world.send(transport, concurrency=1)
    assert report.counts == {"accepted": 249, "failed": 1}
    assert states(world)[BAD] == "failed"
    assert set(Counter(transport.recipients()).values()) == {1}
    assert BAD not in transport.recipients()
    reason = world.store.sends.deliveries_in(report.send.id, "failed")[0][1]
    assert reason == f"message could not be built: cannot encode the address {BAD}"


def test_per_reader_failure_from_the_transport_is_recorded_per_reader(world: World) -> None:
    """A transport answering FAILED for one reader: that reader failed, the batch's
    others accepted; `retry --ambiguous` then resends to the failed reader alone."""
    world.subscribe(150)
    report = world.send(FailsOneReader(max_batch=100), concurrency=1)
    assert report.counts == {"accepted": 149, "failed": 1}
    again = MemoryTransport()
    request = SendRequest(world.issue, "weekly", "memory", retry_states=("failed", "ambiguous"))
    world.dispatcher(again).send(request)
    assert again.recipients() == [BAD]


def test_crash_mid_batch_is_ambiguous_for_that_batch_only(world: World) -> None:
    """A transport crashing with an unforeseen error after writing part of a batch: that
    batch is ambiguous (with the reason), earlier batches accepted, later ones pending;
    the send is paused and an InternalError (not the raw error) is raised."""
    world.subscribe(300)
    in_second_batch = "reader0000142@example.com"
    with pytest.raises(InternalError, match="ValueError: write failed half-way") as raised:
        world.send(CrashesMidBatch(max_batch=100, bad=in_second_batch), concurrency=1)
    assert isinstance(raised.value.__cause__, ValueError)
    record = world.store.sends.find_send(world.issue.issue_id, "weekly")
    assert record is not None
    assert record.state == "paused"
    assert world.store.sends.send_counts(record.id) == {
        "accepted": 100,
        "ambiguous": 100,
        "pending": 100,
    }
    error = world.store.sends.deliveries_in(record.id, "ambiguous", limit=1)[0][1]
    assert "memory transport failed unexpectedly: ValueError: write failed half-way" in error
    # A plain rerun sends the pending ones and leaves the ambiguous batch alone.
    resumed = world.send(MemoryTransport(max_batch=100), concurrency=1)
    assert resumed.counts == {"accepted": 200, "ambiguous": 100}


def test_transient_error_raised_before_handing_over_is_pending(world: World) -> None:
    """A transport raising TransientDeliveryError handed nothing over: the batch goes
    back to pending and a later pass sends it; nobody is ambiguous."""
    world.subscribe(200)

    class DownOnce(MemoryTransport):
        def send(self, messages: Sequence[PersonalMessage], options: SendOptions) -> list[Result]:
            if self.calls == 0:
                self.calls += 1
                raise TransientDeliveryError("connection refused")
            return super().send(messages, options)

    report = world.send(DownOnce(max_batch=100), concurrency=1)
    assert report.counts == {"accepted": 200}


def test_wrong_number_of_answers_is_ambiguous_not_misattributed(world: World) -> None:
    """A transport answering fewer results than messages is a bug: nobody's outcome is
    guessed from the wrong result; that batch is ambiguous and the send stops."""
    world.subscribe(100)

    class Short(MemoryTransport):
        def send(self, messages: Sequence[PersonalMessage], options: SendOptions) -> list[Result]:
            return super().send(messages, options)[:-1]

    with pytest.raises(InternalError, match="answered 99 results for 100 messages"):
        world.send(Short(max_batch=100), concurrency=1)
    record = world.store.sends.find_send(world.issue.issue_id, "weekly")
    assert record is not None
    assert world.store.sends.send_counts(record.id) == {"ambiguous": 100}


def test_no_message_could_be_built_pauses_instead_of_failing_everyone(world: World) -> None:
    """When not one message of several batches in a row can be built (a systematic
    fault), the send pauses after `pause_after` batches rather than failing the list."""
    world.subscribe(500)
    transport = MemoryTransport(max_batch=100)
    dispatcher = world.dispatcher(transport, concurrency=1, pause_after=2)

    def broken(subscriber_id: int) -> str:
        return "http://example.com/unsubscribe/x"  # not https: no message can be built

    dispatcher.recipient_of = linked_recipients(broken)
    report = dispatcher.send(SendRequest(world.issue, "weekly", "memory"))
    assert report.counts == {"failed": 200, "pending": 300}
    assert report.send.state == "paused"
    assert "2 batches in a row in which no message could be built" in str(report.note)
    assert transport.calls == 0


@pytest.fixture
def project(tmp_path: Path) -> Project:
    made = Project(tmp_path)
    made.write_config()
    return made


def test_cli_turns_an_unexpected_send_error_into_one_line(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI never shows a traceback: an unforeseen transport error is one clear line
    and exit 9, and the ledger says where everyone stands."""
    emails = project.subscribe(150)
    assert BAD in emails
    monkeypatch.setattr(
        "newsletter.api.sending.open_transport",
        lambda config, name, pacer: CrashesMidBatch(max_batch=100),
    )
    result = project.run("send", str(DIGEST), "--list", "weekly")
    assert result.exit_code == EXIT_INTERNAL, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    stopped = [line for line in result.stderr.splitlines() if line.startswith("sending stopped")]
    assert stopped == [
        "sending stopped: the memory transport failed unexpectedly (ValueError: write failed "
        "half-way); 100 recipients of that request marked ambiguous, everyone not yet sent "
        "to stays pending"
    ]
    with project.store() as store:
        record = store.sends.find_send("2025-09-12", "weekly")
        assert record is not None
        # The second batch was already in flight (concurrency 4) and went through.
        assert store.sends.send_counts(record.id) == {"accepted": 50, "ambiguous": 100}
    status = project.run("status", "2025-09-12")
    assert "accepted 50 · ambiguous 100" in status.stdout


def test_cli_turns_any_other_unexpected_error_into_one_line(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside the dispatcher too (here the transport fails to open), an unforeseen
    exception is one line and exit 9, never a traceback."""

    def broken(config: object, name: object, pacer: object) -> None:
        raise OSError("no route to the outbox disk")

    monkeypatch.setattr("newsletter.api.sending.open_transport", broken)
    project.subscribe(1)
    result = project.run("send", str(DIGEST), "--list", "weekly")
    assert result.exit_code == EXIT_INTERNAL, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert result.stderr.startswith("unexpected error: OSError: no route to the outbox disk\n")
