"""A send keeps its issue as it goes out: once per version, before personalisation."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from newsletter.digest import parse_digest
from newsletter.dispatch.engine import SendRequest
from newsletter.errors import InputError
from newsletter.message import IssueMessage
from newsletter.transports import Outcome
from newsletter.transports.memory import MemoryTransport
from tests.conftest import REPO
from tests.dispatch.support import World

READER_LINK = re.compile(r"/unsubscribe/[1-9][0-9]*\.")


def changed(issue: IssueMessage, word: str) -> IssueMessage:
    """The same issue with its digest edited: new content and so a new message."""
    return replace(
        issue,
        html=issue.html.replace("</body>", f"<p>{word}</p></body>"),
        content_hash=word[0] * 64,
        message_hash=word[1] * 64,
    )


def test_a_send_keeps_the_issue_exactly_as_sent(any_world: World) -> None:
    """The kept version is the digest, HTML, text and subject of the send, with the
    unsubscribe placeholder and no reader's link, and the hashes the ledger recorded."""
    any_world.subscribe(3)
    report = any_world.send(MemoryTransport())
    kept = any_world.store.issues.sent_issue("2025-09-12")
    assert kept is not None
    issue = any_world.issue
    assert (kept.html, kept.text, kept.subject) == (issue.html, issue.text, issue.subject)
    assert (kept.content_hash, kept.message_hash) == (
        report.send.content_hash,
        report.send.message_hash,
    )
    assert kept.unsubscribe_placeholder in kept.html and kept.unsubscribe_placeholder in kept.text
    assert not READER_LINK.search(kept.html + kept.text)
    sample = parse_digest((REPO / "digests/2025-09-12.json").read_text(encoding="utf-8"))
    assert parse_digest(kept.digest_json) == sample
    assert kept.digest_json == sample.canonical_json()
    assert kept.first_sent_at >= report.send.started_at  # kept when the send began
    assert kept.origin == "send"


def test_another_list_and_a_resumed_run_keep_nothing_new(world: World) -> None:
    """A second list, a resumed paused send and a rerun of a finished one all find the
    same version: one row, never rewritten."""
    world.subscribe(200)
    world.subscribe(5, start=500, list_name="editors")
    deferring = MemoryTransport(
        max_batch=100, outcomes=lambda call, batch: Outcome.DEFERRED if call > 1 else None
    )
    assert world.send(deferring, concurrency=1, pause_after=1, passes=1).send.state == "paused"
    first = world.store.issues.sent_issue_versions("2025-09-12")
    world.send(MemoryTransport())  # resumes and finishes
    world.send(MemoryTransport())  # already sent
    world.dispatcher(MemoryTransport()).send(SendRequest(world.issue, "editors", "memory"))
    assert world.store.issues.sent_issue_versions("2025-09-12") == first
    assert len(first) == 1


def test_a_forced_resend_of_a_changed_digest_adds_a_version(world: World) -> None:
    """A changed digest refused (no --force) keeps nothing; forced, it is the next
    version and the latest; the first version stays as it was."""
    world.subscribe(200)
    deferring = MemoryTransport(
        max_batch=100, outcomes=lambda call, batch: Outcome.DEFERRED if call > 1 else None
    )
    world.send(deferring, concurrency=1, pause_after=1, passes=1)
    (first,) = world.store.issues.sent_issue_versions("2025-09-12")
    edited = changed(world.issue, "ab")
    with pytest.raises(InputError, match="changed since its send"):
        world.dispatcher(MemoryTransport()).send(SendRequest(edited, "weekly", "memory"))
    assert world.store.issues.sent_issue_versions("2025-09-12") == [first]
    world.dispatcher(MemoryTransport()).send(SendRequest(edited, "weekly", "memory", force=True))
    versions = world.store.issues.sent_issue_versions("2025-09-12")
    assert [v.version for v in versions] == [1, 2]
    assert versions[0] == first
    assert versions[1].message_hash == "b" * 64 and "<p>ab</p>" in versions[1].html


def test_a_finished_send_rerun_with_other_templates_keeps_nothing(world: World) -> None:
    """A rerun that sends nothing (the send is finished) must not record a message that
    never went out, even if today's rendering differs."""
    world.subscribe(10)
    world.send(MemoryTransport())
    rerendered = replace(world.issue, message_hash="f" * 64, html=world.issue.html + " ")
    report = world.dispatcher(MemoryTransport()).send(SendRequest(rerendered, "weekly", "memory"))
    assert report.already_finished
    assert [v.message_hash for v in world.store.issues.sent_issue_versions("2025-09-12")] == [
        world.issue.message_hash
    ]
