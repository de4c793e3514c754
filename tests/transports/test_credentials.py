"""Credentials and configuration are read and checked when the transport is opened,
before the audience is frozen: each problem exits 4 (a refused login: 8) with a hint
for that very variable, and the store has no send recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.errors import EXIT_CONFIG, EXIT_DELIVERY
from tests.dispatch.clirun import DIGEST, Project
from tests.dispatch.support import SECRET
from tests.transports.harness import smtp_server
from tests.transports.test_smtp import PASSWORD, authenticator

GENERATE_HINT = "token_urlsafe"  # NEWSLETTER_SECRET's hint, and only its


class Sending(Project):
    """A project whose SMTP server's received messages are in `inbox`."""

    inbox: list[tuple[list[str], bytes]]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sending]:
    """30 readers, and an SMTP server that wants a login (its messages in `inbox`)."""
    for name in ("NEWSLETTER_SMTP_USERNAME", "NEWSLETTER_SMTP_PASSWORD", "SENDGRID_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    made = Sending(tmp_path)
    made.subscribe(30)
    options = {"authenticator": authenticator, "auth_require_tls": False}
    with smtp_server(**options) as (port, collector, _):
        smtp = {"host": "127.0.0.1", "port": port, "security": "none", "timeout_seconds": 5}
        made.write_config(transport="smtp", smtp=smtp)
        made.inbox = collector.messages
        yield made


def nothing_recorded(project: Project) -> bool:
    with project.store() as store:
        return (
            store.sends.find_send("2025-09-12", "weekly") is None and store.sends.sends(None) == []
        )


CASES = {
    "smtp user without password": (
        "smtp",
        {"NEWSLETTER_SMTP_USERNAME": "digest"},
        "NEWSLETTER_SMTP_PASSWORD is not set",
        "export NEWSLETTER_SMTP_PASSWORD",
    ),
    "smtp password without user": (
        "smtp",
        {"NEWSLETTER_SMTP_PASSWORD": PASSWORD},
        "NEWSLETTER_SMTP_PASSWORD is set but NEWSLETTER_SMTP_USERNAME is not",
        "set NEWSLETTER_SMTP_USERNAME",
    ),
    "sendgrid key missing": (
        "sendgrid",
        {},
        "SENDGRID_API_KEY is not set",
        "Mail Send permission",
    ),
    "sendgrid key with a trailing newline": (
        "sendgrid",
        {"SENDGRID_API_KEY": "SG.a-key-pasted-from-a-file\n"},
        "SENDGRID_API_KEY has spaces or line breaks before or after it",
        "Mail Send permission",
    ),
    "signing secret of 31 spaces and a letter": (
        "smtp",
        {"NEWSLETTER_SECRET": " " * 31 + "x"},
        "NEWSLETTER_SECRET",
        GENERATE_HINT,
    ),
    "signing secret with surrounding whitespace": (
        "smtp",
        {"NEWSLETTER_SECRET": f" {SECRET}\n"},
        "NEWSLETTER_SECRET has spaces or line breaks before or after it",
        GENERATE_HINT,
    ),
    "signing secret with a line break inside": (
        "smtp",
        {"NEWSLETTER_SECRET": f"{SECRET}\n{SECRET}"},
        "NEWSLETTER_SECRET contains a control character or line break",
        GENERATE_HINT,
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_credential_exits_4_with_its_own_hint_and_records_nothing(
    project: Sending, case: str
) -> None:
    """Each missing or malformed credential: exit 4, the error names the variable, the
    hint is that variable's (the token_urlsafe hint only for NEWSLETTER_SECRET), no
    value is echoed, and no send is recorded, so no reader is left claimed."""
    transport, env, message, hint = CASES[case]
    result = project.run("send", str(DIGEST), "--list", "weekly", "--transport", transport, env=env)
    assert result.exit_code == EXIT_CONFIG, result.output
    assert message in result.stderr
    assert f"hint: {hint}" in result.stderr or hint in result.stderr.split("hint:", 1)[1]
    if hint != GENERATE_HINT:
        assert GENERATE_HINT not in result.stderr
    for value in env.values():
        if value.strip():
            assert value.strip() not in result.output
    assert nothing_recorded(project)
    assert project.inbox == []


def test_refused_smtp_login_stops_before_anything_is_claimed(project: Sending) -> None:
    """A wrong SMTP password is found when the transport is opened (one login), before
    the audience is frozen: exit 8, the password never shown, no send recorded."""
    env = {"NEWSLETTER_SMTP_USERNAME": "digest", "NEWSLETTER_SMTP_PASSWORD": "wrong-" + PASSWORD}
    result = project.run("send", str(DIGEST), "--list", "weekly", env=env)
    assert result.exit_code == EXIT_DELIVERY, result.output
    assert "SMTP login refused" in result.stderr
    assert PASSWORD not in result.output
    assert nothing_recorded(project)
    assert project.inbox == []


def test_good_smtp_credentials_send(project: Sending) -> None:
    """The same project with the right credentials sends (the fixture's server then
    holds the messages: it is the negative cases above that must record nothing)."""
    env = {"NEWSLETTER_SMTP_USERNAME": "digest", "NEWSLETTER_SMTP_PASSWORD": PASSWORD}
    result = project.run("send", str(DIGEST), "--list", "weekly", env=env)
    assert result.exit_code == 0, result.output
    assert not nothing_recorded(project)
    assert len(project.inbox) == 30


def test_smtp_server_without_starttls_stops_before_anything_is_claimed(
    project: Sending,
) -> None:
    """`security: starttls` against a server that offers no STARTTLS, and no login: the
    transport connects when it is opened, so this configuration fault exits 4 with the
    setting's hint and records nothing (it used to fail every reader, one by one)."""
    config = project.config.read_text(encoding="utf-8")
    assert "security: none" in config
    project.config.write_text(
        config.replace("security: none", "security: starttls"), encoding="utf-8"
    )
    result = project.run("send", str(DIGEST), "--list", "weekly")
    assert result.exit_code == EXIT_CONFIG, result.output
    assert "STARTTLS extension not supported" in result.stderr
    assert "hint: set delivery.smtp.security" in result.stderr
    assert nothing_recorded(project)
    assert project.inbox == []
