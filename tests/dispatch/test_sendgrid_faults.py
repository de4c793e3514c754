"""Whole sends through the real SendGrid client against the SendGrid-compatible server,
with faults injected: afterwards every frozen recipient was accepted exactly once,
except those reported ambiguous, and the ledger agrees with what the server recorded."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from newsletter.dispatch.engine import SendReport
from newsletter.transports import Pacer, Preparer, open_transport
from newsletter.transports.sendgrid import SendGridTransport
from tests.dispatch.support import World, make_world
from tests.fakes.sendgrid_server import FakeSendGrid, Fault
from tests.transports.harness import sendgrid_server


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSendGrid]:
    with sendgrid_server(monkeypatch) as fake:
        yield fake
        assert fake.server_errors == []


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    return make_world(tmp_path, monkeypatch)


def sendgrid(world: World, **settings: object) -> SendGridTransport:
    config = world.config
    merged = {**config.delivery.sendgrid.model_dump(), "timeout_seconds": 1.0, "max_attempts": 3}
    merged.update(settings)
    delivery = config.delivery.model_copy(
        update={"sendgrid": type(config.delivery.sendgrid).model_validate(merged)}
    )
    transport = open_transport(config.model_copy(update={"delivery": delivery}), "sendgrid",
                               pacer=Pacer())  # fmt: skip
    assert isinstance(transport, SendGridTransport)
    return transport


def check_exactly_once(world: World, server: FakeSendGrid, report: SendReport) -> None:
    """The ledger and the server agree; no one accepted twice; doubt only where ambiguous."""
    accepted_by_server = Counter(server.accepted_recipients())
    assert max(accepted_by_server.values(), default=1) == 1
    ledger = {
        state: {e for e, _ in world.store.sends.deliveries_in(report.send.id, state, limit=10**6)}
        for state in ("accepted", "ambiguous", "failed", "pending")
    }
    assert ledger["accepted"] <= set(accepted_by_server)
    assert set(accepted_by_server) - ledger["accepted"] <= ledger["ambiguous"]


def test_three_batches_of_up_to_1000(world: World, server: FakeSendGrid) -> None:
    """2,500 recipients go out in 3 requests; every one accepted once."""
    world.subscribe(2500)
    report = world.send(sendgrid(world), batch_size=1000)
    assert report.counts == {"accepted": 2500}
    assert len(server.accepted) == 3
    check_exactly_once(world, server, report)


def test_429s_slow_down_and_do_not_fail(world: World, server: FakeSendGrid) -> None:
    """429 answers with Retry-After are waited out: nothing failed, nothing duplicated."""
    world.subscribe(600)
    server.on_request(lambda n: Fault.http(429, retry_after=0) if n % 2 == 1 else None)
    report = world.send(sendgrid(world), batch_size=100)
    assert report.counts == {"accepted": 600}
    check_exactly_once(world, server, report)


def test_5xx_burst_is_ridden_out(world: World, server: FakeSendGrid) -> None:
    """A burst of 5xx answers longer than one batch's retries still ends fully sent."""
    world.subscribe(500)
    server.fail_next(7, 503)
    report = world.send(sendgrid(world), batch_size=100, concurrency=2)
    assert report.counts == {"accepted": 500}
    check_exactly_once(world, server, report)


def test_connection_cut_after_accept_is_ambiguous(world: World, server: FakeSendGrid) -> None:
    """The server took a batch but the answer was lost: ambiguous, reported, not resent."""
    world.subscribe(300)
    server.on_request(lambda n: Fault.cut_after_accept() if n == 2 else None)
    report = world.send(sendgrid(world), batch_size=100, concurrency=1)
    assert report.counts == {"accepted": 200, "ambiguous": 100}
    assert report.ambiguous_batches == 1
    assert len(server.accepted_recipients()) == 300  # the server did get it
    check_exactly_once(world, server, report)


def test_latency_beyond_timeout_is_ambiguous(world: World, server: FakeSendGrid) -> None:
    """A read timeout after the request left is ambiguous, never retried blindly."""
    world.subscribe(200)
    server.hang_next(1, seconds=3)
    report = world.send(sendgrid(world, timeout_seconds=0.5), batch_size=100, concurrency=1)
    assert report.counts == {"accepted": 100, "ambiguous": 100}
    check_exactly_once(world, server, report)


def test_server_dies_mid_send_then_resume(world: World, server: FakeSendGrid) -> None:
    """The server dies mid-send: the send pauses; once it is back, resume finishes it."""
    world.subscribe(800)
    server.on_request(lambda n: Fault.die() if n == 3 else None)
    report = world.send(sendgrid(world, max_attempts=2), batch_size=100, concurrency=1,
                        pause_after=2, passes=1)  # fmt: skip
    assert report.send.state == "paused"
    server.on_request(None)
    server.restart()
    resumed = world.send(sendgrid(world), batch_size=100)
    assert resumed.send.state == "finished"
    assert resumed.counts.get("pending", 0) == 0
    assert resumed.counts.get("ambiguous", 0) <= 100  # at most the batch in flight at death
    check_exactly_once(world, server, resumed)
    total = resumed.counts.get("accepted", 0) + resumed.counts.get("ambiguous", 0)
    assert total == 800


def test_scheduled_send_carries_send_at_and_batch(world: World, server: FakeSendGrid) -> None:
    """--at: every request carries send_at and the one batch id, which cancel names."""
    from datetime import UTC, datetime, timedelta

    from newsletter.dispatch.engine import SendRequest

    world.subscribe(150)
    transport = sendgrid(world)
    batch_id = transport.create_batch()
    when = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    request = SendRequest(world.issue, "weekly", "sendgrid", send_at=when, batch_id=batch_id)
    report = world.dispatcher(transport, batch_size=100).send(request)
    assert report.counts == {"accepted": 150}
    bodies = [r.body for r in server.accepted]
    assert {b["send_at"] for b in bodies if b} == {int(when.timestamp())}
    assert {b["batch_id"] for b in bodies if b} == {batch_id}
    transport.cancel_scheduled(batch_id)
    assert server.cancellations == [batch_id]
    assert world.store.sends.cancel_send(report.send.id) == 150


def test_cli_readers_stored_before_todays_rules_fail_alone(
    tmp_path: Path, server: FakeSendGrid
) -> None:
    """`newsletter send` through SendGrid at concurrency 4, with addresses stored before
    today's address rules (written straight into the SQLite store): each such reader is
    failed alone with the reason, every other reader of their batches is accepted by the
    server exactly once, nothing is left in doubt, and no traceback is printed."""
    import sqlite3

    from tests.dispatch.clirun import DIGEST, Project

    project = Project(tmp_path)
    project.write_config(transport="sendgrid", concurrency=4, sendgrid={"batch_size": 10})
    emails = project.subscribe(40)
    bad = {3: "ñoño@example.com", 6: "=?utf-8?q?x?=@example.com", 17: "noat.example.com"}
    with sqlite3.connect(tmp_path / "store.sqlite3") as db:
        for row, address in bad.items():
            db.execute("update subscribers set email = ? where email = ?", (address, emails[row]))
        # A name that is itself an encoded word hiding a header: sent neutralised, not failed.
        db.execute("update subscribers set name = ? where email = ?",
                   ("=?utf-8?q?A=0D=0ABcc:_x@evil.example?=", emails[5]))  # fmt: skip
    result = project.run("send", str(DIGEST), "--list", "weekly")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "accepted 37 · failed 3" in result.output
    good = set(emails) - {emails[row] for row in bad}
    assert Counter(server.accepted_recipients()) == Counter(good)
    with project.store() as store:
        record = store.sends.find_send("2025-09-12", "weekly")
        assert record is not None
        assert store.sends.send_counts(record.id) == {"accepted": 37, "failed": 3}
        failed = dict(store.sends.deliveries_in(record.id, "failed", limit=100))
    assert set(failed) == set(bad.values())
    assert "SMTPUTF8" in failed["ñoño@example.com"]


def test_bodies_are_built_on_the_dispatchers_thread_and_posted_on_sending_threads(
    world: World, server: FakeSendGrid, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SendGrid transport is a Preparer: the dispatcher builds every request body on
    its own thread and only the posting runs on the sending threads (issue 16: with the
    GIL, builders on four threads queue for it and starve the ledger's SQLite work). The
    send is the same: every reader accepted once, one request per batch."""
    world.subscribe(450)
    transport = sendgrid(world)
    built: list[str] = []
    posted: list[str] = []
    prepare, post = SendGridTransport.prepare, SendGridTransport._post

    def recording_prepare(self: SendGridTransport, *args: Any) -> Any:
        built.append(threading.current_thread().name)
        return prepare(self, *args)

    def recording_post(self: SendGridTransport, *args: Any) -> Any:
        posted.append(threading.current_thread().name)
        return post(self, *args)

    monkeypatch.setattr(SendGridTransport, "prepare", recording_prepare)
    monkeypatch.setattr(SendGridTransport, "_post", recording_post)
    report = world.send(transport, batch_size=100, concurrency=3)
    assert isinstance(transport, Preparer)
    assert report.counts == {"accepted": 450}
    assert built == [threading.current_thread().name] * 5
    assert len(posted) == 5
    assert all(name.startswith("send") for name in posted)
    assert Counter(server.accepted_recipients()) == Counter(world.emails(450))
