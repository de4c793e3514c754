"""One harness per transport: start what it talks to, and read back what arrived.

The contract suite (test_contract.py) runs the same tests against every
harness, comparing what each recipient would see in their inbox.
"""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from newsletter.config import Config
from newsletter.transports import Transport, open_transport
from newsletter.transports.memory import MemoryTransport
from newsletter.transports.outbox import read_outbox
from tests.delivery_support import delivery_config
from tests.fakes.sendgrid_server import FakeSendGrid, spec_dir, spec_missing_reason

API_KEY = "SG.test-key-never-printed"


@dataclass(frozen=True)
class Delivered:
    """A message as its recipient receives it."""

    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]  # lower-cased names
    to_name: str = ""  # the display name in To
    envelope: tuple[str, ...] | None = None  # RCPT TO addresses, where the transport has them


def from_mime(raw: bytes, envelope: tuple[str, ...] | None = None) -> Delivered:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    parts = [part.get_content_type() for part in message.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    (to,) = message["To"].addresses
    return Delivered(
        to=to.addr_spec,
        subject=str(message["Subject"]),
        text=text,
        html=html,
        headers={k.lower(): str(v) for k, v in message.items()},
        to_name=to.display_name,
        envelope=envelope,
    )


def from_sendgrid(body: dict[str, Any]) -> list[Delivered]:
    """What SendGrid would deliver for each personalization of an accepted request."""
    delivered = []
    content = {c["type"]: c["value"] for c in body["content"]}
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    for entry in body["personalizations"]:
        text, html = content["text/plain"], content["text/html"]
        for key, value in entry.get("substitutions", {}).items():
            text, html = text.replace(key, value), html.replace(key, value)
        headers = {**body.get("headers", {}), **entry.get("headers", {})}
        (to,) = entry["to"]
        delivered.append(
            Delivered(
                to=to["email"],
                subject=entry.get("subject", body["subject"]),
                text=text,
                html=html,
                headers={k.lower(): v for k, v in headers.items()},
                to_name=to.get("name", ""),
            )
        )
    return delivered


class Harness:
    name: str
    config: Config

    def transport(self) -> Transport:
        return open_transport(self.config, self.name)

    def delivered(self) -> list[Delivered]:
        raise NotImplementedError


class OutboxHarness(Harness):
    name = "outbox"

    def __init__(self, tmp_path: Path) -> None:
        self.folder = tmp_path / "outbox"
        self.config = delivery_config(outbox={"folder": self.folder}).model_copy(
            update={"base_dir": tmp_path}
        )

    def delivered(self) -> list[Delivered]:
        return [
            from_mime(raw)
            for maildir in sorted(self.folder.glob("*"))
            for raw in read_outbox(maildir)
        ]


class MemoryHarness(Harness):
    """The in-memory transport, building each message's MIME as the outbox and SMTP do."""

    name = "memory"

    def __init__(self) -> None:
        self.config = delivery_config()
        self.memory = MemoryTransport(build=True)

    def transport(self) -> Transport:
        return self.memory

    def delivered(self) -> list[Delivered]:
        return [from_mime(raw) for raw in self.memory.raw]


class SendGridHarness(Harness):
    name = "sendgrid"

    def __init__(self, server: FakeSendGrid) -> None:
        self.server = server
        self.config = delivery_config(retry_base_seconds=0.01)

    def delivered(self) -> list[Delivered]:
        found = []
        for request in self.server.accepted:
            assert request.body is not None
            found += from_sendgrid(request.body)
        return found


class Collector:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.refuse: dict[str, str] = {}  # address -> SMTP reply
        self.sessions: set[int] = set()  # one per SMTP connection
        self.quits = 0  # connections the client closed politely
        self.resets = 0  # RSET commands seen

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.quits += 1
        return "221 Bye"

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.resets += 1
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.sessions.add(id(session))
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK: queued"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class SmtpHarness(Harness):
    name = "smtp"

    def __init__(self, port: int, collector: Collector) -> None:
        self.collector = collector
        smtp = {"host": "127.0.0.1", "port": port, "security": "none", "timeout_seconds": 5}
        self.config = delivery_config(retry_base_seconds=0.01, smtp=smtp)

    def delivered(self) -> list[Delivered]:
        return [from_mime(raw, tuple(to)) for to, raw in self.collector.messages]


@contextmanager
def smtp_server(
    handler: Collector | None = None, **controller_options: Any
) -> Iterator[tuple[int, Collector, Controller]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1, stopped on exit."""
    collector = handler or Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port, **controller_options)
    controller.start()
    try:
        yield port, collector, controller
    finally:
        controller.stop()


@contextmanager
def sendgrid_server(monkeypatch: pytest.MonkeyPatch, **options: Any) -> Iterator[FakeSendGrid]:
    """The SendGrid-compatible server on 127.0.0.1, with the client's env pointing at it."""
    if spec_dir() is None:
        pytest.skip(spec_missing_reason())
    with FakeSendGrid(api_key=API_KEY, **options) as server:
        monkeypatch.setenv("SENDGRID_API_KEY", API_KEY)
        monkeypatch.setenv("SENDGRID_API_HOST", server.url)
        yield server
