"""The store side of provider feedback, on SQLite and PostgreSQL: set-based and exactly-once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from newsletter.csvio import CsvRow
from newsletter.store import Store
from newsletter.store.feedback import DeliveryEvent, ProviderEvent, Suppression, event_key
from newsletter.store.models import Source, Status
from newsletter.store.schema import webhook_events

AT = datetime(2025, 9, 12, 9, 0, tzinfo=UTC)


def subscribe(store: Store, count: int) -> list[str]:
    emails = [f"reader{n:05d}@example.com" for n in range(1, count + 1)]
    store.subscribers.import_entries(
        [CsvRow(n, e, None, None) for n, e in enumerate(emails, 2)], "weekly", origin="test"
    )
    return emails


def status_of(store: Store, email: str) -> Status:
    found = store.subscribers.get(email)
    assert found is not None
    return found.status


def test_suppress_many_only_ever_suppresses(store: Store) -> None:
    """Subscribed and unknown addresses become suppressed; suppressed ones keep their status."""
    subscribe(store, 3)
    store.subscribers.unsubscribe("reader00002@example.com", reason="asked", source=Source.CLI)
    report = store.feedback.suppress(
        [
            Suppression("READER00001@example.com", Status.BOUNCED, "550"),
            Suppression("reader00002@example.com", Status.COMPLAINED, "spam"),
            Suppression("new@example.org", Status.UNSUBSCRIBED, "group"),
            Suppression("not an address", Status.BOUNCED, "invalid"),
            Suppression("reader00001@example.com", Status.COMPLAINED, "repeat in batch"),
        ],
        source=Source.API,
    )
    assert (report.seen, report.suppressed, report.already, report.invalid) == (3, 2, 1, 1)
    assert status_of(store, "reader00001@example.com") == Status.BOUNCED
    assert status_of(store, "reader00002@example.com") == Status.UNSUBSCRIBED
    assert status_of(store, "new@example.org") == Status.UNSUBSCRIBED
    assert status_of(store, "reader00003@example.com") == Status.SUBSCRIBED
    last = store.subscribers.details("reader00001@example.com").history[-1]
    assert (last.from_status, last.to_status, last.reason, last.source) == (
        Status.SUBSCRIBED,
        Status.BOUNCED,
        "550",
        "api",
    )


def test_thousands_of_suppressions_in_one_call(store: Store) -> None:
    """A batch far over the chunk size is applied whole (chunked IN lists and inserts)."""
    emails = subscribe(store, 1_200)
    entries = [Suppression(e, Status.BOUNCED, "b") for e in emails]
    entries += [Suppression(f"gone{n}@example.net", Status.BOUNCED, "b") for n in range(700)]
    report = store.feedback.suppress(entries, source=Source.WEBHOOK)
    assert report.suppressed == 1_900
    assert store.subscribers.status_counts()[Status.BOUNCED] == 1_900


def event(n: int, event_id: str, **changes: object) -> ProviderEvent:
    values: dict[str, object] = {
        "event_id": event_id,
        "event": "delivered",
        "delivery": DeliveryEvent("2025-09-12", "weekly", n, f"reader{n:05d}@example.com",
                                  "delivered", None, AT),
    }  # fmt: skip
    return ProviderEvent(**{**values, **changes})  # type: ignore[arg-type]


def test_events_apply_once_even_across_calls(store: Store) -> None:
    """Event ids are remembered: the second delivery of the same events applies nothing."""
    subscribe(store, 2)
    store.sends.open_send(
        issue_id="2025-09-12",
        list_name="weekly",
        content_hash="c",
        message_hash="m",
        transport="sendgrid",
    )
    batch = [event(1, "e1"), event(2, "e2"), event(1, "e1")]
    first = store.feedback.apply_provider_events(batch)
    second = store.feedback.apply_provider_events(batch)
    assert (first.received, first.duplicates, first.deliveries_updated) == (3, 1, 2)
    assert (second.duplicates, second.deliveries_updated) == (3, 0)
    assert store.feedback.provider_event("2025-09-12", "weekly", 1) == ("delivered", AT, None)


def test_long_event_ids_are_stored_as_digests() -> None:
    """An id longer than the column is kept as its SHA-256, so it still de-duplicates."""
    key = event_key("x" * 400)
    assert key.startswith("sha256:") and len(key) == 71
    assert event_key("short") == "short"


def test_old_event_ids_are_pruned(store: Store) -> None:
    """Ids older than the retention window are deleted when the next request comes."""
    with store.database.write() as conn:
        conn.execute(
            webhook_events.insert().values(
                event_id="ancient", event="open", received_at=datetime.now(UTC) - timedelta(days=30)
            )
        )
    store.feedback.apply_provider_events([ProviderEvent("fresh", "open")])
    with store.database.read() as conn:
        ids = set(conn.execute(select(webhook_events.c.event_id)).scalars())
        assert conn.execute(select(func.count()).select_from(webhook_events)).scalar_one() == 1
    assert ids == {"fresh"}


def test_published_issues_are_finished_sends_newest_first(store: Store) -> None:
    """The archive's query: finished sends only, one row per issue, newest issue first."""
    subscribe(store, 1)
    for issue, lists in (("2025-09-05", ("weekly", "editors")), ("2025-09-12", ("weekly",))):
        for list_name in lists:
            record = store.sends.open_send(
                issue_id=issue,
                list_name=list_name,
                content_hash="c",
                message_hash="m",
                transport="outbox",
            )
            store.sends.finish_send(record.id, "finished", note=None)
    store.sends.open_send(
        issue_id="2026-02-06",
        list_name="weekly",
        content_hash="c",
        message_hash="m",
        transport="outbox",
    )  # still running
    published = store.issues.published_issues()
    assert [p.issue_id for p in published] == ["2025-09-12", "2025-09-05"]
    assert all(p.sent_at.tzinfo is not None for p in published)
