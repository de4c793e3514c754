"""The sending process killed with SIGKILL at random moments, then run again until done:
every frozen recipient is accepted exactly once, except those reported ambiguous
(at most one batch per concurrent request per kill), and `status` agrees."""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.dispatch.clirun import DIGEST, Project
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.transports.harness import API_KEY, sendgrid_server

AUDIENCE = 1200
BATCH = 50
CONCURRENCY = 2


@pytest.mark.timeout(180)
@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_and_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """Three SIGKILLs mid-send, then resumes: no duplicate, no one lost, doubt bounded."""
    rng = random.Random(seed)
    project = Project(tmp_path)
    project.write_config(
        transport="sendgrid",
        concurrency=CONCURRENCY,
        sendgrid={"batch_size": BATCH, "timeout_seconds": 5, "max_attempts": 3},
    )
    emails = project.subscribe(AUDIENCE)
    with sendgrid_server(monkeypatch) as server:
        server.latency(0.25)  # a send of ~3 s: every kill below lands before it ends
        env = {"SENDGRID_API_KEY": API_KEY, "SENDGRID_API_HOST": server.url}
        kills = 0
        while kills < 3:
            child = project.process("send", str(DIGEST), "--list", "weekly", env=env)
            time.sleep(rng.uniform(0.9, 1.8))
            if child.poll() is not None:
                break  # finished before we could kill it
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            kills += 1
        assert kills >= 1, "the send finished before any kill: slow the server down"
        final = project.run("send", str(DIGEST), "--list", "weekly", env=env)
        check(project, server, emails, kills, final.stdout)


def check(
    project: Project, server: FakeSendGrid, emails: list[str], kills: int, output: str
) -> None:
    accepted_by_server = Counter(server.accepted_recipients())
    assert max(accepted_by_server.values()) == 1, "someone was accepted twice"
    with project.store() as store:
        record = store.sends.find_send("2025-09-12", "weekly")
        assert record is not None
        counts = store.sends.send_counts(record.id)
        ambiguous = {e for e, _ in store.sends.deliveries_in(record.id, "ambiguous", limit=10**6)}
        accepted = {e for e, _ in store.sends.deliveries_in(record.id, "accepted", limit=10**6)}
    assert record.state == "finished"
    assert sum(counts.values()) == len(emails)  # nobody lost
    assert set(counts) <= {"accepted", "ambiguous"}
    assert accepted <= set(accepted_by_server)  # the ledger never claims more than happened
    assert set(emails) - set(accepted_by_server) <= ambiguous  # only the ambiguous may be missing
    assert len(ambiguous) <= kills * CONCURRENCY * BATCH
    if ambiguous:
        assert "ambiguous" in output
