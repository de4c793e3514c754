"""Sign-up with double opt-in: a posted form → a pending sign-up and a confirmation
email → the reader's confirmation (POST on the emailed link) → subscribed.

The rules (docs/readers.md):

- A malformed address, a bad name or no list chosen is a SignupFieldError (the
  form shows it). Every accepted form gets the same answer whatever became of it
  (`SignupOutcome` is for logs and tests only), so the form cannot tell anyone
  whether an address subscribes, unsubscribed, bounced or complained.
- Nothing is subscribed by the form: the sign-up waits in `store.readers` until its
  owner confirms from the email. Only then is an unsubscribed or bounced address
  subscribed again (its owner has just proved they want it).
- An address that complained gets no confirmation email at all, and neither does
  an erased one; at most one confirmation email goes to an address per hour.
- The confirmation link is signed and expires after signup.confirm_expiry_days.
"""

from __future__ import annotations

import hashlib
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from newsletter.addresses import parse_email
from newsletter.config import Config
from newsletter.csvio import clean_text
from newsletter.errors import (
    AddressError,
    BaseNewsletterError,
    SignupFieldError,
    TokenError,
    TokenExpiredError,
)
from newsletter.message.links import PREFERENCES_PATH
from newsletter.names import check_name
from newsletter.notices import NoticeKind, build_notice
from newsletter.readers.mailer import Mailer
from newsletter.readers.welcome import Welcomes
from newsletter.redaction import redacting_logger
from newsletter.secrets import Secret
from newsletter.store import (
    Confirmation,
    ConfirmState,
    PendingSignup,
    Status,
    Store,
    Subscriber,
    address_hash,
    was_erased,
)
from newsletter.tokens import (
    CONFIRM,
    PREFERENCES,
    make_expiring_token,
    make_token,
    read_expiring_token,
)
from newsletter.transports import Outcome

CONFIRM_PATH = "/confirm/"
MAX_IP_LENGTH = 45  # an IPv6 address in text form

log = redacting_logger("newsletter.readers")


class SignupOutcome(StrEnum):
    """What became of an accepted form (never shown to the person who posted it)."""

    CONFIRMATION_SENT = "confirmation sent"
    THROTTLED = "stored; a confirmation went to this address within the hour"
    SEND_FAILED = "stored; the transport did not accept the confirmation"
    COMPLAINED = "not stored: the address complained"
    ERASED = "not stored: the address was erased"


@dataclass(frozen=True)
class SignupRequest:
    """A posted sign-up form, as typed: checked by `Signups.sign_up`."""

    email: str
    name: str | None
    lists: tuple[str, ...]
    ip: str | None = None


def consent_text_hash(text: str) -> str:
    """The consent text's version: SHA-256 (hex) of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Signups:
    """Sign-ups and their confirmation for one store (used by the web endpoint)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        secret: Secret,
        mailer: Mailer,
        writes: AbstractContextManager[object] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.secret = secret
        self.mailer = mailer
        self.writes = writes or nullcontext()
        self.consent_hash = consent_text_hash(config.signup.consent_text)

    # -- the form ---------------------------------------------------------------

    def check(self, request: SignupRequest) -> tuple[str, str | None, tuple[str, ...]]:
        """The normalised address, cleaned name and chosen lists of a form, or
        SignupFieldError naming the field at fault."""
        try:
            email = parse_email(request.email, new=True)
        except AddressError:
            raise SignupFieldError(
                "email", "Please enter a complete email address, like name@example.com."
            ) from None
        name = None
        if request.name and request.name.strip():
            try:
                name = check_name(clean_text(request.name, "name"))
            except ValueError:
                raise SignupFieldError(
                    "name", "Please enter your name on one line, in at most 200 characters."
                ) from None
        offered = self.config.public_lists
        chosen = tuple(dict.fromkeys(request.lists))
        if not chosen and len(offered) == 1:
            chosen = tuple(offered)  # one list on offer: the form shows no choice
        if not chosen or any(name not in offered for name in chosen):
            raise SignupFieldError("lists", "Please choose at least one of the newsletters.")
        return email, name, chosen

    def sign_up(self, request: SignupRequest) -> SignupOutcome:
        """Store the form as a pending sign-up and send the confirmation email (see the
        module doc). SignupFieldError for a field that cannot be accepted; StoreError
        if the store fails. A transport that does not accept the email is logged, not
        raised: the answer to the form stays the same."""
        email, name, lists = self.check(request)
        existing = self.store.subscribers.get(email)
        if existing is not None and existing.status == Status.COMPLAINED:
            return SignupOutcome.COMPLAINED
        if self.store.erasures.is_erased(email, self.secret):
            return SignupOutcome.ERASED
        ip = request.ip if self.config.signup.record_ip and request.ip else None
        with self.writes:
            recorded = self.store.readers.record_signup(
                email=email,
                address_hash=address_hash(email, self.secret),
                name=name,
                lists=lists,
                consent_text_hash=self.consent_hash,
                consent_ip=ip[:MAX_IP_LENGTH] if ip else None,
            )
        if not recorded.send_confirmation:
            return SignupOutcome.THROTTLED
        known = existing.id if existing is not None and not was_erased(existing) else None
        return self._send_confirmation(recorded.signup, email, known)

    def _send_confirmation(
        self, signup: PendingSignup, email: str, subscriber_id: int | None
    ) -> SignupOutcome:
        # The name typed into the form is not put into the email: it is unconfirmed
        # text, and a sign-up form must not mail a stranger's words to an address.
        # Whatever stops the email (a broken template, a missing credential, the
        # transport) is logged, not raised: the answer to the form stays the same.
        try:
            message = build_notice(
                self.config,
                NoticeKind.CONFIRM_SIGNUP,
                to=email,
                name=None,
                action_url=self.confirm_url(signup),
                preferences_url=(
                    None if subscriber_id is None else self.preferences_url(subscriber_id)
                ),
            )
            accepted = self.mailer.send(message).outcome == Outcome.ACCEPTED
        except BaseNewsletterError as err:
            log.warning("confirmation email for sign-up %s not sent: %s", signup.id, err.message)
            accepted = False
        return SignupOutcome.CONFIRMATION_SENT if accepted else SignupOutcome.SEND_FAILED

    def confirm_url(self, signup: PendingSignup) -> str:
        """The signed, expiring link of a sign-up's confirmation email."""
        expires = signup.posted_at + timedelta(days=self.config.signup.confirm_expiry_days)
        token = make_expiring_token(signup.id, self.secret, purpose=CONFIRM, expires_at=expires)
        return self.base_url + CONFIRM_PATH + token

    def preferences_url(self, subscriber_id: int) -> str:
        """The preference page of a reader already in the store (issue 14: "in the
        confirmation email"): only sent to the address the reader is stored under, so
        it reaches nobody the link would not already reach in every issue."""
        token = make_token(subscriber_id, self.secret, purpose=PREFERENCES)
        return self.base_url + PREFERENCES_PATH + token

    @property
    def base_url(self) -> str:
        """Where the confirmation links point: publication.public_base_url, or (for a
        local server) http://{web.host}:{web.port}."""
        configured = self.config.publication.public_base_url
        web = self.config.web
        return (configured or f"http://{web.host}:{web.port}").rstrip("/")

    # -- the link ---------------------------------------------------------------

    def lookup(self, token: str) -> PendingSignup | None:
        """The sign-up a genuine, unexpired link names; None for a malformed, forged or
        purged one. TokenExpiredError (a TokenError) for a genuine expired link."""
        try:
            signup_id = read_expiring_token(
                token, self.secret, purpose=CONFIRM, now=self.store.clock.now()
            )
        except TokenExpiredError:
            raise
        except TokenError:
            return None
        return self.store.readers.get(signup_id)

    def confirm(self, token: str) -> Confirmation | None:
        """Confirm the sign-up a link names (see `ReaderRepository.confirm`); None for a
        link that is not genuine or names no stored sign-up; TokenExpiredError when
        it expired. Idempotent: a second confirmation changes nothing."""
        signup = self.lookup(token)
        if signup is None:
            return None
        with self.writes:
            done = self.store.readers.confirm(signup.id)
        if done is None:
            return None
        log.info("sign-up %s confirmed: %s", signup.id, done.state)
        if (
            self.config.signup.welcome
            and done.first_time
            and done.state == ConfirmState.SUBSCRIBED
            and done.subscriber is not None
        ):
            self._welcome(done.subscriber, done.lists[0] if done.lists else "")
        return done

    def _welcome(self, subscriber: Subscriber, list_name: str) -> None:
        # The confirmation stands whatever becomes of the welcome: failures are logged.
        # Not under `writes`: the transport's request must not hold up other writes.
        try:
            outcome = Welcomes(self.config, self.store, self.secret, self.mailer).send(
                subscriber, list_name
            )
        except BaseNewsletterError as err:
            log.warning("welcome issue to subscriber %s not sent: %s", subscriber.id, err)
            return
        log.info("welcome issue to subscriber %s: %s", subscriber.id, outcome.state.value)

    def purge_pending(self) -> int:
        """Delete sign-ups left unconfirmed for signup.purge_pending_after_days; how many."""
        cutoff = self.store.clock.now() - timedelta(
            days=self.config.signup.purge_pending_after_days
        )
        return self.store.readers.purge_pending(cutoff)
