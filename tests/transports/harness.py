"""One harness per transport: start what it talks to, read back what arrived, and
arrange each outcome of the transport contract (newsletter.transports.base).

The contract suite (test_contract.py) runs the same tests against every
harness, comparing what each recipient would see in their inbox. Each harness
says how its transport meets each outcome:

- failed: outbox, an unbuildable message; sendgrid, a 400 naming the reader;
  smtp, 550 at RCPT; memory, `answer(email, FAILED)`.
- deferred: outbox, a Maildir that cannot be written (a file in the folder's
  way); sendgrid, 429 and 503 on every attempt; smtp, 421 and 451 at RCPT on
  every attempt; memory, a batch script answering DEFERRED.
- ambiguous: sendgrid, the connection cut after the request was read; smtp, the
  connection dropped after DATA; memory, a batch script answering AMBIGUOUS;
  the outbox never loses an answer: its ambiguity, a kill mid-batch, is
  tests/dispatch/test_kill_transports.py.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller

from newsletter.config import Config
from newsletter.message import PersonalMessage, Recipient
from newsletter.transports import Outcome, Transport, open_transport
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
    refusal_words: str  # what a FAILED result's error quotes (the provider's own words)
    deferrals: tuple[str, ...]  # the ways `defer` can make this transport defer
    schedules = False  # a Scheduler: honours send_at and batch_id

    def transport(self) -> Transport:
        return open_transport(self.config, self.name)

    def delivered(self) -> list[Delivered]:
        raise NotImplementedError

    def refuse_for_good(self, message: PersonalMessage) -> PersonalMessage:
        """Arrange for this reader to be refused for good; the message to send."""
        raise NotImplementedError

    def defer(self, kind: str, messages: list[PersonalMessage]) -> None:
        """Arrange for the next send of `messages` to be deferred, the `kind` way."""
        raise NotImplementedError

    def recover(self) -> None:
        """Undo `defer`: the next send goes through."""
        raise NotImplementedError

    def lose_answer(self) -> None:
        """Arrange for the next request to arrive and its answer to be lost."""
        raise NotImplementedError


class OutboxHarness(Harness):
    """For a file transport, FAILED is a message that cannot be built (no file could
    hold it), DEFERRED a Maildir that cannot be written now (a full disk, a file in the
    folder's way): DeliveryHaltedError carries the DEFERRED results, and the same
    messages are written once when the folder is usable again. It never loses an
    answer: the one ambiguity, a kill in the middle of a batch, is proven by
    tests/dispatch/test_kill_transports.py::test_outbox_kill_9_and_resume."""

    name = "outbox"
    refusal_words = "the part before the @ has non-ASCII characters"
    deferrals = ("unwritable",)

    def __init__(self, tmp_path: Path) -> None:
        self.folder = tmp_path / "outbox"
        self.config = delivery_config(outbox={"folder": self.folder}).model_copy(
            update={"base_dir": tmp_path}
        )

    def delivered(self) -> list[Delivered]:
        if not self.folder.is_dir():
            return []
        return [
            from_mime(raw)
            for maildir in sorted(self.folder.glob("*"))
            for raw in read_outbox(maildir)
        ]

    def refuse_for_good(self, message: PersonalMessage) -> PersonalMessage:
        # A non-ASCII local part needs SMTPUTF8, which the message builder refuses.
        reader = message.recipient
        unbuildable = Recipient(
            email="ñoño@example.com",
            name=reader.name,
            subscriber_id=reader.subscriber_id,
            unsubscribe_url=reader.unsubscribe_url,
        )
        return message.issue.personalise(unbuildable)

    def defer(self, kind: str, messages: list[PersonalMessage]) -> None:
        assert kind == "unwritable"
        if self.folder.is_dir():
            shutil.rmtree(self.folder)
        self.folder.write_text("a file where the outbox folder should be")

    def recover(self) -> None:
        self.folder.unlink()

    def lose_answer(self) -> None:
        pytest.skip(
            "the outbox is in-process and never loses an answer; its ambiguity (a kill "
            "mid-batch) is tests/dispatch/test_kill_transports.py::test_outbox_kill_9_and_resume"
        )


class MemoryHarness(Harness):
    """The in-memory transport, building each message's MIME as the outbox and SMTP do."""

    name = "memory"
    refusal_words = "550 mailbox unavailable (scripted)"
    deferrals = ("scripted",)

    def __init__(self) -> None:
        self.config = delivery_config()
        self.memory = MemoryTransport(build=True)

    def transport(self) -> Transport:
        return self.memory

    def delivered(self) -> list[Delivered]:
        return [from_mime(raw) for raw in self.memory.raw]

    def refuse_for_good(self, message: PersonalMessage) -> PersonalMessage:
        self.memory.answer(message.recipient.email, Outcome.FAILED, self.refusal_words)
        return message

    def defer(self, kind: str, messages: list[PersonalMessage]) -> None:
        self.memory.script = lambda call, batch: Outcome.DEFERRED

    def recover(self) -> None:
        self.memory.script = None

    def lose_answer(self) -> None:
        self.memory.script = lambda call, batch: Outcome.AMBIGUOUS


class SendGridHarness(Harness):
    name = "sendgrid"
    refusal_words = "Does not contain a valid address."
    deferrals = ("429", "503")
    schedules = True

    def __init__(self, server: FakeSendGrid) -> None:
        self.server = server
        self.config = delivery_config(retry_base_seconds=0.01)

    def delivered(self) -> list[Delivered]:
        found = []
        for request in self.server.accepted:
            assert request.body is not None
            found += from_sendgrid(request.body)
        return found

    def refuse_for_good(self, message: PersonalMessage) -> PersonalMessage:
        self.server.refuse_addresses([message.recipient.email])
        return message

    def defer(self, kind: str, messages: list[PersonalMessage]) -> None:
        # Every attempt the transport makes is answered so: it gives up and defers.
        attempts = self.config.delivery.sendgrid.max_attempts
        self.server.fail_next(attempts, int(kind), retry_after=0 if kind == "429" else None)

    def recover(self) -> None:
        self.server.clear_faults()

    def lose_answer(self) -> None:
        self.server.cut_after_accept_next(1)


class Collector:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.refuse: dict[str, str] = {}  # address -> SMTP reply
        self.drop_data = 0  # DATA commands to keep, then answer by closing the connection
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
        if self.drop_data:  # the message arrived; its answer is lost with the connection
            self.drop_data -= 1
            server.transport.close()
            return "250 never seen"
        return "250 OK: queued"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class SmtpHarness(Harness):
    name = "smtp"
    refusal_words = "550 5.1.1 No such user"
    deferrals = ("421", "451")
    _REPLIES: ClassVar[dict[str, str]] = {
        "421": "421 4.3.2 Service shutting down",
        "451": "451 4.7.1 Try again later",
    }

    def __init__(self, port: int, collector: Collector) -> None:
        self.collector = collector
        smtp = {"host": "127.0.0.1", "port": port, "security": "none", "timeout_seconds": 5}
        self.config = delivery_config(retry_base_seconds=0.01, smtp=smtp)

    def delivered(self) -> list[Delivered]:
        return [from_mime(raw, tuple(to)) for to, raw in self.collector.messages]

    def refuse_for_good(self, message: PersonalMessage) -> PersonalMessage:
        self.collector.refuse[message.recipient.email] = self.refusal_words
        return message

    def defer(self, kind: str, messages: list[PersonalMessage]) -> None:
        for message in messages:  # at RCPT, on every attempt: nothing reaches DATA
            self.collector.refuse[message.recipient.email] = self._REPLIES[kind]

    def recover(self) -> None:
        self.collector.refuse.clear()

    def lose_answer(self) -> None:
        self.collector.drop_data = 1


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
