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
class SubscriberDetails:
    """Everything `show` prints: the subscriber, their lists and their status history."""

    subscriber: Subscriber
    memberships: tuple[Membership, ...]
    history: tuple[HistoryEntry, ...]


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
