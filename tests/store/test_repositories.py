"""The store's repositories share one database, one transaction helper and one clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import URL

from newsletter.clock import FixedClock
from newsletter.states import DeliveryState, SendState
from newsletter.store import Store
from newsletter.store.feedback import Suppression
from newsletter.store.models import Source, Status

AT = datetime(2025, 9, 12, 9, 0, tzinfo=UTC)


def open_send(store: Store, list_name: str = "weekly", send_at: datetime | None = None) -> int:
    return store.sends.open_send(
        issue_id="2025-09-12",
        list_name=list_name,
        content_hash="c" * 64,
        message_hash="m" * 64,
        transport="memory",
        send_at=send_at,
    ).id


def test_every_repository_reads_the_time_from_the_stores_clock(store_url: URL) -> None:
    """Subscribers, sends, feedback and issues all stamp the clock given to Store.open,
    not the machine's: a subscriber's dates, a send's start and finish, a suppression's
    history entry and the archive's notion of "already went out"."""
    clock = FixedClock(AT)
    with Store.open(store_url, create=True, clock=clock) as store:
        assert store.subscribers.add("ann@example.com", "weekly") == "added"
        ann = store.subscribers.get("ann@example.com")
        assert ann is not None
        assert ann.created_at == ann.status_changed_at == AT

        clock.advance(timedelta(minutes=1))
        send_id = open_send(store, send_at=AT + timedelta(hours=1))
        record = store.sends.get_send(send_id)
        assert record.started_at == AT + timedelta(minutes=1)
        store.sends.finish_send(send_id, SendState.FINISHED, note=None)
        assert store.sends.get_send(send_id).finished_at == AT + timedelta(minutes=1)
        assert store.issues.published_issues() == []  # scheduled for later by this clock

        clock.set(AT + timedelta(hours=2))
        assert [p.issue_id for p in store.issues.published_issues()] == ["2025-09-12"]

        store.feedback.suppress(
            [Suppression("bob@example.com", Status.BOUNCED, "550")], source=Source.WEBHOOK
        )
        bob = store.subscribers.details("bob@example.com")
        assert bob.history[-1].at == AT + timedelta(hours=2)


def test_states_read_back_as_enum_members(store: Store) -> None:
    """A send's state comes back as a SendState, delivery counts are keyed by the
    DeliveryState strings, and both equal the plain strings stored before the enums."""
    store.subscribers.add("ann@example.com", "weekly")
    send_id = open_send(store)
    record = store.sends.get_send(send_id)
    assert record.state is SendState.RUNNING
    assert record.state == "running"
    assert store.sends.send_counts(send_id) == {DeliveryState.PENDING: 1}
    store.sends.finish_send(send_id, "paused", note="a plain string still works")
    assert store.sends.get_send(send_id).state is SendState.PAUSED


def test_repositories_share_one_database(store: Store) -> None:
    """The four repositories and the Store hold the same Database (one engine, one
    clock), so a write through one is seen by the others at once."""
    assert store.dialect == store.database.dialect
    store.subscribers.add("ann@example.com", "weekly")
    send_id = open_send(store)
    assert store.sends.send_counts(send_id) == {"pending": 1}
    store.subscribers.unsubscribe("ann@example.com")
    assert store.sends.claim_batch(send_id, 0, 10, 1) is not None  # ann removed as she left
    assert store.sends.get_send(send_id).removed == 1
