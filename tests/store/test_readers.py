"""`store.readers`: pending sign-ups, the hourly confirmation limit, confirmation and the
consent record, on SQLite and PostgreSQL (concurrent posts of one address included)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import URL

from newsletter.clock import FixedClock
from newsletter.store import ConfirmState, SignupRecorded, Source, Status, Store

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
HASH = "a" * 64


def _record(
    store: Store, email: str = "ann@example.com", address_hash: str = HASH
) -> SignupRecorded:
    return store.readers.record_signup(
        email=email,
        address_hash=address_hash,
        name="Ann",
        lists=["weekly"],
        consent_text_hash="c" * 64,
        consent_ip=None,
    )


def _open(url: URL) -> tuple[Store, FixedClock]:
    clock = FixedClock(START)
    return Store.open(url, create=True, clock=clock), clock


def test_one_pending_sign_up_per_address_and_one_email_per_hour(store_url: URL) -> None:
    """A second post of an address within the hour refreshes its one pending sign-up and
    may not send; after the hour it may."""
    store, clock = _open(store_url)
    with store:
        first = store.readers.record_signup(
            email="ann@example.com", address_hash=HASH, name=None, lists=["weekly"],
            consent_text_hash="c" * 64, consent_ip=None,
        )  # fmt: skip
        assert first.send_confirmation
        clock.advance(timedelta(minutes=59))
        second = _record(store)
        assert not second.send_confirmation
        assert second.signup.id == first.signup.id
        assert second.signup.name == "Ann"
        clock.advance(timedelta(minutes=2))
        assert _record(store).send_confirmation
        assert store.readers.pending_count() == 1


def test_confirming_subscribes_records_consent_and_clears_the_address(store_url: URL) -> None:
    """confirm(): subscribed to the lists, consent on the subscriber, history from web;
    the sign-up keeps no address; a second confirm is ALREADY_CONFIRMED and changes nothing."""
    store, clock = _open(store_url)
    with store:
        recorded = _record(store)
        clock.advance(timedelta(minutes=5))
        done = store.readers.confirm(recorded.signup.id)
        assert done is not None and done.state == ConfirmState.SUBSCRIBED and done.first_time
        details = store.subscribers.details("ann@example.com")
        assert details.subscriber.status == Status.SUBSCRIBED
        assert details.subscriber.name == "Ann"
        assert details.history[-1].source == Source.WEB
        assert details.consent is not None
        assert details.consent.posted_at == START
        assert details.consent.confirmed_at == START + timedelta(minutes=5)
        kept = store.readers.get(recorded.signup.id)
        assert kept is not None and kept.email is None and kept.name is None
        again = store.readers.confirm(recorded.signup.id)
        assert again is not None and again.state == ConfirmState.ALREADY_CONFIRMED
        assert store.subscribers.details("ann@example.com").history == details.history


def test_a_bounced_address_returns_only_through_confirmation(store_url: URL) -> None:
    """A bounced address's sign-up leaves it bounced; its confirmation subscribes it again."""
    store, _ = _open(store_url)
    with store:
        store.subscribers.set_status(
            "ann@example.com", Status.BOUNCED, reason="550", source=Source.WEBHOOK
        )
        recorded = _record(store)
        assert store.subscribers.get("ann@example.com").status == Status.BOUNCED  # type: ignore[union-attr]
        store.readers.confirm(recorded.signup.id)
        assert store.subscribers.get("ann@example.com").status == Status.SUBSCRIBED  # type: ignore[union-attr]


def test_purge_deletes_only_old_unconfirmed_sign_ups(store_url: URL) -> None:
    """purge_pending(older_than) deletes unconfirmed sign-ups posted before it; newer stay."""
    store, clock = _open(store_url)
    with store:
        _record(store, "old@example.com", "1" * 64)
        clock.advance(timedelta(days=10))
        _record(store, "new@example.com", "2" * 64)
        assert store.readers.purge_pending(START + timedelta(days=1)) == 1
        assert store.readers.pending_count() == 1
        assert store.readers.forget("2" * 64) == 1
        assert store.readers.pending_count() == 0


def test_concurrent_posts_of_one_address_share_one_sign_up_and_one_email(
    store_url: URL,
) -> None:
    """Eight threads post the same address at once: one pending row, one email allowed."""
    store, _ = _open(store_url)
    with store:
        results: list[bool] = []
        barrier = threading.Barrier(8)

        def post() -> None:
            barrier.wait()
            results.append(_record(store).send_confirmation)

        threads = [threading.Thread(target=post) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [False] * 7 + [True]
        assert store.readers.pending_count() == 1


def test_a_form_name_never_replaces_a_stored_one(store_url: URL) -> None:
    """Confirming a sign-up of a known address keeps the name the store holds: whoever
    typed the form's name may not own the address, and the Confirm page does not show it."""
    store, _ = _open(store_url)
    with store:
        store.subscribers.add("ann@example.com", "weekly", name="Ann Original")
        store.subscribers.unsubscribe("ann@example.com")
        recorded = _record(store)  # name "Ann" typed on the form
        done = store.readers.confirm(recorded.signup.id)
        assert done is not None and done.state == ConfirmState.SUBSCRIBED
        assert store.subscribers.details("ann@example.com").subscriber.name == "Ann Original"


def test_an_unconfirmed_sign_up_is_exported_and_erased(store_url: URL) -> None:
    """An address with only a sign-up waiting (no subscriber) is still covered by the
    rights of access and erasure: `pending_signups` shows it; `forget_pending` deletes
    the row and keeps the keyed hash, so the address counts as erased."""
    from newsletter.secrets import NEWSLETTER_SECRET, Secret
    from newsletter.store import address_hash

    secret = Secret(NEWSLETTER_SECRET, "s" * 40)
    store, _ = _open(store_url)
    with store:
        store.readers.record_signup(
            email="carol@example.com",
            address_hash=address_hash("carol@example.com", secret),
            name="Carol",
            lists=["weekly"],
            consent_text_hash="c" * 64,
            consent_ip="203.0.113.9",
        )
        waiting = store.erasures.pending_signups("Carol@Example.com")
        assert [row["email"] for row in waiting] == ["carol@example.com"]
        assert waiting[0]["name"] == "Carol" and waiting[0]["ip"] == "203.0.113.9"
        assert store.erasures.forget_pending("carol@example.com", secret) == 1
        assert store.erasures.pending_signups("carol@example.com") == []
        assert store.readers.pending_count() == 0
        assert store.erasures.is_erased("carol@example.com", secret)
        assert store.erasures.forget_pending("carol@example.com", secret) == 0
