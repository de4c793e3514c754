"""A web endpoint over a throw-away store: config, subscribers, signed requests, servers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.testclient import TestClient

from newsletter.config import Config, Webhook
from newsletter.csvio import CsvRow
from newsletter.secrets import Secret
from newsletter.states import SendState
from newsletter.store import Store
from newsletter.tokens import make_token
from newsletter.web.app import create_app
from newsletter.web.bodies import BodyLimits
from newsletter.web.server import uvicorn_config
from tests.delivery_support import delivery_config
from tests.feedback.signing import Signer
from tests.transports.harness import free_port

SECRET = "web-tests-secret-0123456789abcdefghijkl"  # noqa: S105 - a test secret
OTHER_SECRET = "another-newsletter-secret-0123456789abc"  # noqa: S105
NOW = 1_800_000_000
ISSUE = "2025-09-12"


def web_config(base_url: str, signer: Signer | None = None, **webhook: Any) -> Config:
    """The repo's config with a public base URL and (optionally) the webhook key."""
    config = delivery_config()
    publication = config.publication.model_copy(update={"public_base_url": base_url})
    key = signer.public_key_b64 if signer else None
    settings = Webhook.model_validate({"sendgrid_public_key": key, **webhook})
    return config.model_copy(update={"publication": publication, "webhook": settings})


@dataclass
class Site:
    """A store, the app over it, and a test client; `clock` is the webhook's now."""

    config: Config
    store: Store
    signer: Signer
    secret: Secret = field(default_factory=lambda: Secret("NEWSLETTER_SECRET", SECRET))
    clock: list[float] = field(default_factory=lambda: [float(NOW)])
    bodies: BodyLimits | None = None

    def __post_init__(self) -> None:
        app = create_app(
            self.config,
            self.store,
            secret=self.secret,
            clock=lambda: self.clock[0],
            bodies=self.bodies,
        )
        self.client = TestClient(app, base_url="https://news.example.com")

    def subscribe(self, count: int, list_name: str = "weekly", start: int = 1) -> list[str]:
        return subscribe(self.store, count, list_name, start)

    def token(self, email: str) -> str:
        return self.store.subscribers.token_for(email, self.secret)

    def status(self, email: str) -> str:
        found = self.store.subscribers.get(email)
        assert found is not None
        return found.status.value

    def open_send(
        self, issue: str = ISSUE, list_name: str = "weekly", content_hash: str = "c" * 64
    ) -> int:
        """A send of `issue` to `list_name`, recorded as started (the archive publishes a
        kept version whose content_hash a finished send recorded)."""
        record = self.store.sends.open_send(
            issue_id=issue,
            list_name=list_name,
            content_hash=content_hash,
            message_hash="m" * 64,
            transport="sendgrid",
            force=True,
        )
        return record.id

    def mark_sent(self, send_id: int, state: str = "accepted") -> None:
        """Every pending delivery of the send claimed and answered with `state`, as a
        run that sent them all in one batch records it."""
        mark_sent(self.store, send_id, state)

    def finish_send(
        self, issue: str = ISSUE, list_name: str = "weekly", content_hash: str = "c" * 64
    ) -> None:
        self.store.sends.finish_send(
            self.open_send(issue, list_name, content_hash), SendState.FINISHED, note=None
        )

    def post_events(
        self, events: list[dict[str, Any]], *, signer: Signer | None = None, age: int = 0
    ) -> Any:
        body = json.dumps(events).encode()
        headers = (signer or self.signer).sign(body, int(self.clock[0]) - age)
        return self.client.post("/webhooks/sendgrid", content=body, headers=headers)


def mark_sent(store: Store, send_id: int, state: str = "accepted") -> None:
    """Every pending delivery of the send claimed in one batch and answered with `state`
    (accepted, or ambiguous: the answer was lost)."""
    number = store.sends.last_batch_number(send_id) + 1
    batch = store.sends.claim_batch(send_id, 0, 1_000_000, number)
    assert batch is not None
    ids = [claimed.delivery_id for claimed in batch.claimed]
    store.sends.record_outcomes(send_id, number, {(state, None, None): ids})


def subscribe(store: Store, count: int, list_name: str = "weekly", start: int = 1) -> list[str]:
    """Readers reader00001@example.com… on a list; their addresses."""
    emails = [f"reader{n:05d}@example.com" for n in range(start, start + count)]
    rows = [CsvRow(n, email, None, None) for n, email in enumerate(emails, 2)]
    store.subscribers.import_entries(rows, list_name, origin="test")
    return emails


def sendgrid_event(email: str, event: str, event_id: str, **fields: Any) -> dict[str, Any]:
    """One event as SendGrid posts it; custom_args (issue, list, subscriber_id) on top."""
    return {
        "email": email,
        "event": event,
        "sg_event_id": event_id,
        "sg_message_id": "msg-1.filter",
        "timestamp": NOW - 60,
        **fields,
    }


def make_site(
    tmp_path: Path, signer: Signer, bodies: BodyLimits | None = None, **webhook: Any
) -> Site:
    store = Store.open(f"sqlite:///{tmp_path / 'store.sqlite3'}", create=True)
    config = web_config("https://news.example.com", signer, **webhook)
    return Site(config, store, signer, bodies=bodies)


@contextmanager
def served(config: Config, store: Store, port: int, log_level: str = "warning") -> Iterator[str]:
    """The real app under uvicorn on 127.0.0.1:`port`, in a thread; stopped on exit.
    NEWSLETTER_SECRET must be set (the app reads it as `serve` does)."""
    server = uvicorn.Server(uvicorn_config(config, store, "127.0.0.1", port, log_level=log_level))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def local_site_config(signer: Signer | None = None) -> tuple[Config, int]:
    """A config whose public base URL is a free port on 127.0.0.1, and that port."""
    port = free_port()
    return web_config(f"http://127.0.0.1:{port}", signer), port


__all__ = [
    "ISSUE",
    "NOW",
    "OTHER_SECRET",
    "SECRET",
    "Site",
    "make_site",
    "make_token",
    "sendgrid_event",
    "served",
    "subscribe",
]
