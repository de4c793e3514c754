"""Sending one notice through the configured transport (outbox, SMTP or SendGrid)."""

from __future__ import annotations

import threading
from typing import Protocol

from newsletter.config import Config
from newsletter.message import PersonalMessage
from newsletter.redaction import redacting_logger
from newsletter.transports import Outcome, Result, SendOptions, Transport, open_transport

log = redacting_logger("newsletter.readers")


class Mailer(Protocol):
    """Sends one message now; the transport's Result (ACCEPTED, FAILED, DEFERRED or
    AMBIGUOUS, with the provider's id or the error)."""

    def send(self, message: PersonalMessage) -> Result: ...


class TransportMailer:
    """The configured transport, opened on first use and shared by all threads: sends
    go one at a time (the outbox writes one batch at a time; a notice is one message)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._transport: Transport | None = None
        self._lock = threading.Lock()

    @property
    def transport_name(self) -> str:
        return self.config.delivery.transport

    def send(self, message: PersonalMessage) -> Result:
        with self._lock:
            if self._transport is None:
                self._transport = open_transport(self.config)
            [result] = self._transport.send([message], SendOptions())
        if result.outcome != Outcome.ACCEPTED:
            log.warning("message %s not accepted: %s", message.issue.issue_id, result.error)
        return result

    def close(self) -> None:
        with self._lock:
            if self._transport is not None:
                self._transport.close()
                self._transport = None
