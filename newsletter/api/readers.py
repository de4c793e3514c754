"""What readers do for themselves, and their rights over their data.

Sign-up (`signup_form`, `purge_pending`) serves `newsletter signup-form` and
`newsletter subscribers purge-pending`; the form and its double opt-in themselves
are `newsletter.readers.Signups` (see docs/readers.md).

`ReaderPreferences` is the preference page's library (the web calls it; it is free of
HTTP): choose public lists, pause for some weeks, change address (confirmed from the
new address before it replaces the old), unsubscribe from everything, erase. Reading
never changes anything; every change is recorded in the status history.

`export_person` (GDPR art. 15, right of access) and `forget` (art. 17, right to
erasure) serve `newsletter subscribers export-person` / `forget` and the page's
"delete my data".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from newsletter.addresses import parse_email
from newsletter.api.results import Forgotten, PendingPurged, PersonData
from newsletter.api.sending import configured_transport
from newsletter.clock import Clock, SystemClock
from newsletter.config import Config
from newsletter.errors import DeliveryError, InputError, SubscriberNotFoundError, TokenError
from newsletter.notices import NoticeKind, build_notice
from newsletter.pages import signup_snippet
from newsletter.redaction import redacting_logger
from newsletter.secrets import Secret, signing_secret
from newsletter.store import AddressChange, Source, Status, Store, Subscriber, was_erased
from newsletter.tokens import (
    CHANGE_ADDRESS,
    PREFERENCES,
    make_expiring_token,
    read_expiring_token,
    read_token,
)
from newsletter.transports import Outcome, SendOptions

log = redacting_logger("newsletter.readers")

UNSUBSCRIBE_REASON = "unsubscribed from everything on the preference page"
# At most one confirmation email per reader per hour: a preference link cannot be used
# to mail strangers over and over.
CONFIRMATION_INTERVAL = timedelta(hours=1)
CONFIRM_ADDRESS_PATH = "/confirm-address/"


# --------------------------------------------------------------------------- sign-up


def signup_form(config: Config) -> str:
    """The embeddable sign-up form: plain HTML, no script, posting to
    {public_base_url}/subscribe (see docs/readers.md)."""
    return signup_snippet(config)


def purge_pending(config: Config, *, clock: Clock | None = None) -> PendingPurged:
    """Delete the sign-ups left unconfirmed for signup.purge_pending_after_days (and the
    confirmed ones as old, which keep no address); StoreError (7) if there is no store."""
    now = (clock or SystemClock()).now()
    older_than = now - timedelta(days=config.signup.purge_pending_after_days)
    with Store.from_config(config, clock=clock) as store:
        purged = store.readers.purge_pending(older_than)
        left = store.readers.pending_count()
    return PendingPurged(purged=purged, older_than=older_than, still_pending=left)


# --------------------------------------------------------------------------- preferences


@dataclass(frozen=True)
class ListChoice:
    """One public list on the preference page: its name, description, and membership."""

    name: str
    description: str
    member: bool


@dataclass(frozen=True)
class PreferencesView:
    """What the preference page shows one reader (read only: building it changes nothing)."""

    subscriber_id: int
    email: str
    status: Status
    paused_until: datetime | None
    lists: tuple[ListChoice, ...]
    pause_weeks: tuple[int, ...]

    @property
    def subscribed(self) -> bool:
        return self.status == Status.SUBSCRIBED


@dataclass(frozen=True)
class ChangeRequested:
    """A change of address was asked for; `sent` says whether a confirmation went out
    (not to an erased address, nor to one that complained). The page says the same
    either way, so it cannot be used to learn about an address."""

    sent: bool


class ReaderPreferences:
    """The preference page's actions for one store and secret (see the module's text)."""

    def __init__(
        self, config: Config, store: Store, secret: Secret, clock: Clock | None = None
    ) -> None:
        self.config = config
        self.store = store
        self.secret = secret
        # The store's clock by default: the times compared here (a pause, a request's
        # age, a link's expiry) are the ones the store records.
        self.clock: Clock = clock or store.clock

    # -- reading -------------------------------------------------------------------

    def lookup(self, token: str) -> Subscriber | None:
        """The subscriber a genuine preference token names; None for anything else (a
        malformed, foreign or erased reader's link alike)."""
        try:
            subscriber_id = read_token(token, self.secret, purpose=PREFERENCES)
        except TokenError:
            return None
        found = self.store.subscribers.get_by_id(subscriber_id)
        if found is None or was_erased(found):
            return None
        return found

    def view(self, subscriber: Subscriber) -> PreferencesView:
        member_of = self.store.subscribers.active_lists(subscriber.id)
        choices = tuple(
            ListChoice(name, settings.description or name, name in member_of)
            for name, settings in self.config.lists.items()
            if settings.public
        )
        paused = subscriber.paused_until
        return PreferencesView(
            subscriber_id=subscriber.id,
            email=subscriber.email,
            status=subscriber.status,
            paused_until=paused if paused and paused > self.clock.now() else None,
            lists=choices,
            pause_weeks=tuple(self.config.preferences.pause_weeks),
        )

    def _public(self) -> set[str]:
        return {name for name, settings in self.config.lists.items() if settings.public}

    # -- changes ----------------------------------------------------------------------

    def choose_lists(self, subscriber: Subscriber, wanted: set[str]) -> tuple[str, ...]:
        """Membership of exactly the public lists in `wanted`; InputError for a list that
        is not public, SuppressedError for a suppressed reader joining one. The lists
        the reader is now on."""
        offered = self._public()
        unknown = sorted(wanted - offered)
        if unknown:
            raise InputError(f"not a list you can choose: {', '.join(unknown)}")
        self.store.subscribers.choose_lists(subscriber.id, wanted, offered, source=Source.WEB)
        return tuple(sorted(self.store.subscribers.active_lists(subscriber.id) & offered))

    def pause(self, subscriber: Subscriber, weeks: int | None) -> datetime | None:
        """Pause for one of the configured numbers of weeks (InputError for another), or
        resume (`weeks` None); the date mail starts again (None: now)."""
        if weeks is None:
            self.store.subscribers.pause(subscriber.id, None, source=Source.WEB)
            return None
        if weeks not in self.config.preferences.pause_weeks:
            raise InputError(f"a pause is {self._weeks()} weeks, not {weeks}")
        until = self.clock.now() + timedelta(weeks=weeks)
        self.store.subscribers.pause(subscriber.id, until, source=Source.WEB)
        return until

    def _weeks(self) -> str:
        return ", ".join(str(w) for w in self.config.preferences.pause_weeks)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop all mail, on every list (idempotent)."""
        self.store.subscribers.unsubscribe(
            subscriber.email, reason=UNSUBSCRIBE_REASON, source=Source.WEB
        )

    def request_address_change(self, subscriber: Subscriber, new_email: str) -> ChangeRequested:
        """Record the change and mail a confirmation link (expiring, see config
        preferences.change_address_expiry_days) to the new address (DeliveryError, or
        ConfigError, when the transport cannot send it). AddressError for a
        malformed address; InputError within an hour of the previous request (one
        confirmation email per reader per hour). An erased or complained-about address
        gets no email."""
        now = self.clock.now()
        if parse_email(new_email) == subscriber.email:
            raise InputError("that is the address we already send to; enter a different one")
        earlier = self.store.subscribers.pending_address_change(subscriber.id)
        if earlier is not None and now - earlier.requested_at < CONFIRMATION_INTERVAL:
            raise InputError(
                "a confirmation link was sent less than an hour ago: look for it in that "
                "inbox (and its spam folder), or try again later"
            )
        expiry = timedelta(days=self.config.preferences.change_address_expiry_days)
        expires_at = now + expiry
        change = self.store.subscribers.request_address_change(
            subscriber.id, new_email, expires_at, source=Source.WEB
        )
        if self._never_mail(change.new_email):
            log.info("change of address for subscriber %s: no confirmation sent", subscriber.id)
            return ChangeRequested(sent=False)
        token = make_expiring_token(
            change.id, self.secret, purpose=CHANGE_ADDRESS, expires_at=expires_at
        )
        base = (self.config.publication.public_base_url or "").rstrip("/")
        try:
            self._send(subscriber, change, f"{base}{CONFIRM_ADDRESS_PATH}{token}")
        except BaseException:
            # Not sent: the request goes, so the reader may ask again at once.
            self.store.subscribers.cancel_address_change(change.id)
            raise
        return ChangeRequested(sent=True)

    def _never_mail(self, email: str) -> bool:
        if self.store.erasures.is_erased(email, self.secret):
            return True
        found = self.store.subscribers.get(email)
        return found is not None and found.status == Status.COMPLAINED

    def _send(self, subscriber: Subscriber, change: AddressChange, action_url: str) -> None:
        # No preference link in this email: the new address has not proved anything yet,
        # and the link would hand it the reader's page before the change is confirmed.
        # No name either: it is text a stranger may have typed on the sign-up form, and
        # this email goes to an address nobody has confirmed (no words of theirs to it).
        message = build_notice(
            self.config,
            NoticeKind.CONFIRM_ADDRESS,
            to=change.new_email,
            name=None,
            action_url=action_url,
        )
        with configured_transport(self.config, None) as transport:
            results = transport.send([message], SendOptions())
        if not results or results[0].outcome != Outcome.ACCEPTED:
            why = results[0].error if results else None
            raise DeliveryError(
                f"the confirmation of a new address for subscriber {subscriber.id} was not "
                f"sent: {why or 'no answer'}"
            )

    def address_change(self, token: str) -> AddressChange | None:
        """The pending change a genuine, unexpired confirmation token names; None for
        anything else (read only: the GET of the link)."""
        change_id = self._change_id(token)
        return None if change_id is None else self.store.subscribers.find_address_change(change_id)

    def confirm_address_change(self, token: str) -> Subscriber | None:
        """Replace the address (the POST of the confirmation page); None when the link is
        not genuine, expired, or used already. SuppressedError when the new address is
        another reader's."""
        change_id = self._change_id(token)
        if change_id is None:
            return None
        return self.store.subscribers.confirm_address_change(change_id, source=Source.WEB)

    def _change_id(self, token: str) -> int | None:
        try:
            return read_expiring_token(
                token, self.secret, purpose=CHANGE_ADDRESS, now=self.clock.now()
            )
        except TokenError:
            return None

    def erase(self, subscriber: Subscriber) -> None:
        """Delete the reader's data ("delete my data"), as `forget` does."""
        self.store.subscribers.forget(subscriber.id, self.secret, source=Source.WEB)
        log.info("erased subscriber %s on their request (preference page)", subscriber.id)


# --------------------------------------------------------------------------- access, erasure


def export_person(config: Config, email: str, *, clock: Clock | None = None) -> PersonData:
    """Everything stored about one address (GDPR art. 15). SubscriberNotFoundError (3)
    when nothing is stored (an erased address included: nothing of it is left)."""
    with Store.from_config(config, clock=clock) as store:
        if store.subscribers.get(email) is None:
            # No subscriber (yet): what a sign-up waiting for its confirmation holds.
            waiting = store.erasures.pending_signups(email)
            if waiting:
                return PersonData(
                    email=waiting[0]["email"],
                    data={"subscriber": None, "pending_signups": waiting},
                )
        data = store.subscribers.person_data(email)
    return PersonData(email=data["subscriber"]["email"], data=data)


def forget(config: Config, email: str, *, clock: Clock | None = None) -> Forgotten:
    """Erase one address (GDPR art. 17): see `SubscriberRepository.forget`. Needs
    NEWSLETTER_SECRET (ConfigError). SubscriberNotFoundError (3) for an unknown address
    (`already_erased` is set instead when it was erased before). Logged by id only."""
    secret = signing_secret()
    with Store.from_config(config, clock=clock) as store:
        found = store.subscribers.get(email)
        if found is None:
            # Only sign-ups waiting for their confirmation: they go, the hash stays.
            if store.erasures.forget_pending(email, secret):
                log.info("erased an unconfirmed sign-up on request")
                return Forgotten(subscriber_id=None, already_erased=False)
            if store.erasures.is_erased(email):
                return Forgotten(subscriber_id=None, already_erased=True)
            raise SubscriberNotFoundError("no such subscriber in the store; nothing to erase")
        store.subscribers.forget(found.id, secret, source=Source.CLI)
    log.info("erased subscriber %s on request", found.id)
    return Forgotten(subscriber_id=found.id, already_erased=False)
