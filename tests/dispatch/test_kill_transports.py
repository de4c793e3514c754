"""`newsletter send` killed with SIGKILL mid-send through the outbox and through SMTP
(at the default concurrency of 4), then run again: nobody gets a message twice, nobody
is silently missing (whoever did not get one is reported ambiguous), at most the
batches really in flight are in doubt, and nothing left behind blocks the rerun."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from newsletter.errors import EXIT_OK, EXIT_PARTIAL
from newsletter.transports.outbox import maildir_path, read_outbox
from tests.dispatch.clirun import DIGEST, Project
from tests.transports.harness import Collector, from_mime, smtp_server

OUTBOX_BATCH = 100  # OutboxTransport.max_batch
SMTP_BATCH = 100  # SmtpTransport.max_batch
CONCURRENCY = 4  # delivery.concurrency's default


def kill_when(child: subprocess.Popen[bytes], ready: Callable[[], bool]) -> None:
    """SIGKILL `child` as soon as `ready()` holds (it must still be sending then)."""
    deadline = time.monotonic() + 120
    while not ready():
        assert child.poll() is None, "the send ended before the kill: give it more to do"
        assert time.monotonic() < deadline, "the send never started"
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(10)


def ledger(project: Project) -> tuple[str, dict[str, int], set[str], set[str]]:
    with project.store() as store:
        record = store.sends.find_send("2025-09-12", "weekly")
        assert record is not None
        counts = store.sends.send_counts(record.id)
        accepted = {e for e, _ in store.sends.deliveries_in(record.id, "accepted", limit=10**6)}
        ambiguous = {e for e, _ in store.sends.deliveries_in(record.id, "ambiguous", limit=10**6)}
    return record.state, counts, accepted, ambiguous


def check(
    project: Project, emails: list[str], received: list[str], in_flight: int, output: str
) -> None:
    state, counts, accepted, ambiguous = ledger(project)
    got = Counter(received)
    assert not got or max(got.values()) == 1, "someone got the issue twice"
    assert state == "finished"
    assert sum(counts.values()) == len(emails) and set(counts) <= {"accepted", "ambiguous"}
    assert accepted <= set(got)  # the ledger never claims more than happened
    assert set(emails) - set(got) <= ambiguous  # whoever is missing is reported
    assert len(ambiguous) <= in_flight  # only the batches really in flight
    if ambiguous:
        assert "ambiguous" in output


@pytest.mark.timeout(240)
def test_outbox_kill_9_and_resume(tmp_path: Path) -> None:
    """Killed while writing the outbox at concurrency 4: the rerun is not blocked by
    any lock, writes everyone else once, and only the one batch being written (the
    outbox carries one at a time) is in doubt; no half-written file is left."""
    project = Project(tmp_path)
    project.write_config(transport="outbox")
    emails = project.subscribe(250)
    box = maildir_path(tmp_path / "outbox", "2025-09-12", "weekly")

    def written() -> int:
        new = box / "new"
        return sum(1 for _ in new.iterdir()) if new.is_dir() else 0

    child = project.process("send", str(DIGEST), "--list", "weekly", env={})
    kill_when(child, lambda: written() >= 30)
    status = project.run("status", str(DIGEST))  # the dead run's batch is not hidden
    assert "being sent: if no run is sending now, the last one was stopped" in status.stdout
    final = project.run("send", str(DIGEST), "--list", "weekly")
    assert final.exit_code in (EXIT_OK, EXIT_PARTIAL), final.output
    received = [from_mime(raw).to for raw in read_outbox(box)]
    check(project, emails, received, OUTBOX_BATCH, final.output)
    assert list((box / "tmp").iterdir()) == []
    # The outbox knows who was written before the kill: resending the ambiguous batch
    # writes only the readers who have no file, so everyone ends with exactly one.
    retried = project.run("retry", str(DIGEST), "--list", "weekly", "--ambiguous")
    assert retried.exit_code == EXIT_OK, retried.output
    received = [from_mime(raw).to for raw in read_outbox(box)]
    assert sorted(received) == sorted(emails)  # everyone once, nobody twice
    _, counts, _, _ = ledger(project)
    assert counts == {"accepted": len(emails)}


class SlowCollector(Collector):
    """Takes a little while per message, so a kill lands mid-send."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.timeout(240)
def test_smtp_kill_9_and_resume_at_default_concurrency(tmp_path: Path) -> None:
    """Killed mid-send over SMTP with 4 connections at once: the server never gets a
    reader twice, and at most the 4 batches in flight are in doubt."""
    project = Project(tmp_path)
    emails = project.subscribe(600)
    with smtp_server(handler=SlowCollector()) as (port, collector, _):
        smtp = {"host": "127.0.0.1", "port": port, "security": "none", "timeout_seconds": 5}
        project.write_config(transport="smtp", smtp=smtp)
        child = project.process("send", str(DIGEST), "--list", "weekly", env={})
        kill_when(child, lambda: len(collector.messages) >= 40)
        final = project.run("send", str(DIGEST), "--list", "weekly")
    assert final.exit_code in (EXIT_OK, EXIT_PARTIAL), final.output
    received = [to[0] for to, _ in collector.messages]
    check(project, emails, received, CONCURRENCY * SMTP_BATCH, final.output)
