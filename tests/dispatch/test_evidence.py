"""Doubt resolved by evidence: a SendGrid send whose answer was lost (connection cut
after SendGrid took the batch) is settled by SendGrid's own signed delivered events,
so nobody is resent; `retry --ambiguous` waits for those events unless told `--now`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from newsletter.api import Newsletter
from newsletter.clock import FixedClock
from newsletter.config import Config
from newsletter.errors import EvidencePendingError
from newsletter.feedback import load_public_key
from newsletter.store import Store
from newsletter.web.webhook import SendGridWebhook
from tests.conftest import REPO
from tests.dispatch.support import World, make_world
from tests.dispatch.test_sendgrid_faults import sendgrid
from tests.fakes.sendgrid_server import FakeSendGrid, Fault
from tests.feedback.signing import Signer
from tests.transports.harness import sendgrid_server

DIGEST = REPO / "digests" / "2025-09-12.json"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSendGrid]:
    with sendgrid_server(monkeypatch) as fake:
        yield fake
        assert fake.server_errors == []


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    made = make_world(tmp_path, monkeypatch)
    yield made
    made.store.close()


def delivered_events(body: dict[str, Any], at: int) -> list[dict[str, Any]]:
    """The delivered event SendGrid posts for each message of an accepted Mail Send body:
    message-level custom_args on top, each personalization's own merged in."""
    shared = body.get("custom_args", {})
    return [
        {
            "email": person["to"][0]["email"],
            "event": "delivered",
            "sg_event_id": f"delivered-{n}-{person['custom_args']['subscriber_id']}",
            "sg_message_id": f"msg-{n}.filter",
            "timestamp": at,
            **shared,
            **person["custom_args"],
        }
        for n, person in enumerate(body["personalizations"])
    ]


def post_signed(store: Store, events: list[dict[str, Any]], now: int) -> dict[str, Any]:
    """One batch through the real webhook, signed with a key pair made here."""
    signer = Signer.new()
    webhook = SendGridWebhook(store, load_public_key(signer.public_key_b64), clock=lambda: now)
    body = json.dumps(events).encode()
    headers = signer.sign(body, now)
    answer = webhook.handle(
        body,
        headers["X-Twilio-Email-Event-Webhook-Signature"],
        headers["X-Twilio-Email-Event-Webhook-Timestamp"],
    )
    assert answer.status == 200, answer.body
    return answer.body


def api_config(world: World, tmp_path: Path) -> Config:
    """The world's config, sending through SendGrid, with its store as the store."""
    database = world.config.database.model_copy(
        update={"url": f"sqlite:///{tmp_path / 'store.sqlite3'}"}
    )
    delivery = world.config.delivery.model_copy(update={"transport": "sendgrid"})
    check = world.config.check.model_copy(update={"deny_hosts": ["localhost"]})
    return world.config.model_copy(
        update={"database": database, "delivery": delivery, "check": check}
    )


def test_cut_connection_then_delivered_events_leave_nobody_in_doubt(
    world: World, server: FakeSendGrid, tmp_path: Path
) -> None:
    """SendGrid took batch 2 but the answer was lost: its 100 readers are ambiguous until
    SendGrid's delivered events come in; then none is in doubt (status and report say
    so), and `retry --ambiguous` resends nobody (the server got each reader exactly once)."""
    world.subscribe(300)
    server.on_request(lambda n: Fault.cut_after_accept() if n == 2 else None)
    report = world.send(sendgrid(world), batch_size=100, concurrency=1)
    assert report.counts == {"accepted": 200, "ambiguous": 100}
    cut = server.accepted[1].body
    assert cut is not None
    now = int(datetime.now(UTC).timestamp())
    answer = post_signed(world.store, delivered_events(cut, now - 30), now)
    assert answer["resolved_by_evidence"] == 100 and answer["anomalies"] == 0
    assert world.store.sends.send_counts(report.send.id) == {"accepted": 300}
    assert world.store.events.totals("2025-09-12").resolved_by_evidence == 100

    clock = FixedClock(datetime.now(UTC) + timedelta(hours=2))
    api = Newsletter(api_config(world, tmp_path), clock=clock)
    result = api.retry(DIGEST, "weekly", ambiguous=True)
    assert result.report is not None and result.report.counts == {"accepted": 300}
    assert len(server.accepted_recipients()) == 300  # nobody resent
    status = api.status("2025-09-12")[0]
    assert status.resolved_by_evidence == 100 and "ambiguous" not in status.counts
    shown = api.report("2025-09-12").issue  # the report says the same: 0 in doubt
    assert shown is not None
    assert (shown.ledger.accepted, shown.ledger.in_doubt, shown.resolved_by_evidence) == (
        300, 0, 100,
    )  # fmt: skip
    assert shown.summary.delivered == 100  # the delivered events posted, for batch 2


def test_retry_ambiguous_waits_for_sendgrids_events_unless_now(
    world: World, server: FakeSendGrid, tmp_path: Path
) -> None:
    """Within an hour of the batch in doubt, `retry --ambiguous` refuses (its events may
    still settle it) and resends nothing; with `now` it resends only those still in doubt."""
    world.subscribe(200)
    server.on_request(lambda n: Fault.cut_after_accept() if n == 2 else None)
    report = world.send(sendgrid(world), batch_size=100, concurrency=1)
    server.on_request(None)
    cut = server.accepted[1].body
    assert cut is not None
    now = int(datetime.now(UTC).timestamp())
    post_signed(world.store, delivered_events(cut, now)[:40], now)  # 40 of 100 settled
    api = Newsletter(api_config(world, tmp_path), clock=FixedClock(datetime.now(UTC)))
    with pytest.raises(EvidencePendingError, match="60 deliveries in doubt went out 0 min ago"):
        api.retry(DIGEST, "weekly", ambiguous=True)
    assert len(server.accepted_recipients()) == 200  # nothing resent
    api.retry(DIGEST, "weekly", ambiguous=True, now=True)
    assert len(server.accepted_recipients()) == 260  # only the 60 still in doubt
    assert world.store.sends.send_counts(report.send.id) == {"accepted": 200}
