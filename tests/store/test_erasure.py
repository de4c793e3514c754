"""Erasure in the store itself: after `forget`, no byte of the address or the name (nor,
for a reader who came through the sign-up form with record_ip on, the recorded IP) is
left in the SQLite file (and its write-ahead log) or in a pg_dump of PostgreSQL, and the
keyed hash kept meets the address again wherever it comes back."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from starlette.testclient import TestClient

from newsletter.csvio import CsvRow
from newsletter.errors import SuppressedError
from newsletter.secrets import Secret
from newsletter.store import DeliveryEvent, ProviderEvent, Source, Status, Store, Suppression
from tests.store.conftest import SECRET
from tests.tools import missing
from tests.web.signup_support import BASE, SignupSite, make_signup_site

ADDRESS = "zelda.quixote@example.net"
NAME = "Zelda Quixotic-Marsh"
NEW_ADDRESS = "zelda.elsewhere@example.org"
SECRETS = Secret("NEWSLETTER_SECRET", SECRET)


def _fill(store: Store) -> int:
    """The store holding the address everywhere it can be: row, name, attributes, status
    reasons, history, a frozen audience with a provider's bounce text, a pending change
    of address; and other readers around it. The subscriber's id."""
    rows = [CsvRow(n, f"other{n}@example.com", f"Other {n}", None) for n in range(2, 60)]
    rows.append(CsvRow(60, ADDRESS, NAME, {"city": "Zelda's town"}))
    store.subscribers.import_entries(rows, "weekly", origin="test.csv")
    store.subscribers.unsubscribe(ADDRESS, reason=f"asked by {ADDRESS} ({NAME})")
    store.subscribers.resubscribe(ADDRESS, reason=f"{NAME} came back")
    record = store.sends.open_send(
        issue_id="2025-09-12",
        list_name="weekly",
        content_hash="c" * 64,
        message_hash="m" * 64,
        transport="sendgrid",
    )
    found = store.subscribers.get(ADDRESS)
    assert found is not None
    bounce = DeliveryEvent(
        "2025-09-12", "weekly", found.id, ADDRESS, "deferred", f"451 {ADDRESS} busy", _now()
    )
    store.feedback.apply_provider_events([ProviderEvent("ev-1", "deferred", delivery=bounce)])
    store.subscribers.pause(found.id, _now() + timedelta(weeks=2), source=Source.WEB)
    store.subscribers.request_address_change(
        found.id, NEW_ADDRESS, _now() + timedelta(days=7), source=Source.WEB
    )
    assert record.id
    return found.id


def _now() -> datetime:
    return datetime.now(UTC)


def _leaks(data: bytes) -> list[str]:
    lowered = data.lower()
    needles = (ADDRESS, "zelda.quixote", NAME, "quixotic", NEW_ADDRESS, "zelda's town")
    return [n for n in needles if n.lower().encode() in lowered]


def test_forget_leaves_only_the_keyed_hash(store: Store) -> None:
    """After forget the address is unknown, erased, and its row holds nothing personal;
    the ledger keeps the delivery (by id) and the history keeps dates, not text."""
    subscriber_id = _fill(store)
    store.subscribers.forget(subscriber_id, SECRETS, source=Source.CLI)
    assert store.subscribers.get(ADDRESS) is None
    assert store.erasures.is_erased(" " + ADDRESS.replace(".net", ".NET"), SECRETS)
    assert not store.erasures.is_erased("other2@example.com", SECRETS)
    left = store.subscribers.get_by_id(subscriber_id)
    assert left is not None
    assert (left.name, left.attributes, left.status) == (None, {}, Status.UNSUBSCRIBED)
    assert left.email.endswith("@erased.invalid")  # not an address anyone can type
    with store.database.read() as conn:
        members = conn.execute(
            text("SELECT count(*) FROM memberships WHERE subscriber_id = :id"), {"id": left.id}
        ).scalar_one()
        reasons = conn.execute(
            text("SELECT reason FROM status_history WHERE subscriber_id = :id"), {"id": left.id}
        ).scalars()
        assert set(reasons) == {None, "personal data erased on request"}
        emails = conn.execute(
            text("SELECT email FROM deliveries WHERE subscriber_id = :id"), {"id": left.id}
        ).scalars()
        assert list(emails) == [left.email]
    assert members == 0
    assert store.erasures.count() == 1


def test_sqlite_file_holds_no_byte_of_the_address_or_name(tmp_path: Path) -> None:
    """The SQLite file and its WAL, read as bytes after forget (the store still open),
    contain neither the address, its local part, the name, the new address nor the
    attribute; before forget they did (so the check can see them)."""
    path = tmp_path / "store.sqlite3"
    with Store.open(f"sqlite:///{path}", create=True) as store:
        subscriber_id = _fill(store)
        assert _leaks(_sqlite_bytes(path)), "the test must see the data before erasing"
        store.subscribers.forget(subscriber_id, SECRETS, source=Source.CLI)
        assert _leaks(_sqlite_bytes(path)) == []
    assert _leaks(_sqlite_bytes(path)) == []


def _sqlite_bytes(path: Path) -> bytes:
    return b"".join(
        p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()
    )


def test_postgresql_dump_holds_no_byte_of_the_address_or_name(
    postgres_admin: object, tmp_path: Path
) -> None:
    """pg_dump of the store's schema after forget contains neither the address, the name,
    the new address nor the attribute; before forget it did."""
    if shutil.which("pg_dump") is None:
        missing("pg_dump is not installed (apt install postgresql-client)")
    url: URL = postgres_admin()  # type: ignore[operator]
    with Store.open(url, create=True) as store:
        subscriber_id = _fill(store)
        assert _leaks(_pg_dump(url)), "the test must see the data before erasing"
        store.subscribers.forget(subscriber_id, SECRETS, source=Source.CLI)
        assert _leaks(_pg_dump(url)) == []


def _pg_dump(url: URL) -> bytes:
    schema = str(url.query["options"]).removeprefix("-csearch_path=")
    command = [
        "pg_dump",
        "--no-owner",
        f"--host={url.host}",
        f"--port={url.port or 5432}",
        f"--username={url.username}",
        f"--schema={schema}",
        str(url.database),
    ]
    env = {"PATH": "/usr/bin:/bin", "PGPASSWORD": url.password or ""}
    done = subprocess.run(command, capture_output=True, check=True, env=env, timeout=60)
    return done.stdout


def test_an_erased_address_is_suppressed_on_import_and_feedback(
    store: Store, secret_env: str
) -> None:
    """A re-import counts the erased address suppressed and stores nothing of it; a
    provider's suppression of it stores nothing either; `add` refuses it."""
    subscriber_id = _fill(store)
    store.subscribers.forget(subscriber_id, SECRETS, source=Source.CLI)
    report = store.subscribers.import_entries(
        [CsvRow(2, ADDRESS, NAME, None), CsvRow(3, "fresh@example.com", None, None)],
        "weekly",
        origin="again.csv",
    )
    assert (report.suppressed, report.added) == (1, 1)
    assert store.subscribers.get(ADDRESS) is None
    pulled = store.feedback.suppress(
        [Suppression(ADDRESS, Status.BOUNCED, "550")], source=Source.SYNC
    )
    assert pulled.suppressed == 0
    assert store.subscribers.get(ADDRESS) is None
    with pytest.raises(SuppressedError, match="erased"):
        store.subscribers.add(ADDRESS, "weekly")


# -- a reader who came through the sign-up form, with signup.record_ip on ----------------

SIGNUP_IP = "203.0.113.77"  # RFC 5737 TEST-NET-3: stored only because record_ip is on


def _signed_up(site: SignupSite) -> int:
    """ADDRESS signs up on the form (name NAME, from SIGNUP_IP) and confirms from the
    email: the store then holds a consent record with the IP, and the sign-up's row.
    The subscriber's id."""
    site.client = TestClient(site.app, base_url=BASE, client=(SIGNUP_IP, 50000))
    answer = site.post(ADDRESS, extra={"name": NAME})
    assert answer.status_code == 200
    [confirmation] = site.emails_to(ADDRESS)
    assert site.confirm(site.confirm_path(confirmation)).status_code == 200
    found = site.store.subscribers.details(ADDRESS)
    assert found.consent is not None
    assert found.consent.ip == SIGNUP_IP
    assert found.subscriber.name == NAME
    return found.subscriber.id


def _signup_leaks(data: bytes) -> list[str]:
    return _leaks(data) + ([SIGNUP_IP] if SIGNUP_IP.encode() in data else [])


def test_sqlite_file_holds_nothing_of_a_signed_up_reader(tmp_path: Path) -> None:
    """A reader who signed up through the form with record_ip on: after forget, the SQLite
    file and its WAL hold neither the address, the name nor the recorded IP (the consent
    record is cleared and the sign-up's row deleted); before forget they held all three,
    and a second sign-up of the address then stores nothing and sends nothing."""
    path = tmp_path / "store.sqlite3"
    site = make_signup_site(tmp_path, f"sqlite:///{path}", record_ip=True)
    with site.store as store:
        subscriber_id = _signed_up(site)
        before = _signup_leaks(_sqlite_bytes(path))
        assert {ADDRESS, NAME, SIGNUP_IP} <= set(before), "the test must see the data first"
        store.subscribers.forget(subscriber_id, site.secret, source=Source.CLI)
        assert _signup_leaks(_sqlite_bytes(path)) == []
        _signs_up_again_to_no_effect(site)
        assert _signup_leaks(_sqlite_bytes(path)) == []
    assert _signup_leaks(_sqlite_bytes(path)) == []


def test_postgresql_dump_holds_nothing_of_a_signed_up_reader(
    postgres_admin: object, tmp_path: Path
) -> None:
    """The same on PostgreSQL: a pg_dump after forget holds neither the address, the name
    nor the recorded IP of a reader who came through the sign-up form."""
    if shutil.which("pg_dump") is None:
        missing("pg_dump is not installed (apt install postgresql-client)")
    url: URL = postgres_admin()  # type: ignore[operator]
    site = make_signup_site(tmp_path, url, record_ip=True)
    with site.store as store:
        subscriber_id = _signed_up(site)
        before = _signup_leaks(_pg_dump(url))
        assert {ADDRESS, NAME, SIGNUP_IP} <= set(before), "the test must see the data first"
        store.subscribers.forget(subscriber_id, site.secret, source=Source.CLI)
        assert _signup_leaks(_pg_dump(url)) == []
        _signs_up_again_to_no_effect(site)
        assert _signup_leaks(_pg_dump(url)) == []


def _signs_up_again_to_no_effect(site: SignupSite) -> None:
    """The erased address signs up again (after the hourly limit): the same answer as
    ever, yet no confirmation email and nothing stored."""
    site.clock.advance(timedelta(hours=2))
    sent = len(site.emails())
    assert site.post(ADDRESS, extra={"name": NAME}).status_code == 200
    assert len(site.emails()) == sent
    assert site.store.readers.pending_count() == 0
