"""A store with subscribers, a config and a rendered issue, for dispatch tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from newsletter.api.sending import recipient_builder
from newsletter.config import Config
from newsletter.csvio import CsvRow
from newsletter.dispatch.engine import Dispatcher, SendReport, SendRequest, SendSettings
from newsletter.message import IssueMessage
from newsletter.secrets import signing_secret
from newsletter.store import SendRecord, Store
from newsletter.transports import Pacer, Transport, open_transport
from tests.delivery_support import delivery_config, sample_issue

SECRET = "dispatch-tests-secret-0123456789abcdef"  # noqa: S105 - a test secret


@dataclass
class World:
    """Everything one dispatch test needs, on disk under tmp_path."""

    config: Config
    store: Store
    issue: IssueMessage

    def emails(self, count: int, start: int = 1) -> list[str]:
        return [f"reader{n:07d}@example.com" for n in range(start, start + count)]

    def subscribe(self, count: int, start: int = 1, list_name: str = "weekly") -> list[str]:
        emails = self.emails(count, start)
        rows = [CsvRow(n, email, None, None) for n, email in enumerate(emails, 2)]
        self.store.subscribers.import_entries(rows, list_name, origin="test")
        return emails

    def transport(self, name: str = "outbox", **_: Any) -> Transport:
        return open_transport(self.config, name, pacer=Pacer())

    def dispatcher(self, transport: Transport, **settings: Any) -> Dispatcher:
        defaults: dict[str, Any] = {"concurrency": 2, "batch_size": 100, "pass_wait_seconds": 0.01}
        return Dispatcher(
            self.store.sends,
            self.store.issues,
            transport,
            recipient_builder(self.config, signing_secret()),
            SendSettings(**{**defaults, **settings}),
        )

    def open_send(self, transport: str = "memory") -> SendRecord:
        """The world's issue opened as a send to "weekly" (its audience frozen), for tests
        that drive the ledger by hand rather than through a Dispatcher."""
        return self.store.sends.open_send(
            issue_id=self.issue.issue_id,
            list_name="weekly",
            content_hash=self.issue.content_hash,
            message_hash=self.issue.message_hash,
            transport=transport,
        )

    def send(self, transport: Transport, **settings: Any) -> SendReport:
        name = transport.name
        request = SendRequest(self.issue, "weekly", name)
        return self.dispatcher(transport, **settings).send(request)


def make_world(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: Any = None, **delivery: Any
) -> World:
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    config = delivery_config(
        retry_base_seconds=0.01, outbox={"folder": tmp_path / "outbox"}, **delivery
    )
    store = Store.open(url or f"sqlite:///{tmp_path / 'store.sqlite3'}", create=True)
    return World(config=config, store=store, issue=sample_issue(config))
