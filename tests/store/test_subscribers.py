"""One subscriber at a time, reading lists in batches, counts and export (both databases)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from newsletter.csvio import CsvRow
from newsletter.errors import AddressError, InputError, SubscriberNotFoundError, SuppressedError
from newsletter.store import AddOutcome, Source, Status, Store
from tests.store.conftest import write_csv


def test_add_creates_a_subscriber_and_is_idempotent(store: Store) -> None:
    """add puts a new address on a list once; adding again says it is already there."""
    assert (
        store.subscribers.add(
            " New@Example.com", "weekly", name="New", attributes={"country": "KZ"}
        )
        == AddOutcome.ADDED
    )
    assert store.subscribers.add("new@example.com", "weekly") == AddOutcome.ALREADY_MEMBER
    found = store.subscribers.get("new@example.com")
    assert found is not None
    assert (found.name, found.attributes, found.status) == ("New", {"country": "KZ"}, "subscribed")


def test_add_refuses_a_suppressed_address(store: Store) -> None:
    """Adding an unsubscribed address is refused with a hint to use resubscribe."""
    store.subscribers.unsubscribe("gone@example.com", reason="asked")
    with pytest.raises(SuppressedError) as caught:
        store.subscribers.add("gone@example.com", "weekly")
    assert "unsubscribed" in caught.value.message and "asked" in caught.value.message
    assert caught.value.hint is not None and "resubscribe" in caught.value.hint


def test_add_rejects_bad_addresses_names_and_list_names(store: Store) -> None:
    """Bad input is an InputError with a reason, never a database error."""
    with pytest.raises(AddressError):
        store.subscribers.add("nobody", "weekly")
    with pytest.raises(InputError, match="control character"):
        store.subscribers.add("a@example.com", "weekly", name="Ann\r\nBcc: x@example.com")
    with pytest.raises(InputError, match="not a valid list name"):
        store.subscribers.add("a@example.com", "Weekly List")


def test_remove_takes_an_address_off_one_list_only(store: Store) -> None:
    """remove ends one membership; the status and other lists stay."""
    store.subscribers.add("a@example.com", "weekly")
    store.subscribers.add("a@example.com", "editors")
    store.subscribers.remove("A@example.com", "weekly")
    details = store.subscribers.details("a@example.com")
    assert details.subscriber.status == Status.SUBSCRIBED
    assert {m.list_name: m.active for m in details.memberships} == {
        "editors": True,
        "weekly": False,
    }
    with pytest.raises(SubscriberNotFoundError, match="not on the list weekly"):
        store.subscribers.remove("a@example.com", "weekly")
    with pytest.raises(SubscriberNotFoundError, match="no such subscriber"):
        store.subscribers.remove("b@example.com", "weekly")


def test_unsubscribe_is_global_recorded_and_idempotent(store: Store) -> None:
    """unsubscribe stops every list, records why, and a second time changes nothing."""
    store.subscribers.add("a@example.com", "weekly")
    change = store.subscribers.unsubscribe("a@example.com", reason="asked by email")
    assert (change.before, change.after, change.changed) == (
        Status.SUBSCRIBED,
        Status.UNSUBSCRIBED,
        True,
    )
    assert not store.subscribers.unsubscribe("a@example.com").changed
    found = store.subscribers.details("a@example.com")
    assert found.subscriber.status_reason == "asked by email"
    assert found.history[-1].source == "cli"
    assert [batch for batch in store.subscribers.iter_active_members("weekly")] == []


def test_a_bounce_is_not_overwritten_by_an_unsubscribe(store: Store) -> None:
    """An address that bounced stays bounced when someone unsubscribes it."""
    store.subscribers.add("a@example.com", "weekly")
    store.subscribers.set_status(
        "a@example.com", Status.BOUNCED, reason="550", source=Source.WEBHOOK
    )
    assert store.subscribers.unsubscribe("a@example.com").after == Status.BOUNCED


def test_resubscribe_needs_a_known_address(store: Store) -> None:
    """resubscribe of an address the store never saw is an error, not a new subscriber."""
    with pytest.raises(SubscriberNotFoundError):
        store.subscribers.resubscribe("nobody@example.com")
    store.subscribers.add("a@example.com", "weekly")
    assert not store.subscribers.resubscribe("a@example.com").changed


def test_active_members_stream_in_batches_and_skip_the_suppressed(store: Store) -> None:
    """iter_active_members yields batches of the given size: subscribed members only."""
    rows = [CsvRow(n, f"r{n:03d}@example.com", None, None) for n in range(2, 27)]
    store.subscribers.import_entries(rows, "weekly", origin="test")
    store.subscribers.unsubscribe("r005@example.com")
    store.subscribers.remove("r006@example.com", "weekly")
    batches = list(store.subscribers.iter_active_members("weekly", batch_size=10))
    assert [len(batch) for batch in batches] == [10, 10, 3]
    emails = [s.email for batch in batches for s in batch]
    assert "r005@example.com" not in emails and "r006@example.com" not in emails
    assert emails == sorted(emails)  # id order: the order of the file here


def test_counts_by_list_and_status(store: Store) -> None:
    """list_counts counts current members by status; status_counts every subscriber."""
    store.subscribers.add("a@example.com", "weekly")
    store.subscribers.add("b@example.com", "weekly")
    store.subscribers.add("b@example.com", "editors")
    store.subscribers.unsubscribe("b@example.com")
    store.subscribers.unsubscribe("c@example.com")
    by_list = {c.list_name: c for c in store.subscribers.list_counts()}
    assert by_list["weekly"].by_status == {Status.SUBSCRIBED: 1, Status.UNSUBSCRIBED: 1}
    assert by_list["editors"].total == 1
    assert store.subscribers.status_counts() == {
        Status.SUBSCRIBED: 1,
        Status.UNSUBSCRIBED: 2,
        Status.BOUNCED: 0,
        Status.COMPLAINED: 0,
    }


def test_export_writes_a_csv_that_imports_back_unchanged(store: Store, tmp_path: Path) -> None:
    """export gives email, name and every attribute; importing it again changes nothing."""
    text = 'email,name,country,city\na@example.com,"Smith, Ann",KZ,\nb@example.com,,,Paris\n'
    store.subscribers.import_csv(write_csv(tmp_path / "in.csv", text), "weekly")
    out = io.StringIO()
    assert store.subscribers.export_csv("weekly", out, status=Status.SUBSCRIBED) == 2
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [
        ["email", "name", "city", "country"],
        ["a@example.com", "Smith, Ann", "", "KZ"],
        ["b@example.com", "", "Paris", ""],
    ]
    again = store.subscribers.import_csv(write_csv(tmp_path / "out.csv", out.getvalue()), "weekly")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
