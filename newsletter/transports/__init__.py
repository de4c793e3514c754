"""Transports deliver personal messages: outbox (a Maildir of .eml files), sendgrid, smtp.

`open_transport` picks the one named in config.yaml or on the command line and
imports its module only then, so the SendGrid client is loaded only when used.
Opening a transport reads and checks every credential it needs (and, for SMTP,
connects and logs in once), so a missing or refused credential stops a send
before anything is claimed.
"""

from __future__ import annotations

from newsletter.config import Config
from newsletter.errors import ConfigError
from newsletter.transports.base import (
    Outcome,
    Preparer,
    Result,
    Scheduler,
    SendOptions,
    Transport,
    check_options,
    scheduler_of,
)
from newsletter.transports.pacing import Pacer

NAMES = ("outbox", "sendgrid", "smtp")


def open_transport(
    config: Config, name: str | None = None, *, pacer: Pacer | None = None
) -> Transport:
    """The transport `name` (default: config's delivery.transport), ready to send.
    Threads sending one issue share `pacer` (rate limit, 429 pauses).

    Raises ConfigError (a credential missing or malformed, with a hint naming the
    variable) or AuthenticationError (the SMTP server refused the login); ConfigError too when
    the SMTP server lacks what the settings need (STARTTLS, AUTH)."""
    chosen = name or config.delivery.transport
    delivery = config.delivery
    if chosen == "outbox":
        from newsletter.transports.outbox import OutboxTransport

        return OutboxTransport(config.outbox_dir)
    if chosen == "sendgrid":
        from newsletter.transports.sendgrid import SendGridTransport

        return SendGridTransport(
            delivery.sendgrid, retry_base_seconds=delivery.retry_base_seconds, pacer=pacer
        )
    if chosen == "smtp":
        from newsletter.transports.smtp import SmtpTransport

        smtp = SmtpTransport(
            delivery.smtp, retry_base_seconds=delivery.retry_base_seconds, pacer=pacer
        )
        smtp.check_server()
        return smtp
    raise ConfigError(f"unknown transport {chosen!r}; expected one of {', '.join(NAMES)}")


__all__ = [
    "NAMES",
    "Outcome",
    "Pacer",
    "Preparer",
    "Result",
    "Scheduler",
    "SendOptions",
    "Transport",
    "check_options",
    "open_transport",
    "scheduler_of",
]
