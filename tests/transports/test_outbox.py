"""The outbox: byte-exact messages in a Maildir, and what it does on a full disk or
after a kill."""

from __future__ import annotations

import email
import email.utils
import errno
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from newsletter.errors import DeliveryHaltedError
from newsletter.message import PersonalMessage
from newsletter.message.mime import mime_bytes
from newsletter.store import Store
from newsletter.transports import Outcome, Result, SendOptions
from newsletter.transports.memory import MemoryTransport
from newsletter.transports.outbox import OutboxTransport, maildir_path, read_outbox
from tests.delivery_support import personal_messages, sample_issue
from tests.dispatch.support import make_world


class TinyDisk:
    """os.write on a disk with `capacity` bytes free: writes what fits, then ENOSPC."""

    def __init__(self, capacity: int) -> None:
        self.left = capacity

    def __call__(self, descriptor: int, data: bytes) -> int:
        if self.left <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = os.write(descriptor, data[: self.left])
        self.left -= written
        return written


class Recording:
    """mime_bytes, keeping what it built for each message (to compare with the file)."""

    def __init__(self) -> None:
        self.built: list[bytes] = []

    def __call__(self, message: PersonalMessage) -> bytes:
        raw = mime_bytes(message)
        self.built.append(raw)
        return raw


def maildir(folder: Path) -> Path:
    return maildir_path(folder, "2025-09-12", "weekly")


def test_messages_are_byte_identical_to_what_was_built(tmp_path: Path) -> None:
    """Each message read back from the outbox is exactly mime_bytes() of it, including
    body lines beginning with "From " (an mbox would have rewritten them to ">From ")."""
    issue = sample_issue()
    issue = replace(issue, text="From the editor: a line an mbox would quote.\n" + issue.text)
    messages = [issue.personalise(m.recipient) for m in personal_messages(3)]
    built = Recording()
    outbox = OutboxTransport(tmp_path, build=built)
    results = outbox.send(messages, SendOptions())
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 3
    assert read_outbox(maildir(tmp_path)) == built.built
    assert all(b"\r\nFrom the editor" in raw for raw in built.built)
    assert list((maildir(tmp_path) / "tmp").iterdir()) == []


def test_full_disk_keeps_what_was_written_and_defers_the_rest(tmp_path: Path) -> None:
    """ENOSPC while writing the third message: the first two are accepted and whole in
    the outbox, the third's partial file is removed, it and the rest are deferred, and
    the error says "disk full" with the system's own words (not "the provider")."""
    messages = personal_messages(5)
    size = len(mime_bytes(messages[0]))
    outbox = OutboxTransport(tmp_path, write=TinyDisk(2 * size + size // 2))
    with pytest.raises(DeliveryHaltedError) as halted:
        outbox.send(messages, SendOptions())
    outcomes = [r.outcome for r in halted.value.results]
    assert outcomes == [Outcome.ACCEPTED] * 2 + [Outcome.DEFERRED] * 3
    assert [r.recipient for r in halted.value.results] == [m.recipient for m in messages]
    assert "disk full (No space left on device)" in halted.value.message
    assert "provider" not in halted.value.message
    written = read_outbox(maildir(tmp_path))
    assert len(written) == 2 and all(raw.endswith(b"--\r\n") for raw in written)
    assert list((maildir(tmp_path) / "tmp").iterdir()) == []


def test_unwritable_outbox_defers_everyone(tmp_path: Path) -> None:
    """An outbox folder that cannot be created: nothing written, everyone deferred."""
    (tmp_path / "outbox").write_text("a file where the folder should be")
    with pytest.raises(DeliveryHaltedError) as halted:
        OutboxTransport(tmp_path / "outbox").send(personal_messages(2), SendOptions())
    assert {r.outcome for r in halted.value.results} == {Outcome.DEFERRED}
    assert "the outbox could not write to" in halted.value.message


def test_a_message_that_cannot_be_built_fails_for_its_reader_only(tmp_path: Path) -> None:
    """An exception while building one message fails that reader with the reason; the
    others of the batch are written."""

    def build(message: PersonalMessage) -> bytes:
        if message.recipient.email == "reader2@example.com":
            raise ValueError("cannot encode this header")
        return mime_bytes(message)

    results = OutboxTransport(tmp_path, build=build).send(personal_messages(3), SendOptions())
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.FAILED, Outcome.ACCEPTED]
    assert (
        results[1].error == "the message could not be built: ValueError: cannot encode this header"
    )
    assert len(read_outbox(maildir(tmp_path))) == 2


def test_a_killed_writers_leftover_is_removed_and_blocks_nothing(tmp_path: Path) -> None:
    """A half-written file left in tmp/ by a process that died is removed by the next
    send, which writes normally (no lock to clean up by hand)."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    outbox = OutboxTransport(tmp_path)
    tmp = maildir(tmp_path) / "tmp"
    tmp.mkdir(parents=True)
    leftover = tmp / f"{0:020d}.P{int(dead.stdout)}Q1.{outbox._host}.eml"
    leftover.write_bytes(b"Subject: half a mess")
    results = outbox.send(personal_messages(2), SendOptions())
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 2
    assert not leftover.exists()
    assert len(read_outbox(maildir(tmp_path))) == 2


def test_full_disk_pauses_the_send_and_a_rerun_completes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the Dispatcher: a disk that fills mid-send leaves the written readers
    accepted, everyone else pending (none ambiguous), and the send paused with "disk
    full" in its note; once there is room, running again sends to exactly the rest."""
    world = make_world(tmp_path, monkeypatch)
    emails = world.subscribe(120)
    folder = world.config.outbox_dir
    size = len(mime_bytes(world.issue.personalise(personal_messages(1)[0].recipient)))
    full = OutboxTransport(folder, write=TinyDisk(70 * size))
    report = world.send(full, concurrency=4, batch_size=50)
    accepted = report.counts["accepted"]
    assert report.send.state == "paused"
    assert 50 < accepted < 120 and report.counts == {
        "accepted": accepted,
        "pending": 120 - accepted,
    }
    assert report.note is not None and "disk full" in report.note
    assert "provider" not in report.note
    assert len(read_outbox(maildir(folder))) == accepted
    again = world.send(OutboxTransport(folder), concurrency=4, batch_size=50)
    assert again.send.state == "finished" and again.counts == {"accepted": 120}
    delivered = [
        email.utils.parseaddr(email.message_from_bytes(raw)["To"])[1]
        for raw in read_outbox(maildir(folder))
    ]
    assert sorted(delivered) == sorted(emails)  # each reader exactly once
    world.store.close()


class OneAtATime(MemoryTransport):
    """Counts, at each call, the deliveries the ledger has `sending` (claimed)."""

    def __init__(self, database: str) -> None:
        super().__init__(max_batch=20, max_in_flight=1)
        self.database = database
        self.claimed_at_call: list[int] = []

    def send(self, messages: Sequence[PersonalMessage], options: SendOptions) -> list[Result]:
        with Store.open(self.database) as store:
            record = store.sends.find_send("2025-09-12", "weekly")
            assert record is not None
            self.claimed_at_call.append(store.sends.send_counts(record.id).get("sending", 0))
        return super().send(messages, options)


def test_the_dispatcher_claims_no_more_batches_than_the_transport_carries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With max_in_flight 1 (the outbox's) and concurrency 4, only one batch is ever
    claimed at a time: a crash can leave at most that one batch in doubt."""
    world = make_world(tmp_path, monkeypatch)
    world.subscribe(100)
    transport = OneAtATime(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    report = world.send(transport, concurrency=4, batch_size=20)
    assert report.counts == {"accepted": 100}
    assert transport.claimed_at_call == [20] * 5
    world.store.close()


def test_a_reader_already_in_the_outbox_is_not_written_twice(tmp_path: Path) -> None:
    """Resending to readers whose message is already in the Maildir (an ambiguous batch
    after a kill, retried) reports them accepted and writes no second file; a preview,
    which an editor may ask for again, is written every time."""
    first = OutboxTransport(tmp_path)
    messages = personal_messages(3)
    assert [r.outcome for r in first.send(messages[:2], SendOptions())] == ["accepted"] * 2
    later = OutboxTransport(tmp_path)  # a new run: it learns from the files alone
    results = later.send(messages, SendOptions())
    assert [r.outcome for r in results] == ["accepted"] * 3
    box = maildir_path(tmp_path, messages[0].issue.issue_id, messages[0].issue.list_name)
    assert len(read_outbox(box)) == 3
    later.send(messages[:1], SendOptions(preview=True))
    later.send(messages[:1], SendOptions(preview=True))
    preview = maildir_path(tmp_path, messages[0].issue.issue_id, "preview")
    assert len(read_outbox(preview)) == 2
