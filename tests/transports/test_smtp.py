"""The SMTP transport against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from newsletter.errors import AuthenticationError, PermanentDeliveryError
from newsletter.message import Recipient
from newsletter.message.mime import mime_bytes
from newsletter.transports import Outcome, SendOptions, open_transport
from newsletter.transports import smtp as smtp_module
from tests.delivery_support import delivery_config, personal_messages
from tests.dispatch.clirun import DIGEST, Project
from tests.transports.harness import Collector, from_mime, smtp_server

PASSWORD = "smtp-password-never-printed"  # noqa: S105 - a test credential


def smtp_transport(port: int, **smtp: Any) -> Any:
    settings = {"host": "127.0.0.1", "port": port, "security": "none", "timeout_seconds": 3}
    config = delivery_config(retry_base_seconds=0.01, smtp={**settings, **smtp})
    return open_transport(config, "smtp")


def send(port: int, count: int, **smtp: Any) -> list[Any]:
    transport = smtp_transport(port, **smtp)
    try:
        return transport.send(personal_messages(count), SendOptions())  # type: ignore[no-any-return]
    finally:
        transport.close()


def test_refused_recipient_fails_only_that_message() -> None:
    """A 550 for one recipient fails that one; the others are delivered."""
    with smtp_server() as (port, collector, _):
        collector.refuse["reader2@example.com"] = "550 5.1.1 No such user"
        results = send(port, 3)
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.FAILED, Outcome.ACCEPTED]
    assert "550 5.1.1 No such user" in str(results[1].error)
    assert len(collector.messages) == 2


def test_temporary_refusal_is_retried_then_deferred() -> None:
    """A 451 is retried a bounded number of times, then deferred (not failed)."""
    with smtp_server() as (port, collector, _):
        collector.refuse["reader1@example.com"] = "451 4.7.1 Try again later"
        results = send(port, 1, max_attempts=2)
    assert [r.outcome for r in results] == [Outcome.DEFERRED]
    assert collector.messages == []


def test_one_connection_for_many_messages() -> None:
    """Messages of a batch share one SMTP connection."""
    with smtp_server() as (port, collector, _):
        send(port, 5)
    assert len(collector.messages) == 5
    assert len(collector.sessions) == 1


class Disconnecting(Collector):
    """Drops the connection instead of answering DATA, once."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = False

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if not self.dropped:
            self.dropped = True
            self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
            server.transport.close()
            return "250 never seen"
        return await super().handle_DATA(server, session, envelope)


def test_lost_answer_to_data_is_ambiguous_and_not_resent() -> None:
    """If DATA's answer never comes the message may be delivered: ambiguous, no retry."""
    with smtp_server(handler=Disconnecting()) as (port, collector, _):
        results = send(port, 2)
    assert [r.outcome for r in results] == [Outcome.AMBIGUOUS, Outcome.ACCEPTED]
    assert [to for to, _ in collector.messages] == [
        ["reader1@example.com"],
        ["reader2@example.com"],
    ]


def test_server_down_is_deferred() -> None:
    """No server listening: nothing left, so deferred after bounded retries."""
    with smtp_server() as (port, _, _):
        pass
    results = send(port, 1, max_attempts=2)
    assert [r.outcome for r in results] == [Outcome.DEFERRED]
    assert "cannot connect to SMTP server" in str(results[0].error)


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


def test_login_with_credentials_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Username and password come from the environment and log in."""
    monkeypatch.setenv("NEWSLETTER_SMTP_USERNAME", "digest")
    monkeypatch.setenv("NEWSLETTER_SMTP_PASSWORD", PASSWORD)
    options = {"authenticator": authenticator, "auth_require_tls": False}
    with smtp_server(**options) as (port, collector, _):
        results = send(port, 1)
    assert [r.outcome for r in results] == [Outcome.ACCEPTED]
    assert len(collector.messages) == 1


def test_wrong_password_stops_with_auth_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused login raises AuthenticationError without showing the password."""
    monkeypatch.setenv("NEWSLETTER_SMTP_USERNAME", "digest")
    monkeypatch.setenv("NEWSLETTER_SMTP_PASSWORD", "wrong-" + PASSWORD)
    options = {"authenticator": authenticator, "auth_require_tls": False}
    with smtp_server(**options) as (port, _, _), pytest.raises(AuthenticationError) as caught:
        send(port, 1)
    assert PASSWORD not in str(caught.value.lines())
    assert "NEWSLETTER_SMTP_PASSWORD" in str(caught.value.hint)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as err:
        pytest.skip(f"openssl could not make a test certificate: {err}")
    return cert, key


def test_starttls_verifies_the_server(certificate: tuple[Path, Path]) -> None:
    """STARTTLS upgrades the connection, verified against the configured CA file."""
    import ssl

    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with smtp_server(tls_context=context, require_starttls=True) as (port, collector, _):
        results = send(port, 1, security="starttls", ca_file=cert)
        untrusted = send(port, 1, security="starttls", max_attempts=1)
    assert [r.outcome for r in results] == [Outcome.ACCEPTED]
    assert [r.outcome for r in untrusted] == [Outcome.DEFERRED]
    assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted[0].error)
    assert len(collector.messages) == 1


def test_concurrent_sends_use_one_connection_each_and_close_closes_all() -> None:
    """4 threads sending at once never share a connection (no "503 nested MAIL", no
    message on another reader's envelope), and every connection opened is QUIT (the
    check when the transport is opened at once, the sending ones by close())."""
    with smtp_server() as (port, collector, _):
        transport = smtp_transport(port)
        batches = [personal_messages(40)[n::4] for n in range(4)]
        start = threading.Barrier(4)

        def one(batch: list[Any]) -> list[Any]:
            start.wait()
            return transport.send(batch, SendOptions())  # type: ignore[no-any-return]

        with ThreadPoolExecutor(4) as pool:
            results = [r for rs in pool.map(one, batches) for r in rs]
        transport.close()
    assert [r.error for r in results if r.outcome is not Outcome.ACCEPTED] == []
    envelopes = sorted(to[0] for to, _ in collector.messages)
    assert envelopes == sorted(f"reader{n}@example.com" for n in range(1, 41))
    for to, raw in collector.messages:
        assert from_mime(raw).to == to[0]
    assert 1 <= len(collector.sessions) <= 4
    # Each sending connection, and the one that checked the server when it was opened.
    assert collector.quits == len(collector.sessions) + 1


class Closing(Collector):
    """Answers 421 (closing the channel) to one recipient, once."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address
        self.closed = False

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == self.address and not self.closed:
            self.closed = True
            server.transport.close()
            return "421 4.3.2 Service shutting down"
        return await super().handle_RCPT(server, session, envelope, address, options)


def test_421_drops_the_connection_and_retries_on_a_new_one() -> None:
    """A 421 inside a transaction: that connection is dropped and the message is sent
    on a fresh one; nobody is lost or refused."""
    with smtp_server(handler=Closing("reader2@example.com")) as (port, collector, _):
        results = send(port, 3)
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 3
    assert [to for to, _ in collector.messages] == [[f"reader{n}@example.com"] for n in (1, 2, 3)]
    assert len(collector.sessions) == 2


class HangingUp(Collector):
    """Accepts each message, then drops the connection (an idle timeout, a restart)."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        asyncio.get_running_loop().call_soon(server.transport.close)
        return await super().handle_DATA(server, session, envelope)


def test_a_dropped_connection_is_reopened() -> None:
    """When the server drops the connection between messages, the next message is sent
    on a new connection: all accepted, each once."""
    with smtp_server(handler=HangingUp()) as (port, collector, _):
        results = send(port, 3)
    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 3
    assert sorted(to[0] for to, _ in collector.messages) == [
        f"reader{n}@example.com" for n in (1, 2, 3)
    ]
    assert len(collector.sessions) == 3


def test_refused_recipient_is_reset_before_the_next_message() -> None:
    """After a refused RCPT the transaction is RSET, so the next MAIL is not "nested"."""
    with smtp_server() as (port, collector, _):
        collector.refuse["reader1@example.com"] = "550 5.1.1 No such user"
        results = send(port, 2)
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.ACCEPTED]
    assert collector.resets >= 1


def test_a_message_that_cannot_be_built_fails_for_its_reader_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An exception while building one message (mime_bytes) fails that reader with the
    reason; the others of the batch are sent on the same connection."""
    real = smtp_module.mime_bytes

    def broken_for_reader2(message: Any, **kwargs: Any) -> bytes:
        if message.recipient.email == "reader2@example.com":
            raise ValueError("cannot encode this header")
        return real(message, **kwargs)

    monkeypatch.setattr(smtp_module, "mime_bytes", broken_for_reader2)
    with smtp_server() as (port, collector, _):
        results = send(port, 3)
    assert [r.outcome for r in results] == [Outcome.ACCEPTED, Outcome.FAILED, Outcome.ACCEPTED]
    assert results[1].error == (
        "the message could not be built: ValueError: cannot encode this header"
    )
    assert len(collector.messages) == 2 and len(collector.sessions) == 1


def test_non_ascii_address_without_smtputf8_fails_that_reader_only() -> None:
    """A non-ASCII local part on a server without SMTPUTF8 (RFC 6531) is refused for
    that reader, with the reason (the message builder's or the envelope's, whichever
    refuses it first); the others go through."""
    issue = personal_messages(1)[0].issue
    messages = [
        issue.personalise(Recipient(email=email, unsubscribe_url="https://x.example/u/1"))
        for email in ("ann@example.com", "ñoño@example.com", "bob@example.com")
    ]
    with smtp_server() as (port, collector, _):
        transport = smtp_transport(port)
        results = transport.send(messages, SendOptions())
        transport.close()
    outcomes = [r.outcome for r in results]
    assert outcomes == [Outcome.ACCEPTED, Outcome.FAILED, Outcome.ACCEPTED]
    assert "SMTPUTF8" in str(results[1].error) or "non-ASCII" in str(results[1].error)
    assert [to for to, _ in collector.messages] == [["ann@example.com"], ["bob@example.com"]]


def test_250_readers_through_the_dispatcher_at_the_default_concurrency(tmp_path: Path) -> None:
    """The reported case: `newsletter send` to 250 readers over SMTP at the default
    delivery.concurrency of 4: exit 0, every reader accepted in the ledger and delivered
    exactly once, each message on its own reader's envelope."""
    project = Project(tmp_path)
    emails = project.subscribe(250)
    with smtp_server() as (port, collector, _):
        smtp = {"host": "127.0.0.1", "port": port, "security": "none", "timeout_seconds": 5}
        project.write_config(transport="smtp", smtp=smtp)
        result = project.run("send", str(DIGEST), "--list", "weekly")
    assert result.exit_code == 0, result.output
    assert Counter(to[0] for to, _ in collector.messages) == Counter(emails)
    for to, raw in collector.messages:
        assert from_mime(raw).to == to[0]
    with project.store() as store:
        record = store.sends.find_send("2025-09-12", "weekly")
        assert record is not None and store.sends.send_counts(record.id) == {"accepted": 250}


class RefusingData(Collector):
    """Refuses every message at DATA for good, as a spam filter does."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        return "554 5.7.1 Message rejected as spam"


@pytest.mark.parametrize(
    ("handler", "reply"),
    [
        (Collector(), "550 5.1.1 No such user"),
        (RefusingData(), "554 5.7.1 Message rejected as spam"),
    ],
)
def test_a_5xx_keeps_the_servers_reply_in_detail(handler: Collector, reply: str) -> None:
    """A 5xx at RCPT or at DATA is a PermanentDeliveryError whose `detail` is the
    server's own reply, code and text, apart from our sentence around it. (One message
    through the transport's per-message step, where the error is raised before it
    becomes a FAILED result.)"""
    if reply.startswith("550"):  # refused at RCPT; RefusingData refuses at DATA
        handler.refuse["reader1@example.com"] = reply
    (message,) = personal_messages(1)
    with smtp_server(handler=handler) as (port, _, _):
        transport = smtp_transport(port)
        session = smtp_module._Session(transport)
        try:
            with pytest.raises(PermanentDeliveryError) as refused:
                transport._send_one(session, message, mime_bytes(message))
        finally:
            session.release()
            transport.close()
    assert refused.value.detail == reply
    assert refused.value.status == int(reply[:3])
    assert refused.value.message.endswith(reply)
