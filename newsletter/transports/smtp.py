"""SMTP through the standard library: STARTTLS or SSL, one connection per sending thread.

An SMTP connection carries one mail transaction at a time (MAIL, RCPT, DATA in
order), so two threads must never share one: each `send` call takes its own
connection from a small pool and gives it back when its batch is done. The
dispatcher runs several batches at once (`delivery.concurrency`), each on its
own connection.

Credentials come from NEWSLETTER_SMTP_USERNAME and NEWSLETTER_SMTP_PASSWORD
only, read and checked when the transport is opened (`open_transport`), before
anything is claimed. Each message goes through MAIL, RCPT and DATA by hand so
we know how far it got: a failure before DATA means the server never had the
message (deferred, retried on a fresh connection); a lost answer to DATA means
it may have been accepted (ambiguous, never resent blindly). After any refusal
inside a transaction the connection is RSET (RFC 5321 §4.1.1.5) so the next
message starts clean; a connection that cannot be reset is dropped.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import threading
from collections.abc import Sequence

from newsletter.config import SmtpSettings
from newsletter.errors import (
    AmbiguousDeliveryError,
    AuthenticationError,
    ConfigError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from newsletter.message import PersonalMessage
from newsletter.message.mime import mime_bytes
from newsletter.secrets import Secret, read_secret
from newsletter.transports.base import (
    OUTCOME_ERRORS,
    UNLIMITED,
    Outcome,
    Result,
    SendOptions,
    all_results,
    check_options,
    outcome_of,
    unbuildable,
)
from newsletter.transports.pacing import Pacer
from newsletter.transports.retry import with_retries

USERNAME_ENV = "NEWSLETTER_SMTP_USERNAME"
PASSWORD_ENV = "NEWSLETTER_SMTP_PASSWORD"  # noqa: S105 - the variable's name, not a password
CLOSING = 421  # "service not available, closing transmission channel" (RFC 5321 §3.8)


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {words}".strip()


def _refusal(code: int, text: bytes | str, stage: str) -> DeliveryError:
    """4xx: try again later; 5xx: refused for good."""
    reply = _reply(code, text)  # the server's own words: the error's detail
    message = f"SMTP server refused {stage}: {reply}"
    if 400 <= code < 500:
        return TransientDeliveryError(message, status=code, detail=reply)
    return PermanentDeliveryError(message, status=code, detail=reply)


def credentials() -> tuple[str, Secret] | None:
    """(username, password) from the environment, or None to send without logging in.

    Raises ConfigError, naming the variable, when only one of the two is set."""
    username = os.environ.get(USERNAME_ENV, "").strip()
    password_set = bool(os.environ.get(PASSWORD_ENV, ""))
    if not username:
        if password_set:
            raise ConfigError(
                f"{PASSWORD_ENV} is set but {USERNAME_ENV} is not",
                hint=f"set {USERNAME_ENV} to the SMTP account's user name, or unset "
                f"{PASSWORD_ENV} to send without logging in",
            )
        return None
    password = read_secret(
        PASSWORD_ENV,
        purpose=f"log in to the SMTP server as {USERNAME_ENV}",
        allow_surrounding_space=True,  # a password may legitimately end in a space
    )
    return username, password


class _Session:
    """One thread's connection for the duration of a `send` call."""

    def __init__(self, transport: SmtpTransport) -> None:
        self.transport = transport
        self.conn: smtplib.SMTP | None = None

    def connection(self) -> smtplib.SMTP:
        if self.conn is None:
            self.conn = self.transport._take()
        return self.conn

    def drop(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            self.transport._discard(conn)

    def reset(self) -> None:
        """RSET after an error inside a transaction; drop the connection if that fails."""
        if self.conn is None:
            return
        try:
            code, _ = self.conn.rset()
        except (smtplib.SMTPException, OSError):
            code = 0
        if code != 250:
            self.drop()

    def release(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            self.transport._give_back(conn)


class SmtpTransport:
    """Sends each message over SMTP; safe for several threads (one connection each)."""

    name = "smtp"
    max_batch = 100
    # Each concurrent send() has its own connection: any concurrency the config allows.
    max_in_flight = UNLIMITED
    # SMTP hands a message over now or never: send_at and batch_id are refused.
    supports = frozenset({"preview"})

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
        self._login = credentials()  # checked now: a missing password stops before any claim
        self._lock = threading.Lock()
        self._idle: list[smtplib.SMTP] = []  # connected, no transaction open
        self._open: set[smtplib.SMTP] = set()  # every live connection, idle or in use

    # ----------------------------------------------------------------- connections

    def check_server(self) -> None:
        """Connect once now (and log in, with credentials), so a server that refuses
        what config.yaml and the environment ask of it stops the send before anything
        is claimed: a refused login (AuthenticationError), or a server without an
        extension the settings need, such as STARTTLS for `security: starttls` or AUTH
        for a login (ConfigError, exit 4; otherwise every reader would be failed by a
        fault that is not theirs). A server that cannot be reached now is not an error
        here: sending defers and retries as usual."""
        try:
            conn = self._connect()
        except TransientDeliveryError:
            return
        except PermanentDeliveryError as err:
            settings = self.settings
            raise ConfigError(
                f"the SMTP server {settings.host}:{settings.port} cannot be used as "
                f"configured: {err.message}",
                hint="set delivery.smtp.security to what the server offers (starttls, ssl "
                f"or none); a login ({USERNAME_ENV}) needs the server to offer AUTH, "
                "which many offer only after STARTTLS",
            ) from err
        # Not kept for sending: a transport opened and never closed would leak it.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            conn.quit()
        with contextlib.suppress(OSError):
            conn.close()

    def _open_socket(self, context: ssl.SSLContext) -> smtplib.SMTP:
        settings = self.settings
        if settings.security == "ssl":
            return smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout_seconds, context=context
            )
        return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)

    def _secure_and_log_in(self, conn: smtplib.SMTP, context: ssl.SSLContext) -> None:
        if self.settings.security == "starttls":
            conn.starttls(context=context)
        if self._login is not None:
            username, password = self._login
            conn.login(username, password.reveal())

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        cafile = str(settings.ca_file) if settings.ca_file else None
        context = ssl.create_default_context(cafile=cafile)
        conn: smtplib.SMTP | None = None
        try:
            conn = self._open_socket(context)
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
            reply = _reply(err.smtp_code, err.smtp_error)
            return AuthenticationError(
                f"SMTP login refused: {reply}",
                hint=f"check {USERNAME_ENV} and {PASSWORD_ENV}",
                detail=reply,
            )
        if isinstance(err, smtplib.SMTPNotSupportedError):
            return PermanentDeliveryError(f"SMTP server: {err}")
        if isinstance(err, smtplib.SMTPException | OSError):
            return TransientDeliveryError(
                f"cannot connect to SMTP server {settings.host}:{settings.port}: {err}"
            )
        return err  # KeyboardInterrupt …

    def _take(self) -> smtplib.SMTP:
        """An idle connection, or a new one: never one another thread is using."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        conn = self._connect()
        with self._lock:
            self._open.add(conn)
        return conn

    def _give_back(self, conn: smtplib.SMTP) -> None:
        with self._lock:
            if conn in self._open:
                self._idle.append(conn)

    def _discard(self, conn: smtplib.SMTP) -> None:
        with self._lock:
            self._open.discard(conn)
        with contextlib.suppress(OSError):
            conn.close()

    # ----------------------------------------------------------------- one message

    def _envelope(self, session: _Session, message: PersonalMessage) -> None:
        """MAIL FROM and RCPT TO: nothing is delivered if these fail."""
        conn = session.connection()
        try:
            conn.ehlo_or_helo_if_needed()
            code, text = conn.mail(message.envelope_sender)
            if code != 250:
                raise _refusal(code, text, "the sender")
            code, text = conn.rcpt(message.envelope_recipient)
            if code not in (250, 251):
                raise _refusal(code, text, "the recipient")
        except (smtplib.SMTPServerDisconnected, OSError) as err:
            session.drop()
            raise TransientDeliveryError(f"SMTP connection lost before DATA: {err}") from err
        except DeliveryError as err:
            self._after_refusal(session, err)
            raise
        except Exception as err:  # e.g. an address smtplib cannot encode: this reader only
            session.reset()
            raise PermanentDeliveryError(
                f"SMTP could not send to {message.recipient.email!r}: {err}"
            ) from err

    def _after_refusal(self, session: _Session, err: DeliveryError) -> None:
        if err.status == CLOSING:
            session.drop()  # the server is closing this connection: use a new one
        else:
            session.reset()

    def _data(self, session: _Session, raw: bytes) -> None:
        conn = session.connection()
        try:
            code, text = conn.data(raw)
        except smtplib.SMTPDataError as err:  # DATA itself refused: the transaction is open
            refusal = _refusal(err.smtp_code, err.smtp_error, "the message")
            self._after_refusal(session, refusal)
            raise refusal from err
        except Exception as err:  # lost connection, or anything else half-way through
            session.drop()
            raise AmbiguousDeliveryError(
                f"SMTP answer to DATA never came ({err}); the message may have been accepted"
            ) from err
        if code != 250:
            refusal = _refusal(code, text, "the message")
            self._after_refusal(session, refusal)
            raise refusal

    def _send_one(self, session: _Session, message: PersonalMessage, raw: bytes) -> None:
        self.pacer.acquire(1)
        self._envelope(session, message)
        self._data(session, raw)

    def _result(self, session: _Session, message: PersonalMessage) -> Result:
        try:
            raw = mime_bytes(message)
        except Exception as err:  # a message that cannot be built fails for its reader only
            return Result(message.recipient, Outcome.FAILED, error=unbuildable(err))
        try:
            with_retries(
                lambda: self._send_one(session, message, raw),
                attempts=self.settings.max_attempts,
                base_seconds=self._retry_base,
            )
        except OUTCOME_ERRORS as err:
            return Result(message.recipient, outcome_of(err), error=err.message)
        return Result(message.recipient, Outcome.ACCEPTED, provider_id=message.message_id)

    def send(self, messages: Sequence[PersonalMessage], options: SendOptions) -> list[Result]:
        """One Result per message, in order. Raises AuthenticationError when the login is
        refused before anything was handed over; UnsupportedFeatureError for send_at or
        batch_id (check_options)."""
        check_options(self, options)
        session = _Session(self)
        results: list[Result] = []
        try:
            for index, message in enumerate(messages):
                try:
                    results.append(self._result(session, message))
                except AuthenticationError as err:
                    if not results:
                        raise  # nothing handed over yet: stop the whole send
                    # A login refused on a reconnect mid-batch: keep what was accepted.
                    rest = all_results(messages[index:], Outcome.DEFERRED, error=err.message)
                    return [*results, *rest]
        finally:
            session.release()
        return results

    def close(self) -> None:
        """QUIT and close every connection this transport opened."""
        with self._lock:
            connections, self._open, self._idle = list(self._open), set(), []
        for conn in connections:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                conn.quit()
            with contextlib.suppress(OSError):
                conn.close()
