"""What the store hands out about SendGrid's events, for the report (docs/report.md).

Plain frozen values, agreed between the events side (`store.events`, which fills them
from the webhook's events) and the report (`newsletter.report`, which reads them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

# The keys of `EventTotals.counts`, exactly.
EVENT_COUNT_KEYS = (
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
    """SendGrid's events of one issue (one list, or all lists summed when None)."""

    issue_id: str
    list_name: str | None  # None = all lists of the issue summed
    counts: Mapping[str, int]  # keys exactly EVENT_COUNT_KEYS
    dropped_by_reason: Mapping[str, int]
    links: tuple[LinkClicks, ...]
    unique_openers: int | None  # None unless per-reader engagement is kept
    resolved_by_evidence: int  # ambiguous deliveries settled by processed/delivered events
    anomalies: tuple[Anomaly, ...]
    first_event_at: datetime | None
    last_event_at: datetime | None
