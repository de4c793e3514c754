"""The real server (uvicorn on 127.0.0.1) under concurrent use, and beside a running send."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest

from newsletter.message import PersonalMessage
from newsletter.secrets import signing_secret
from newsletter.store.store import Store
from newsletter.transports.memory import MemoryTransport
from tests.dispatch.support import make_world
from tests.transports.harness import free_port
from tests.web.support import SECRET, local_site_config, served, subscribe


def test_concurrent_one_click_posts_lose_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """50 one-click POSTs (25 readers, each twice) from 10 clients: all 200, all committed once."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    config, port = local_site_config()
    with Store.open(f"sqlite:///{tmp_path / 'store.sqlite3'}") as store:
        emails = subscribe(store, 25)
        secret = signing_secret()
        tokens = [store.token_for(email, secret) for email in emails] * 2
        with (
            served(config, store, port) as url,
            httpx2.Client(base_url=url, timeout=10) as client,
            ThreadPoolExecutor(10) as pool,
        ):
            statuses = list(
                pool.map(
                    lambda t: (
                        client.post(
                            f"/unsubscribe/{t}", content=b"List-Unsubscribe=One-Click"
                        ).status_code
                    ),
                    tokens,
                )
            )
        assert statuses == [200] * 50
        for email in emails:
            history = store.details(email).history
            assert history[-1].to_status == "unsubscribed"
            assert [h.to_status.value for h in history].count("unsubscribed") == 1


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
        tokens = [world.store.token_for(e, signing_secret()) for e in (late, early)]

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
    assert world.store.get(late).status == "unsubscribed"  # type: ignore[union-attr]
    assert world.store.get(early).status == "unsubscribed"  # type: ignore[union-attr]
