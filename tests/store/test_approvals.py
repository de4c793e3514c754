"""Approvals in the store (`store.approvals`) and forced sends in the ledger, on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import URL

from newsletter.clock import FixedClock
from newsletter.store import ForcedSend, Store

WHEN = datetime(2025, 9, 12, 9, 30, tzinfo=UTC)


def _approve(store: Store, issue: str, by: str, content: str = "c" * 64) -> None:
    store.approvals.record(
        issue_id=issue,
        digest_path=f"/srv/digests/{issue}.json",
        content_hash=content,
        message_hash="m" * 64,
        approved_by=by,
    )


def test_an_approval_is_recorded_with_the_stores_time(store_url: URL) -> None:
    """record() keeps who, both hashes and the file, dated by the store's clock (UTC)."""
    with Store.open(store_url, create=True, clock=FixedClock(WHEN)) as store:
        approval = store.approvals.record(
            issue_id="2025-09-12",
            digest_path="/srv/digests/2025-09-12.json",
            content_hash="a" * 64,
            message_hash="b" * 64,
            approved_by="Aigerim",
        )
        assert approval.approved_at == WHEN
        assert store.approvals.latest("2025-09-12") == approval
        assert approval.matches("a" * 64, "b" * 64)
        assert not approval.matches("a" * 64, "c" * 64)


def test_the_latest_approval_of_an_issue_is_the_one_that_counts(store: Store) -> None:
    """A second approval supersedes the first; other issues are not mixed in; history
    keeps every approval, newest issue first, oldest approval first."""
    assert store.approvals.latest("2025-09-12") is None
    _approve(store, "2025-09-12", "ann", "1" * 64)
    _approve(store, "2025-09-12", "bob", "2" * 64)
    _approve(store, "2025-09-05", "cy")
    latest = store.approvals.latest("2025-09-12")
    assert latest is not None and (latest.approved_by, latest.content_hash) == ("bob", "2" * 64)
    assert [a.approved_by for a in store.approvals.history()] == ["ann", "bob", "cy"]
    assert [a.approved_by for a in store.approvals.history("2025-09-05")] == ["cy"]


def test_a_forced_send_records_its_reason_who_and_when(store_url: URL) -> None:
    """open_send(forced=...) keeps the reason, who and the store's time on the send,
    for a new send and for one resumed; a send opened without it keeps None."""
    with Store.open(store_url, create=True, clock=FixedClock(WHEN)) as store:
        store.subscribers.add("a@example.com", "weekly")
        plain = store.sends.open_send(
            issue_id="2025-09-05",
            list_name="weekly",
            content_hash="c" * 64,
            message_hash="m" * 64,
            transport="outbox",
        )
        assert (plain.force_reason, plain.forced_by, plain.forced_at) == (None, None, None)
        forced = store.sends.open_send(
            issue_id="2025-09-12",
            list_name="weekly",
            content_hash="c" * 64,
            message_hash="m" * 64,
            transport="outbox",
            forced=ForcedSend(reason="the alt text is in the caption", by="ann"),
        )
        assert (forced.force_reason, forced.forced_by, forced.forced_at) == (
            "the alt text is in the caption",
            "ann",
            WHEN,
        )
        again = store.sends.open_send(
            issue_id="2025-09-05",
            list_name="weekly",
            content_hash="c" * 64,
            message_hash="m" * 64,
            transport="outbox",
            forced=ForcedSend(reason="resumed past the check", by="bob"),
        )
        assert (again.force_reason, again.forced_by) == ("resumed past the check", "bob")
