"""SMTP through the standard library: STARTTLS or SSL, one connection reused.

Credentials come from NEWSLETTER_SMTP_USERNAME and NEWSLETTER_SMTP_PASSWORD
only. Each message goes through MAIL, RCPT and DATA by hand so we know how far
it got: a failure before DATA means the server never had the message
(deferred, retried on a fresh connection); a lost answer to DATA means it may
have been accepted (ambiguous, never resent blindly).
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
from collections.abc import Sequence

from newsletter.config import SmtpSettings
from newsletter.errors import (
    AmbiguousDeliveryError,
    AuthenticationError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from newsletter.message import PersonalMessage
from newsletter.message.mime import mime_bytes
from newsletter.secrets import read_secret
from newsletter.transports.base import OUTCOME_ERRORS, Outcome, Result, SendOptions, outcome_of
from newsletter.transports.pacing import Pacer
from newsletter.transports.retry import with_retries

USERNAME_ENV = "NEWSLETTER_SMTP_USERNAME"
PASSWORD_ENV = "NEWSLETTER_SMTP_PASSWORD"  # noqa: S105 - the variable's name, not a password


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {words}".strip()


def _refusal(code: int, text: bytes | str, stage: str) -> DeliveryError:
    """4xx: try again later; 5xx: refused for good."""
    message = f"SMTP server refused {stage}: {_reply(code, text)}"
    if 400 <= code < 500:
        return TransientDeliveryError(message, status=code)
    return PermanentDeliveryError(message, status=code)


class SmtpTransport:
    """Sends each message over one reused SMTP connection."""

    name = "smtp"
    max_batch = 100

    def __init__(
        self,
        settings: SmtpSettings,
        *,
        retry_base_seconds: float = 1.0,
        pacer: Pacer | None = None,
    ) -> None:
        self.settings = settings
        self.pacer = pacer or Pacer()
        self._retry_base = retry_base_seconds
        self._connection: smtplib.SMTP | None = None
        self._username = os.environ.get(USERNAME_ENV, "").strip() or None

    # ----------------------------------------------------------------- connection

    def _open(self, context: ssl.SSLContext) -> smtplib.SMTP:
        settings = self.settings
        if settings.security == "ssl":
            return smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout_seconds, context=context
            )
        return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)

    def _secure_and_log_in(self, conn: smtplib.SMTP, context: ssl.SSLContext) -> None:
        if self.settings.security == "starttls":
            conn.starttls(context=context)
        if self._username:
            password = read_secret(PASSWORD_ENV, purpose="log in to the SMTP server")
            conn.login(self._username, password.reveal())

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        cafile = str(settings.ca_file) if settings.ca_file else None
        context = ssl.create_default_context(cafile=cafile)
        conn: smtplib.SMTP | None = None
        try:
            conn = self._open(context)
            self._secure_and_log_in(conn, context)
        except BaseException as err:
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.close()
            raise self._connect_error(err) from err
        return conn

    def _connect_error(self, err: BaseException) -> BaseException:
        settings = self.settings
        if isinstance(err, smtplib.SMTPAuthenticationError):
            return AuthenticationError(
                f"SMTP login refused: {_reply(err.smtp_code, err.smtp_error)}",
                hint=f"check {USERNAME_ENV} and {PASSWORD_ENV}",
            )
        if isinstance(err, smtplib.SMTPNotSupportedError):
            return PermanentDeliveryError(f"SMTP server: {err}")
        if isinstance(err, smtplib.SMTPException | OSError):
            return TransientDeliveryError(
                f"cannot connect to SMTP server {settings.host}:{settings.port}: {err}"
            )
        return err  # ConfigError for a missing password, KeyboardInterrupt …

    def _ready(self) -> smtplib.SMTP:
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def _drop(self) -> None:
        conn, self._connection = self._connection, None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    # ----------------------------------------------------------------- one message

    def _envelope(self, conn: smtplib.SMTP, message: PersonalMessage) -> None:
        """MAIL FROM and RCPT TO: nothing is delivered if these fail."""
        try:
            conn.ehlo_or_helo_if_needed()
            code, text = conn.mail(message.envelope_sender)
            if code != 250:
                raise _refusal(code, text, "the sender")
            code, text = conn.rcpt(message.envelope_recipient)
            if code not in (250, 251):
                conn.rset()
                raise _refusal(code, text, "the recipient")
        except (smtplib.SMTPServerDisconnected, OSError) as err:
            self._drop()
            raise TransientDeliveryError(f"SMTP connection lost before DATA: {err}") from err

    def _data(self, conn: smtplib.SMTP, message: PersonalMessage) -> None:
        try:
            code, text = conn.data(mime_bytes(message))
        except smtplib.SMTPDataError as err:
            raise _refusal(err.smtp_code, err.smtp_error, "the message") from err
        except (smtplib.SMTPServerDisconnected, OSError) as err:
            self._drop()
            raise AmbiguousDeliveryError(
                f"SMTP answer to DATA never came ({err}); the message may have been accepted"
            ) from err
        if code != 250:
            raise _refusal(code, text, "the message")

    def _send_one(self, message: PersonalMessage) -> None:
        self.pacer.acquire(1)
        conn = self._ready()
        self._envelope(conn, message)
        self._data(conn, message)

    def _result(self, message: PersonalMessage) -> Result:
        try:
            with_retries(
                lambda: self._send_one(message),
                attempts=self.settings.max_attempts,
                base_seconds=self._retry_base,
            )
        except OUTCOME_ERRORS as err:
            return Result(message.recipient, outcome_of(err), error=err.message)
        return Result(message.recipient, Outcome.ACCEPTED, provider_id=message.message_id)

    def send(self, messages: Sequence[PersonalMessage], options: SendOptions) -> list[Result]:
        if options.send_at is not None:
            raise DeliveryError("the smtp transport cannot schedule a send (--at)")
        return [self._result(message) for message in messages]

    def close(self) -> None:
        conn = self._connection
        if conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                conn.quit()
        self._drop()
