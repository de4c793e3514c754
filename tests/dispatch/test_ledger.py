"""The ledger's promises: frozen audience, exactly once, resume, ambiguous never resent."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.csvio import CsvRow
from newsletter.dispatch.engine import SendRequest
from newsletter.errors import EXIT_CONFIG, AuthenticationError, ConfigError, InputError, LockedError
from newsletter.message import PersonalMessage, Recipient
from newsletter.states import DeliveryState, SendState
from newsletter.store import Claimed, LockHolder
from newsletter.transports import Outcome
from newsletter.transports.memory import MemoryTransport
from tests.dispatch.support import World, make_world


def test_audience_is_frozen_at_start(any_world: World) -> None:
    """Members added after the send started are not sent this issue."""
    any_world.subscribe(150)
    first_call = {"done": False}

    def add_latecomers(call: int, batch: Sequence[PersonalMessage]) -> Outcome | None:
        if not first_call["done"]:
            first_call["done"] = True
            any_world.subscribe(50, start=1000)
        return None

    transport = MemoryTransport(outcomes=add_latecomers)
    report = any_world.send(transport, concurrency=1)
    assert report.counts == {"accepted": 150}
    assert not any(email.startswith("reader0001") for email in transport.recipients())


def test_unsubscribe_during_send_removes_pending(any_world: World) -> None:
    """Someone who unsubscribes mid-send and has not been sent to yet is not sent to."""
    emails = any_world.subscribe(300)
    late = emails[-1]

    def unsubscribe_last(call: int, batch: Sequence[PersonalMessage]) -> Outcome | None:
        if call == 1:
            any_world.store.subscribers.unsubscribe(late, reason="clicked the link")
        return None

    transport = MemoryTransport(outcomes=unsubscribe_last)
    report = any_world.send(transport, concurrency=1, batch_size=100)
    assert late not in transport.recipients()
    assert report.counts == {"accepted": 299}
    assert report.send.removed == 1


def test_rerun_after_finish_sends_nothing(world: World) -> None:
    """A finished send is never sent again."""
    world.subscribe(120)
    transport = MemoryTransport()
    world.send(transport)
    world.send(transport)
    assert len(transport.recipients()) == 120


def test_crash_mid_batch_marks_it_ambiguous_and_resume_skips_it(any_world: World) -> None:
    """A batch left `sending` by a dead run becomes ambiguous; resume sends only pending."""
    any_world.subscribe(250)
    record = any_world.open_send()
    crashed = any_world.store.sends.claim_batch(
        record.id, 0, 100, 1
    )  # committed as sending; then death
    assert crashed is not None
    transport = MemoryTransport(max_batch=100)
    report = any_world.send(transport)
    assert report.interrupted_now == 100
    assert report.counts == {"accepted": 150, "ambiguous": 100}
    assert report.ambiguous_batches == 1
    crashed_emails = {c.email for c in crashed.claimed}
    assert crashed_emails.isdisjoint(transport.recipients())
    assert report.needs_attention


def test_retry_ambiguous_only_when_asked(world: World) -> None:
    """Ambiguous deliveries are resent only by an explicit retry with --ambiguous."""
    world.subscribe(200)
    transport = MemoryTransport(
        max_batch=100, outcomes=lambda call, batch: Outcome.AMBIGUOUS if call == 1 else None
    )
    report = world.send(transport, concurrency=1)
    assert report.counts == {"accepted": 100, "ambiguous": 100}
    plain = world.send(MemoryTransport())  # a plain re-run: nothing to do
    assert plain.counts == {"accepted": 100, "ambiguous": 100}
    from newsletter.dispatch.engine import SendRequest

    again = MemoryTransport()
    request = SendRequest(world.issue, "weekly", "memory", retry_states=("failed", "ambiguous"))
    retried = world.dispatcher(again).send(request)
    assert retried.counts == {"accepted": 200}
    assert len(again.recipients()) == 100


def test_deferred_batches_are_retried_in_a_later_pass(world: World) -> None:
    """A batch deferred (429/5xx exhausted) goes back to pending and is sent later."""
    world.subscribe(300)
    transport = MemoryTransport(
        max_batch=100, outcomes=lambda call, batch: Outcome.DEFERRED if call == 2 else None
    )
    report = world.send(transport, concurrency=1)
    assert report.counts == {"accepted": 300}
    assert sorted(Counter(transport.recipients()).values()) == [1] * 300


def test_too_many_deferred_in_a_row_pauses(any_world: World) -> None:
    """After `pause_after` fully deferred batches in a row the send pauses, state kept."""
    any_world.subscribe(500)
    down = MemoryTransport(max_batch=100, outcomes=lambda call, batch: Outcome.DEFERRED)
    report = any_world.send(down, concurrency=1, pause_after=3)
    assert report.send.state == "paused"
    assert "paused after 3 batches" in str(report.note)
    assert report.counts == {"pending": 500}
    assert down.calls == 3
    healthy = MemoryTransport(max_batch=100)
    resumed = any_world.send(healthy)
    assert resumed.counts == {"accepted": 500}
    assert resumed.send.state == "finished"


def test_failed_are_reported_and_retried_on_request(world: World) -> None:
    """Permanent failures are kept with their error; `retry` sends them again."""
    world.subscribe(150)
    transport = MemoryTransport(
        max_batch=100, outcomes=lambda call, batch: Outcome.FAILED if call == 1 else None
    )
    report = world.send(transport, concurrency=1)
    assert report.counts == {"accepted": 50, "failed": 100}
    assert (
        world.store.sends.deliveries_in(report.send.id, "failed", limit=1)[0][1]
        == "scripted failed"
    )
    from newsletter.dispatch.engine import SendRequest

    request = SendRequest(world.issue, "weekly", "memory", retry_states=("failed",))
    retried = world.dispatcher(MemoryTransport()).send(request)
    assert retried.counts == {"accepted": 150}


def test_auth_error_stops_at_once_and_keeps_everyone_pending(world: World) -> None:
    """401/403: the send stops, no one is marked failed, and a later run can resume."""
    world.subscribe(300)

    class Refusing(MemoryTransport):
        def send(self, messages: Sequence[PersonalMessage], options: object) -> list:  # type: ignore[override]
            raise AuthenticationError("SendGrid refused the API key (401)")

    with pytest.raises(AuthenticationError):
        world.send(Refusing(max_batch=100), concurrency=1)
    record = world.store.sends.find_send(world.issue.issue_id, "weekly")
    assert record is not None
    assert record.state == "paused"
    assert world.store.sends.send_counts(record.id) == {"pending": 300}
    assert world.send(MemoryTransport()).counts == {"accepted": 300}


def test_changed_digest_is_refused_unless_forced(world: World) -> None:
    """After a partial send, a different digest for the same issue is refused."""
    from dataclasses import replace

    from newsletter.dispatch.engine import SendRequest

    world.subscribe(200)
    transport = MemoryTransport(
        max_batch=100, outcomes=lambda call, batch: Outcome.DEFERRED if call > 1 else None
    )
    world.send(transport, concurrency=1, pause_after=1, passes=1)
    changed = replace(world.issue, content_hash="0" * 64)
    with pytest.raises(InputError, match="changed since its send"):
        world.dispatcher(MemoryTransport()).send(SendRequest(changed, "weekly", "memory"))
    forced = world.dispatcher(MemoryTransport()).send(
        SendRequest(changed, "weekly", "memory", force=True)
    )
    assert forced.counts == {"accepted": 200}


def test_second_run_is_locked_out(any_world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """While one run holds the send's lock, another process gets LockedError, sends nothing."""
    any_world.subscribe(10)
    with any_world.store.sends.send_lock(any_world.issue.issue_id, "weekly"):
        other = LockHolder("newsletter@other-host:4242", "other-host", 4242)
        monkeypatch.setattr("newsletter.store.lock.this_process", lambda tag: other)
        transport = MemoryTransport()
        with pytest.raises(LockedError, match="another run is already sending"):
            any_world.send(transport)
    assert transport.calls == 0


def test_lock_of_a_dead_process_is_taken_over(
    any_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lock left by a process that died on this host does not block the resume."""
    import socket

    any_world.subscribe(10)
    from newsletter.store import lock

    dead = LockHolder(f"newsletter@{socket.gethostname()}:999999", socket.gethostname(), 999999)
    name = f"send:{any_world.issue.issue_id}:weekly"
    with any_world.store.database.write() as conn:
        lock.acquire_lock(conn, name, dead, ledger_now(), ledger_stale())  # then it "dies"
    assert any_world.send(MemoryTransport()).counts == {"accepted": 10}


def ledger_now() -> datetime:
    return datetime.now(UTC)


def ledger_stale() -> timedelta:
    from newsletter.store import STALE_LOCK_AFTER

    return STALE_LOCK_AFTER


def test_two_dispatchers_at_once_send_once(any_world: World) -> None:
    """Two runs started together on the same issue and list: exactly one sends."""
    import threading

    from newsletter.store import Store

    world = any_world
    world.subscribe(400)
    twin = World(config=world.config, store=Store.open(world.store.database.url), issue=world.issue)
    transports = [MemoryTransport(max_batch=50), MemoryTransport(max_batch=50)]
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def run(w: World, transport: MemoryTransport) -> None:
        start.wait()
        try:
            w.send(transport)
            outcomes.append("sent")
        except LockedError:
            outcomes.append("locked")

    threads = [
        threading.Thread(target=run, args=(w, t))
        for w, t in zip((world, twin), transports, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    sent = [e for t in transports for e in t.recipients()]
    assert sorted(sent) == sorted(world.emails(400))
    assert len([t for t in transports if t.calls]) == 1
    twin.store.close()


# --------------------------------------------------------------------------- properties

outcome_script = st.lists(
    st.sampled_from([None, None, None, Outcome.DEFERRED, Outcome.AMBIGUOUS, Outcome.FAILED]),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    audience=st.integers(min_value=0, max_value=230),
    batch_size=st.integers(min_value=1, max_value=60),
    script=outcome_script,
    concurrency=st.integers(min_value=1, max_value=3),
)
def test_batching_never_loses_or_repeats_anyone(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    audience: int,
    batch_size: int,
    script: list[Outcome | None],
    concurrency: int,
) -> None:
    """Whatever happens to each batch, then after resumes: everyone ends in exactly one
    state, nobody accepted is sent twice, and only ambiguous ones are in doubt."""
    world = make_world(tmp_path_factory.mktemp("p"), monkeypatch)
    emails = world.subscribe(audience) if audience else []
    steps = itertools.cycle(script)
    lock = __import__("threading").Lock()

    def scripted(call: int, batch: Sequence[PersonalMessage]) -> Outcome | None:
        with lock:
            return next(steps)

    transport = MemoryTransport(max_batch=batch_size, outcomes=scripted)
    for _ in range(3):  # the first run and two resumes
        report = world.send(transport, concurrency=concurrency, pause_after=2, passes=2)
    counts = report.counts
    reached = Counter(transport.recipients())
    assert sum(counts.values()) == audience  # nobody lost
    assert "sending" not in counts  # nothing left in limbo
    assert all(n == 1 for n in reached.values())  # nobody reached twice
    assert set(reached) <= set(emails)
    # Exactly the accepted and the ambiguous ones reached the provider.
    assert len(reached) == counts.get("accepted", 0) + counts.get("ambiguous", 0)
    world.store.close()


def test_a_config_error_while_building_fails_nobody_and_stops_the_send(world: World) -> None:
    """A ConfigError met while building readers' messages (here: links built by a
    function that finds publication.public_base_url wrong) is nobody's fault and would
    fail every reader alike: it is not swallowed as one reader's build failure. The send
    stops with the ConfigError itself (exit 4), nobody is failed or sent to, everyone
    stays pending, and a run with the configuration fixed sends to all."""
    world.subscribe(250)

    def broken_links(claimed: Claimed) -> Recipient:
        raise ConfigError("publication.public_base_url is not set")

    dispatcher = world.dispatcher(MemoryTransport(), concurrency=2)
    dispatcher.recipient_of = broken_links
    request = SendRequest(world.issue, "weekly", "memory")
    with pytest.raises(ConfigError) as raised:
        dispatcher.send(request)
    assert raised.value.exit_code == EXIT_CONFIG
    record = world.store.sends.find_send(world.issue.issue_id, "weekly")
    assert record is not None
    assert record.state == SendState.PAUSED
    assert world.store.sends.send_counts(record.id) == {DeliveryState.PENDING: 250}
    assert world.send(MemoryTransport()).counts == {DeliveryState.ACCEPTED: 250}


def test_a_config_error_from_the_transport_fails_nobody_and_stops_the_send(
    world: World,
) -> None:
    """A transport that finds its configuration wrong when asked to send raises
    ConfigError: like a refused credential, the send stops with it (exit 4, not an
    internal error), and nobody is marked ambiguous or failed."""
    world.subscribe(150)

    class Misconfigured(MemoryTransport):
        def send(self, messages: Sequence[PersonalMessage], options: object) -> list:  # type: ignore[override]
            raise ConfigError("SENDGRID_API_KEY is not set")

    with pytest.raises(ConfigError):
        world.send(Misconfigured(max_batch=100), concurrency=1)
    record = world.store.sends.find_send(world.issue.issue_id, "weekly")
    assert record is not None
    assert record.state == SendState.PAUSED
    assert world.store.sends.send_counts(record.id) == {DeliveryState.PENDING: 150}


def test_a_claim_reads_back_every_reader_exactly(any_world: World) -> None:
    """A claimed batch carries each reader's id, address and stored name as stored, in
    delivery order: names with quotes, backslashes, non-ASCII and none at all, on both
    databases (the claim hands the driver's rows over as columns, `ClaimedRows`)."""
    names = ['Doe, "Jane"', "back\\slash", "Ана «Ю» 😀", None, "\u2028line", ""]
    rows = [CsvRow(n, f"reader{n}@example.com", name, None) for n, name in enumerate(names, 2)]
    any_world.store.subscribers.import_entries(rows, "weekly", origin="test")
    record = any_world.open_send()
    batch = any_world.store.sends.claim_batch(record.id, 0, 100, 1)
    assert batch is not None
    stored = {
        s.email: s
        for s in (any_world.store.subscribers.get(f"reader{n}@example.com") for n in range(2, 8))
        if s is not None
    }
    assert [c.email for c in batch.claimed] == [f"reader{n}@example.com" for n in range(2, 8)]
    assert [(c.subscriber_id, c.name) for c in batch.claimed] == [
        (stored[c.email].id, stored[c.email].name) for c in batch.claimed
    ]
    assert [c.delivery_id for c in batch.claimed] == sorted(c.delivery_id for c in batch.claimed)
    assert batch.last_id == batch.claimed[-1].delivery_id
    assert all(isinstance(c, Claimed) for c in batch.claimed)
