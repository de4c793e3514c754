"""The real server (uvicorn on 127.0.0.1) under concurrent use, and beside a running send."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest

from newsletter.message import PersonalMessage
from newsletter.secrets import signing_secret
from newsletter.store import Status, Store
from newsletter.transports.memory import MemoryTransport
from tests.dispatch.support import make_world
from tests.feedback.signing import Signer
from tests.transports.harness import free_port
from tests.web.support import SECRET, local_site_config, sendgrid_event, served, subscribe

ONE_CLICK = b"List-Unsubscribe=One-Click"


def test_concurrent_one_click_posts_and_a_webhook_lose_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """50 one-click POSTs (25 readers, each twice) from 10 clients while a signed 300-event
    webhook arrives: every answer 200, every change committed exactly once."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    signer = Signer.new()
    config, port = local_site_config(signer)
    with Store.open(f"sqlite:///{tmp_path / 'store.sqlite3'}", create=True) as store:
        emails = subscribe(store, 25)
        bouncing = subscribe(store, 300, start=1001)
        secret = signing_secret()
        tokens = [store.subscribers.token_for(email, secret) for email in emails] * 2
        events = [
            sendgrid_event(e, "bounce", f"b{n}", type="bounce", timestamp=int(time.time()))
            for n, e in enumerate(bouncing)
        ]
        body = json.dumps(events).encode()
        with (
            served(config, store, port) as url,
            httpx2.Client(base_url=url, timeout=10) as client,
            ThreadPoolExecutor(10) as pool,
        ):
            webhook = pool.submit(
                client.post,
                "/webhooks/sendgrid",
                content=body,
                headers=signer.sign(body, int(time.time())),
            )
            statuses = list(
                pool.map(
                    lambda t: client.post(f"/unsubscribe/{t}", content=ONE_CLICK).status_code,
                    tokens,
                )
            )
            assert webhook.result().json()["suppressed"] == 300
        assert statuses == [200] * 50
        for email in emails:
            history = store.subscribers.details(email).history
            assert [h.to_status.value for h in history].count("unsubscribed") == 1
            assert history[-1].to_status == "unsubscribed"
        assert store.subscribers.status_counts()[Status.BOUNCED] == 300


def test_unsubscribe_during_a_send_is_honoured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader who unsubscribes on the web while a send runs is dropped when their batch is
    claimed; one whose batch is already on its way gets that issue, and nothing after."""
    world = make_world(tmp_path, monkeypatch)
    emails = world.subscribe(300)
    late, early = emails[249], emails[49]  # batch 3 (not claimed yet), batch 1 (in flight)
    port = free_port()
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    # The web endpoint opens the store on its own, as `newsletter serve` would: two engines
    # on one SQLite file in WAL mode.
    with Store.open(url) as web_store, served(world.config, web_store, port) as base:
        tokens = [world.store.subscribers.token_for(e, signing_secret()) for e in (late, early)]

        def unsubscribe_on_first_batch(call: int, batch: Sequence[PersonalMessage]) -> None:
            if call == 1:
                for token in tokens:
                    answer = httpx2.post(f"{base}/unsubscribe/{token}", timeout=10)
                    assert answer.status_code == 200

        transport = MemoryTransport(max_batch=100, outcomes=unsubscribe_on_first_batch)
        report = world.send(transport, concurrency=1, batch_size=100)
    sent = transport.recipients()
    assert late not in sent and early in sent
    assert len(sent) == 299
    assert report.send.removed == 1
    assert report.counts == {"accepted": 299}
    assert world.store.subscribers.get(late).status == "unsubscribed"  # type: ignore[union-attr]
    assert world.store.subscribers.get(early).status == "unsubscribed"  # type: ignore[union-attr]
