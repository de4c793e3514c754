"""What the store keeps of SendGrid's events for reporting, as plain frozen values.

`TrackedEvent` is one webhook event reduced to what the report counts (built by
newsletter.feedback.events, applied by newsletter.store.events); `EventTotals`,
`LinkClicks` and `Anomaly` are what `store.events` hands out (`EventRepository`).
The result types' fields are the interface `newsletter report` builds on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

# The keys of `EventTotals.counts`, exactly; every one is present (0 when never seen).
COUNT_KEYS: Final = (
    "processed",
    "delivered",
    "deferred",
    "bounce_hard",
    "bounce_soft",
    "dropped",
    "spamreport",
    "unsubscribe",
    "group_unsubscribe",
    "open_human",
    "open_machine",
    "click_human",
    "click_scanner",
)
# Unsubscribes within this long after an issue's send started are attributed to it
# (issue 15: "within 7 days of sending"); `store.events.unsubscribes_attributed`'s default.
ATTRIBUTION_WINDOW: Final = timedelta(days=7)
# The kinds of `Anomaly.kind`.
NOT_IN_LEDGER: Final = "not-in-ledger"  # an event about a message the ledger never sent
DUPLICATE_DELIVERED: Final = "duplicate-delivered"  # a second delivered for one message
UNKNOWN_MESSAGE: Final = "unknown-message"  # names no send (issue, list) this store holds
ANOMALY_KINDS: Final = (NOT_IN_LEDGER, DUPLICATE_DELIVERED, UNKNOWN_MESSAGE)


@dataclass(frozen=True)
class TrackedEvent:
    """One webhook event as the report counts it.

    `kind` is "click" or "open" for engagement (judged human, machine or scanner when
    applied), else one of COUNT_KEYS; `issue_id`/`list_name`/`subscriber_id` are the
    custom args our sender put on the message (None when absent); `at` is SendGrid's
    timestamp; `reason` a drop's reason; `url` a click's URL; `machine` SendGrid's
    `sg_machine_open` (Apple Mail Privacy Protection and other prefetchers)."""

    event_id: str
    kind: str
    email: str
    at: datetime
    issue_id: str | None
    list_name: str | None
    subscriber_id: int | None
    reason: str | None = None
    url: str | None = None
    machine: bool = False


@dataclass(frozen=True)
class LinkClicks:
    """Clicks on one URL of an issue."""

    url: str  # as SendGrid reported it (after its own click-tracking redirect)
    human: int  # clicks not judged to be a scanner's
    scanner: int  # clicks judged to be a link scanner's
    unique_clickers: int | None  # None unless per-reader engagement is kept


@dataclass(frozen=True)
class Anomaly:
    """A disagreement between the ledger and SendGrid's events: shown, never merged."""

    kind: str  # "not-in-ledger" | "duplicate-delivered" | "unknown-message"
    event_id: str  # SendGrid's sg_event_id
    at: datetime
    detail: str  # one line, no personal data beyond what the store already holds


@dataclass(frozen=True)
class EventTotals:
    """What SendGrid's events say about one issue (one list of it, or all summed)."""

    issue_id: str
    list_name: str | None  # None = all lists of the issue summed
    counts: Mapping[str, int]  # exactly COUNT_KEYS
    dropped_by_reason: Mapping[str, int]
    links: tuple[LinkClicks, ...]
    unique_openers: int | None  # None unless per-reader engagement is kept
    resolved_by_evidence: int  # ambiguous deliveries settled by processed/delivered events
    anomalies: tuple[Anomaly, ...]
    first_event_at: datetime | None
    last_event_at: datetime | None
