"""Newsletter.approve / approvals / dispatch's approval rule as typed results, never a
printed line; times come from the clock the Newsletter was given (the store's)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from newsletter import Newsletter
from newsletter.api import ApprovalState, DispatchOutcome
from newsletter.check import CheckReport, Finding, Severity
from newsletter.clock import FixedClock
from newsletter.errors import EXIT_CHECK_BLOCKED, CheckBlockedError, InputError
from newsletter.states import SendState
from tests.api.project import DIGEST, SECRET, write_project

ISSUE = "2025-09-12"
MONDAY = dt.datetime(2025, 9, 15, 6, tzinfo=dt.UTC)


@pytest.fixture
def digest(tmp_path: Path) -> Path:
    folder = tmp_path / "digests"
    folder.mkdir()
    return Path(shutil.copy(DIGEST, folder / DIGEST.name))


@pytest.fixture
def nl(tmp_path: Path, digest: Path, monkeypatch: pytest.MonkeyPatch) -> Newsletter:
    """Approval required, digests/ of its own, the clock on a Monday 06:00 UTC."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    config = write_project(tmp_path, require_approval=True)
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["paths"]["digests"] = str(digest.parent)
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    api = Newsletter.from_config(config, clock=FixedClock(MONDAY))
    api.sync("weekly")
    return api


@pytest.fixture(autouse=True)
def prints_nothing(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    """Every test here: the library wrote nothing to stdout or stderr."""
    yield
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "")


def test_dispatch_reports_not_approved_then_sends_the_approved_version(
    nl: Newsletter, digest: Path
) -> None:
    """Unapproved: the entry is NOT_APPROVED with no approval, nothing recorded, the
    report's `not_approved` names it. approve() records the clock's time and both
    hashes of the message dispatch then prepares; dispatch sends it."""
    report = nl.dispatch()
    [entry] = report.not_approved
    assert (entry.outcome, entry.path, entry.approval) == (
        DispatchOutcome.NOT_APPROVED,
        digest,
        None,
    )
    assert report.needs_attention and f"{digest} ({ISSUE}) is not approved" in entry.attention[0]
    assert nl.status() == []

    recorded = nl.approve(digest, by="Aigerim")
    prepared = nl.prepare(digest, "weekly").message
    assert recorded.approval.approved_at == MONDAY and not recorded.already
    assert (recorded.approval.content_hash, recorded.approval.message_hash) == (
        prepared.content_hash,
        prepared.message_hash,
    )
    assert recorded.approval.digest_path == str(digest.resolve())
    sent = nl.dispatch()
    assert [e.outcome for e in sent.entries] == [DispatchOutcome.SENT]
    assert not sent.not_approved and nl.status()[0].send.state == SendState.FINISHED


def test_a_changed_digest_names_the_approval_it_no_longer_matches(
    nl: Newsletter, digest: Path
) -> None:
    """After one character changes, the entry carries the latest approval (who, which
    version) and approvals() marks it stale; a deleted file is unreadable."""
    recorded = nl.approve(digest, by="ann")
    data = json.loads(digest.read_text(encoding="utf-8"))
    data["items"][0]["headline"] += "!"
    digest.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    [entry] = nl.dispatch().entries
    assert entry.outcome is DispatchOutcome.NOT_APPROVED
    assert entry.approval == recorded.approval
    assert "changed since ann approved it at 2025-09-15 06:00 UTC" in entry.attention[0]
    [status] = nl.approvals()
    assert (status.state, status.latest, status.file) == (ApprovalState.STALE, True, digest)
    digest.unlink()
    [gone] = nl.approvals()
    assert gone.state is ApprovalState.UNREADABLE and gone.detail


def test_a_send_forced_with_a_reason_is_recorded(
    nl: Newsletter, digest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a blocking finding: approve and send raise CheckBlockedError (11) carrying
    the finding; send(force=True, reason=…) goes out and the ledger says why, who, when."""
    from newsletter.api import approval

    found = Finding(Severity.BLOCKING, "subject-empty", "subject", "empty", "write one")
    monkeypatch.setattr(
        approval,
        "gate",
        lambda config, path, tools=True: CheckReport(path, "2025-09-12", (found,), ()),
    )
    with pytest.raises(CheckBlockedError) as caught:
        nl.approve(digest, by="ann")
    assert caught.value.exit_code == EXIT_CHECK_BLOCKED
    assert caught.value.blocking == ("subject: empty (fix: write one)",)
    with pytest.raises(CheckBlockedError):
        nl.send(digest, "weekly", force=True)
    with pytest.raises(InputError, match="the reason is empty"):
        nl.send(digest, "weekly", force=True, reason="  ")
    nl.send(digest, "weekly", force=True, reason="sent by the chief editor's call", by="ed")
    record = nl.status()[0].send
    assert (record.force_reason, record.forced_by, record.forced_at) == (
        "sent by the chief editor's call",
        "ed",
        MONDAY,
    )
