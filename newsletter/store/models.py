"""What the store hands out: plain frozen values, no database handles."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from newsletter.csvio import Rejection
from newsletter.states import DeliveryState


class Status(StrEnum):
    """A subscriber's one global status; only `subscribed` receives mail."""

    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class Source(StrEnum):
    """Who changed a status: recorded in the history beside the reason."""

    IMPORT = "import"
    SYNC = "sync"
    CLI = "cli"
    WEB = "web"
    WEBHOOK = "webhook"
    API = "api"


STATUSES = tuple(status.value for status in Status)
SUPPRESSED = frozenset({Status.UNSUBSCRIBED, Status.BOUNCED, Status.COMPLAINED})
DELIVERY_STATES = tuple(state.value for state in DeliveryState)


@dataclass(frozen=True)
class Subscriber:
    id: int
    email: str
    name: str | None
    attributes: dict[str, Any]
    status: Status
    status_changed_at: datetime
    status_reason: str | None
    created_at: datetime
    updated_at: datetime
    paused_until: datetime | None = None  # 0008: paused from the preference page until then

    @property
    def suppressed(self) -> bool:
        return self.status in SUPPRESSED

    def paused_at(self, now: datetime) -> bool:
        """Whether a send at `now` leaves this reader out (they paused until later)."""
        return self.paused_until is not None and self.paused_until > now


@dataclass(frozen=True)
class HistoryEntry:
    from_status: Status | None
    to_status: Status
    reason: str | None
    source: str
    at: datetime


@dataclass(frozen=True)
class Membership:
    list_name: str
    added_at: datetime
    removed_at: datetime | None

    @property
    def active(self) -> bool:
        return self.removed_at is None


@dataclass(frozen=True)
class Consent:
    """The consent record of a reader who confirmed a sign-up (double opt-in): when the
    form was posted and confirmed, the SHA-256 (hex) of the consent text they saw, and
    their IP address only when signup.record_ip is on."""

    posted_at: datetime
    confirmed_at: datetime
    text_hash: str
    ip: str | None


@dataclass(frozen=True)
class SubscriberDetails:
    """Everything `show` prints: the subscriber, their lists, their status history and,
    for a reader who signed up themselves, their consent record."""

    subscriber: Subscriber
    memberships: tuple[Membership, ...]
    history: tuple[HistoryEntry, ...]
    consent: Consent | None = None


@dataclass(frozen=True)
class ImportReport:
    """What an import or a sync of one list did (or, dry run, would do)."""

    list_name: str
    source: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    suppressed: int = 0
    removed: int = 0
    duplicates: int = 0
    rejected_count: int = 0
    rejected: tuple[Rejection, ...] = field(default_factory=tuple)
    dry_run: bool = False

    @property
    def unlisted_rejections(self) -> int:
        """Rejected rows beyond those kept in `rejected` (a cap bounds memory)."""
        return self.rejected_count - len(self.rejected)


@dataclass(frozen=True)
class ListCount:
    """Members of one list by status (active memberships only)."""

    list_name: str
    by_status: dict[Status, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class PendingSignup:
    """A sign-up form posted and waiting for its double opt-in (the `signups` table).
    `email` and `name` are None once it is confirmed: they then live on the subscriber."""

    id: int
    email: str | None
    name: str | None
    lists: tuple[str, ...]
    consent_text_hash: str
    consent_ip: str | None
    posted_at: datetime
    confirmation_sent_at: datetime | None
    confirmed_at: datetime | None
    subscriber_id: int | None

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


@dataclass(frozen=True)
class SignupRecorded:
    """What posting the sign-up form stored: the pending sign-up, and whether a
    confirmation email may go out now (at most one per address per hour)."""

    signup: PendingSignup
    send_confirmation: bool


class ConfirmState(StrEnum):
    """What confirming a sign-up did."""

    SUBSCRIBED = "subscribed"  # the reader is now subscribed to the chosen lists
    ALREADY_CONFIRMED = "already confirmed"  # a second confirmation: nothing changed
    REFUSED = "refused"  # the address complained since: only an editor can lift that


@dataclass(frozen=True)
class Confirmation:
    """The outcome of confirming one sign-up."""

    state: ConfirmState
    subscriber: Subscriber | None
    lists: tuple[str, ...]
    first_time: bool  # the reader's first confirmation (a welcome may go out)
