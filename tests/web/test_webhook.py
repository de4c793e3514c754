"""SendGrid's signed Event Webhook through the app: only genuine, recent, new events count."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.errors import StoreError
from newsletter.web.bodies import BodyLimits
from tests.feedback.signing import Signer
from tests.web.support import ISSUE, NOW, Site, make_site, sendgrid_event


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.new()


@pytest.fixture
def site(tmp_path: Path, signer: Signer) -> Iterator[Site]:
    made = make_site(tmp_path, signer)
    made.subscribe(4)
    made.mark_sent(made.open_send())  # readers 1-4 of the 2025-09-12 issue, accepted
    yield made
    made.store.close()


def ours(n: int, event: str, event_id: str, **fields: object) -> dict[str, object]:
    """An event about reader n's message of ISSUE, with the custom_args our sender sets."""
    return sendgrid_event(
        f"reader{n:05d}@example.com",
        event,
        event_id,
        issue=ISSUE,
        list="weekly",
        subscriber_id=str(n),
        **fields,
    )


def test_signed_events_suppress_and_update_deliveries(site: Site) -> None:
    """Bounces, spam reports and unsubscribes suppress with a reason; deliveries record events."""
    events = [
        ours(1, "bounce", "e1", type="bounce", reason="550 5.1.1 no such user"),
        ours(2, "spamreport", "e2"),
        ours(3, "group_unsubscribe", "e3", asm_group_id=42),
        ours(4, "delivered", "e4", response="250 OK"),
    ]
    answer = site.post_events(events)
    assert answer.status_code == 200
    assert answer.json() == {
        "received": 4,
        "duplicates": 0,
        "suppressed": 3,
        "deliveries_updated": 2,
        "counted": 4,
        "anomalies": 0,
        "resolved_by_evidence": 0,
        "message_faults": 0,
        "unclassified": 0,
    }
    assert [site.status(f"reader{n:05d}@example.com") for n in range(1, 5)] == [
        "bounced",
        "complained",
        "unsubscribed",
        "subscribed",
    ]
    subscriber = site.store.subscribers.get("reader00001@example.com")
    assert subscriber is not None
    assert subscriber.status_reason == "bounce: 550 5.1.1 no such user"
    assert site.store.subscribers.details("reader00001@example.com").history[-1].source == "webhook"
    event, at, detail = site.store.feedback.provider_event(ISSUE, "weekly", 4) or (None, None, None)
    assert (event, detail) == ("delivered", "250 OK")
    assert at is not None and int(at.timestamp()) == NOW - 60
    assert site.store.feedback.provider_event(ISSUE, "weekly", 1)[0] == "bounce"  # type: ignore[index]


def test_replayed_event_is_applied_once(site: Site) -> None:
    """The same sg_event_id again (SendGrid's retry) counts as a duplicate and changes nothing."""
    first = site.post_events([ours(1, "unsubscribe", "same-id")])
    site.client.post(f"/resubscribe/{site.token('reader00001@example.com')}")
    again = site.post_events([ours(1, "unsubscribe", "same-id"), ours(2, "open", "other")])
    assert first.json()["suppressed"] == 1
    assert again.json()["duplicates"] == 1
    assert site.status("reader00001@example.com") == "subscribed"  # not unsubscribed twice


def test_duplicate_within_one_batch_is_applied_once(site: Site) -> None:
    """A batch that repeats an event id applies the first occurrence only."""
    answer = site.post_events(
        [ours(4, "deferred", "d1", timestamp=NOW - 100), ours(4, "deferred", "d1")]
    )
    assert answer.json()["duplicates"] == 1


def test_events_out_of_order_keep_the_newest(site: Site) -> None:
    """A late 'deferred' older than the 'delivered' already recorded does not overwrite it."""
    site.post_events([ours(4, "delivered", "a", timestamp=NOW - 10)])
    site.post_events([ours(4, "deferred", "b", timestamp=NOW - 500)])
    assert site.store.feedback.provider_event(ISSUE, "weekly", 4)[0] == "delivered"  # type: ignore[index]


def test_event_without_subscriber_id_matches_by_address(site: Site) -> None:
    """custom_args without subscriber_id still find the delivery by issue, list and address."""
    event = ours(3, "dropped", "x", reason="Spam Content")
    del event["subscriber_id"]
    assert site.post_events([event]).json()["deliveries_updated"] == 1
    assert site.store.feedback.provider_event(ISSUE, "weekly", 3)[0] == "dropped"  # type: ignore[index]
    assert site.status("reader00003@example.com") == "subscribed"  # spam content: no suppression


def test_unknown_address_is_stored_suppressed(site: Site) -> None:
    """A bounce for an address we never stored keeps it suppressed for any later import."""
    site.post_events([sendgrid_event("Stranger@Example.org", "bounce", "s1", type="bounce")])
    assert site.status("stranger@example.org") == "bounced"


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        ("unsigned", 401),
        ("tampered", 403),
        ("wrong key", 403),
        ("old", 403),
        ("future", 403),
    ],
)
def test_refused_requests_change_nothing(site: Site, mutate: str, status: int) -> None:
    """Unsigned, tampered, foreign-key, old or future-dated requests are refused; no change."""
    body = json.dumps([ours(1, "spamreport", "r1")]).encode()
    headers = site.signer.sign(body, NOW)
    if mutate == "unsigned":
        headers = {}
    elif mutate == "tampered":
        body = body.replace(b"spamreport", b"unsubscribe")
    elif mutate == "wrong key":
        headers = Signer.new().sign(body, NOW)
    elif mutate == "old":
        headers = site.signer.sign(body, NOW - 301)
    elif mutate == "future":
        headers = site.signer.sign(body, NOW + 301)
    answer = site.client.post("/webhooks/sendgrid", content=body, headers=headers)
    assert answer.status_code == status
    assert site.status("reader00001@example.com") == "subscribed"
    # Refused before parsing: the id was not recorded, so the genuine retry still applies.
    assert site.post_events([ours(1, "spamreport", "r1")]).json()["suppressed"] == 1


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"event": "bounce"}',
        b"[1, 2]",
        b'[{"event": "bounce"}]',
        b'[{"email":"a@example.com","event":"bounce","sg_event_id":"x","timestamp":"soon"}]',
        b"\xff\xfe",
        b"",
    ],
)
def test_malformed_signed_bodies_get_400_never_500(site: Site, body: bytes) -> None:
    """A correctly signed body that is not SendGrid's event array is a 400, and changes nothing."""
    answer = site.client.post(
        "/webhooks/sendgrid", content=body, headers=site.signer.sign(body, NOW)
    )
    assert answer.status_code == 400
    assert "error" in answer.json()


def test_out_of_range_timestamp_is_400(site: Site) -> None:
    """An event time no calendar can hold is malformed input, not a server error."""
    event = ours(4, "delivered", "t", timestamp=10**20)
    assert site.post_events([event]).status_code == 400


def test_without_a_configured_key_every_request_is_refused(tmp_path: Path) -> None:
    """No webhook key in config.yaml: 503 (SendGrid retries later), and nothing is applied."""
    site = make_site(tmp_path, Signer.new(), sendgrid_public_key=None)
    site.subscribe(1)
    answer = site.post_events([ours(1, "spamreport", "k1")])
    assert answer.status_code == 503
    assert site.status("reader00001@example.com") == "subscribed"
    site.store.close()


def test_oversized_body_is_413(tmp_path: Path, signer: Signer) -> None:
    """A body over the size limit is refused: by its Content-Length before a byte is read."""
    site = make_site(tmp_path, signer, bodies=BodyLimits(max_bytes=100))
    body = json.dumps([ours(1, "spamreport", f"big{n}") for n in range(5)]).encode()
    answer = site.client.post(
        "/webhooks/sendgrid", content=body, headers=site.signer.sign(body, NOW)
    )
    assert answer.status_code == 413
    assert answer.headers["connection"] == "close"
    site.store.close()


def test_message_level_drop_suppresses_nobody_and_is_reported(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """'Invalid SMTPAPI header' is a fault of the message: the reader stays subscribed, the
    answer counts it, the log names it, the delivery record keeps it."""
    caplog.set_level("INFO")
    answer = site.post_events(
        [
            ours(1, "dropped", "m1", reason="Invalid SMTPAPI header"),
            ours(2, "dropped", "m2", reason="Some New Reason"),
        ]
    )
    assert answer.json()["message_faults"] == 1 and answer.json()["unclassified"] == 1
    assert site.status("reader00001@example.com") == "subscribed"
    assert site.status("reader00002@example.com") == "subscribed"
    assert "'dropped Invalid SMTPAPI header' ×1" in caplog.text
    assert "'dropped Some New Reason' ×1" in caplog.text
    assert site.store.feedback.provider_event(ISSUE, "weekly", 1)[2] == "Invalid SMTPAPI header"  # type: ignore[index]


def test_store_failure_is_503_nothing_applied_and_logged(
    site: Site, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The store failing while events are applied: 503 (SendGrid retries), nothing applied,
    and an error line saying why, without the database password the message holds."""

    def down(*_: object, **__: object) -> None:
        raise StoreError("connection to postgresql://news:S3cret@db/news failed")

    monkeypatch.setattr(site.store.feedback, "apply_provider_events", down)
    answer = site.post_events([ours(1, "spamreport", "s1")])
    assert answer.status_code == 503
    assert answer.json() == {"error": "the store is unavailable; retry later"}
    assert site.status("reader00001@example.com") == "subscribed"
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors == [
        "sendgrid webhook: events not applied, SendGrid will retry: "
        "connection to postgresql://news:***@db/news failed"
    ]
