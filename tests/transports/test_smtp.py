"""The SMTP transport against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from newsletter.errors import AuthenticationError
from newsletter.transports import Outcome, SendOptions, open_transport
from tests.delivery_support import delivery_config, personal_messages
from tests.transports.harness import Collector, smtp_server

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
