"""The one exception hierarchy of the package.

Every error a user can cause or meet carries a message written for them and,
where one helps, a hint. Lower libraries' errors are translated into these at
the boundary where they happen (``raise ... from err``); only the CLI prints
them and turns them into exit codes::

    BaseNewsletterError             exit_code   the root: message, hint, detail, lines()
    ├── NewsletterError             3   the catch-all: `except NewsletterError` may skip
    │   │                               one broken digest, row or issue and go on
    │   ├── InputError              3   a file or option the user gave is unusable
    │   │   ├── DigestFileError             missing, not UTF-8, not JSON
    │   │   ├── DigestInvalidError          valid JSON, but not a valid digest
    │   │   ├── SubscriberFileError         a subscriber CSV is missing, not UTF-8, not CSV
    │   │   ├── AddressError                an email address given is not valid
    │   │   ├── UnknownListError            a list name not declared in config.yaml
    │   │   ├── SubscriberNotFoundError     no subscriber or membership with that address
    │   │   ├── SuppressedError             an address unsubscribed, bounced or complained
    │   │   ├── TokenError                  a tampered, foreign or malformed token
    │   │   │   └── TokenExpiredError       a genuine confirmation link past its expiry
    │   │   ├── SignupFieldError            a sign-up form field that cannot be accepted
    │   │   ├── FormRefusedError            a web form post refused (forged, expired or
    │   │   │                               foreign form token or Origin): its HTTP status
    │   │   ├── SignatureError              a webhook request not signed by SendGrid, or too old
    │   │   ├── MalformedEventsError        a webhook body that is not SendGrid's event JSON
    │   │   ├── UnsupportedFeatureError     a send option the transport cannot honour
    │   │   │                               (send_at on the outbox): refused, never ignored
    │   │   ├── EvidencePendingError        `retry --ambiguous` within an hour of the send:
    │   │   │                               SendGrid's events may still settle it (--now)
    │   │   └── ImportTextError     13      a published text that cannot become a digest
    │   │                                   (unreadable, no date, no item, too large)
    │   ├── CheckBlockedError      11   the pre-send check found blocking problems:
    │   │                               `approve` and `send` refuse (send --force --reason
    │   │                               overrides)
    │   ├── RenderError             6   the templates could not produce an email
    │   │   └── MessageError                a message would leave incomplete (no text part,
    │   │                                   no unsubscribe link, unresolved placeholder)
    │   ├── LockedError             5   another run holds the lock on this send
    │   ├── DeliveryError           8   a transport could not deliver
    │   │   ├── AuthenticationError         401/403, bad SMTP login: stop everything at once
    │   │   ├── PermanentDeliveryError      refused for good (SendGrid 400, SMTP 5xx)
    │   │   ├── PayloadTooLargeError        413: split the batch and try the halves
    │   │   ├── TransientDeliveryError      429, 5xx, not connected: safe to retry later
    │   │   │   └── RateLimitedError        429: wait as the answer says
    │   │   ├── AmbiguousDeliveryError      the request left but no answer came back:
    │   │   │                               it may have been accepted; never resent blindly
    │   │   └── DeliveryHaltedError         the transport cannot go on (outbox disk full):
    │   │                                   carries the batch's results; the send pauses
    │   ├── StoreError              7   the subscriber store failed
    │   └── InternalError           9   an unexpected failure (a bug, or a library
    │                                   failing in a way nobody foresaw); what was
    │                                   recorded is consistent, the message says what
    └── ConfigError                 4   config.yaml or the environment is wrong

ConfigError stands outside NewsletterError on purpose, as KeyboardInterrupt stands
outside Exception: a loop that skips one broken item with `except NewsletterError`
must never skip a wrong configuration, which would fail every item alike. Code
that *reports* errors (the CLI's `report_errors`, the web's handlers) catches
BaseNewsletterError.

`detail` carries the provider's own words where a transport translated its
error (SendGrid's `errors[].message` texts, an SMTP server's reply text), so an
operator reads them without turning on debugging; None elsewhere.

Exit codes 0 (done), 1 (done, some recipients failed or the send paused),
2 (command-line usage), 10 (`check` found warnings only), 11 (`check` found blocking
findings: a finished check, not an error) and 12 (`dispatch` left a due issue unsent:
not approved, or changed since its approval; an outcome of the run, not an error) are
the CLI's own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for annotations only: transports import this module
    from newsletter.transports.base import Result

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_CONFIG = 4
EXIT_LOCKED = 5
EXIT_RENDER = 6
EXIT_STORE = 7
EXIT_DELIVERY = 8
EXIT_INTERNAL = 9
EXIT_CHECK_WARNINGS = 10  # the pre-send check found warnings, nothing blocking
EXIT_CHECK_BLOCKED = 11  # the pre-send check found blocking findings: approve/send refused
EXIT_NOT_APPROVED = 12  # dispatch: a due issue unapproved or changed since its approval
EXIT_IMPORT = 13


class BaseNewsletterError(Exception):
    """Root of every error this package raises on purpose: catch it to report errors.

    `message` is one line for the user, `hint` an optional suggested fix, `detail`
    the provider's own words (SendGrid's error messages, an SMTP reply) when a
    transport translated the error, else None."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, hint: str | None = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.detail = detail

    def lines(self) -> list[str]:
        """The message as the user should read it, one entry per line."""
        return [self.message] + ([f"hint: {self.hint}"] if self.hint else [])


class NewsletterError(BaseNewsletterError):
    """The catch-all of every error but configuration errors: what a loop may skip."""


class ConfigError(BaseNewsletterError):
    """config.yaml or a required environment variable is missing or wrong.

    Not a NewsletterError (see the module docstring): nothing that skips one broken
    item swallows it."""

    exit_code = EXIT_CONFIG


class InputError(NewsletterError):
    """A file or argument the user gave cannot be used."""


class DigestFileError(InputError):
    """A digest file is missing, unreadable, not UTF-8 or not JSON."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a digest: where (a JSON path), what, and what is expected."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class DigestInvalidError(InputError):
    """A digest parsed as JSON but breaks one or more rules of the format."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{source}: {count} {noun} in the digest")
        self.source = source
        self.problems = tuple(problems)

    def lines(self) -> list[str]:
        return [self.message] + [f"  {self.source}: {problem}" for problem in self.problems]


class CheckBlockedError(NewsletterError):
    """The pre-send check found blocking problems: nothing was approved or sent.

    `blocking` holds one line per problem (its JSON path, what is wrong, the fix)."""

    exit_code = EXIT_CHECK_BLOCKED

    def __init__(self, message: str, blocking: Sequence[str], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.blocking = tuple(blocking)

    def lines(self) -> list[str]:
        listed = [f"  blocking: {line}" for line in self.blocking]
        return [self.message, *listed] + ([f"hint: {self.hint}"] if self.hint else [])


class RenderError(NewsletterError):
    """The templates could not turn a valid digest into an email."""

    exit_code = EXIT_RENDER


class StoreError(NewsletterError):
    """The subscriber store could not be read or written."""

    exit_code = EXIT_STORE


class SubscriberFileError(InputError):
    """A subscriber CSV is missing, unreadable, not UTF-8, not CSV or lacks an email column."""


class AddressError(InputError):
    """An email address given on the command line or through the API is not valid."""


class UnknownListError(InputError):
    """A list name that config.yaml does not declare."""


class SubscriberNotFoundError(InputError):
    """No subscriber (or no list membership) for the address given."""


class SuppressedError(InputError):
    """The address unsubscribed, bounced or complained; only `resubscribe` lifts that."""


class TokenError(InputError):
    """A signed token is malformed, tampered with, or signed with another secret."""


class TokenExpiredError(TokenError):
    """A genuine expiring token (a confirmation link) whose time is up."""


class SignupFieldError(InputError):
    """A sign-up form field that cannot be accepted; `field` names it for the form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class FormRefusedError(InputError):
    """A web form post refused before it is acted on (a forged, expired or foreign
    form): `status` is the HTTP status the page is answered with (403, 429 …)."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


class MessageError(RenderError):
    """A message would leave incomplete; nothing is sent."""


class DeliveryError(NewsletterError):
    """A transport could not deliver; `detail` carries the provider's own words."""

    exit_code = EXIT_DELIVERY

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        fields: Sequence[str] = (),
        detail: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint, detail=detail)
        self.status = status
        # The request fields the provider named as wrong (SendGrid's errors[].field,
        # e.g. "personalizations.3.to.0.email"): lets a transport fail one reader alone.
        self.fields = tuple(fields)


class AuthenticationError(DeliveryError):
    """The provider refused our credentials (401/403, SMTP auth): stop at once."""


class PermanentDeliveryError(DeliveryError):
    """Refused for good: sending the same request again would fail the same way."""


class PayloadTooLargeError(DeliveryError):
    """The request was too large (413): split it."""


class TransientDeliveryError(DeliveryError):
    """Not delivered, and provably not accepted: safe to retry later."""


class RateLimitedError(TransientDeliveryError):
    """429: the provider asks us to wait `retry_after` seconds."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        status: int | None = 429,
        detail: str | None = None,
    ) -> None:
        super().__init__(message, status=status, detail=detail)
        self.retry_after = retry_after


class AmbiguousDeliveryError(DeliveryError):
    """The request went out but its answer never came: it may have been accepted."""


class DeliveryHaltedError(DeliveryError):
    """The transport cannot go on (the outbox's disk is full, its folder unwritable).

    `results` holds one transports.Result per message of the batch: those handed
    over before the error are accepted, the rest deferred. The dispatcher records
    them and pauses the send with this message, which names the real cause."""

    def __init__(self, message: str, results: Sequence[Result], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.results = list(results)


class LockedError(NewsletterError):
    """Another run holds the lock on this send: this one must not send."""

    exit_code = EXIT_LOCKED


class SignatureError(InputError):
    """A webhook request without a valid, recent SendGrid signature."""


class MalformedEventsError(InputError):
    """A webhook body that is not a JSON array of SendGrid events."""


class UnsupportedFeatureError(InputError):
    """A send option (a SendOptions field such as send_at or batch_id) that the chosen
    transport cannot honour: refused before anything is sent, never silently ignored."""


class EvidencePendingError(InputError):
    """`retry --ambiguous` less than an hour after the batches in doubt went out through
    SendGrid: its processed/delivered events may still arrive and settle them; resending
    now could mail those readers twice. `--now` goes ahead anyway."""


class ImportTextError(InputError):
    """A published text (plain or HTML) that `import-text` cannot turn into a digest: not
    readable as UTF-8, too large, no issue date, no item, or more than the format holds.
    Its own exit code (13), so a script tells "fix the text" from other bad input."""

    exit_code = EXIT_IMPORT


class InternalError(NewsletterError):
    """Something failed that no rule foresaw (a bug, an untranslated library error).

    Raised `from` the original exception so a developer can still find it; the
    user sees one line saying what stopped and where things stand."""

    exit_code = EXIT_INTERNAL


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def describe_error(err: BaseException, limit: int = 300) -> str:
    """Any exception as one short printable line: our own message for ours, else the
    class name and its text (control characters and line breaks collapsed)."""
    text = err.message if isinstance(err, BaseNewsletterError) else f"{type(err).__name__}: {err}"
    text = _UNPRINTABLE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
