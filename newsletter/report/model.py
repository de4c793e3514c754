"""What the report says about an issue: plain frozen values (docs/report.md).

Two sources meet here. The ledger (`store.sends`) says whom the issue was for and what
SendGrid accepted; SendGrid's events (`store.events`) say what happened next. Rates
over delivered are the share of delivered messages (`delivered` events) that led to a
complaint, an unsubscribe, an open or a click; the delivery and bounce rates are over
the messages SendGrid accepted. A rate is None when its denominator is 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from newsletter.states import DeliveryState
from newsletter.store import Anomaly, LinkClicks


def rate(part: int | None, whole: int) -> float | None:
    """`part / whole`, or None when either is unknown or `whole` is 0."""
    if part is None or whole <= 0:
        return None
    return part / whole


@dataclass(frozen=True)
class Ledger:
    """The ledger's side of an issue (one list, or every list summed)."""

    recipients: int  # frozen when the send(s) started, those removed since included
    removed: int  # unsubscribed, bounced or complained before their batch went out
    accepted: int  # SendGrid (or the transport) took the message
    failed: int  # refused
    pending: int  # not sent yet (deferred, paused, scheduled)
    in_doubt: int  # ambiguous (or still `sending` after a crash): may or may not have gone out


@dataclass(frozen=True)
class Rates:
    """Shares as fractions 0..1 (None when the denominator is 0 or the count unknown)."""

    delivered: float | None  # delivered / accepted
    bounced: float | None  # (hard + soft bounces) / accepted
    complaints: float | None  # spam reports / delivered
    unsubscribes: float | None  # unsubscribes attributed to the issue / delivered
    unique_opens: float | None  # unique human openers / delivered (None unless kept)
    clicks: float | None  # human clicks / delivered (clicks per delivered message)


@dataclass(frozen=True)
class ItemClicks:
    """Clicks on one digest item's link."""

    position: int  # the item's place in the issue, 1-based
    headline: str
    url: str | None  # the item's link as the editor wrote it; None: the item has none
    human: int
    scanner: int  # judged a link scanner's: several links within seconds of delivery
    unique_clickers: int | None  # None unless per-reader engagement is kept


@dataclass(frozen=True)
class IssueSummary:
    """One line of the history: an issue's main figures."""

    issue_id: str
    list_name: str | None  # None: every list of the issue
    lists: tuple[str, ...]
    sent_at: datetime  # when its first send started (or was scheduled to go out)
    recipients: int
    accepted: int
    delivered: int
    in_doubt: int
    bounced: int
    complaints: int
    unsubscribes: int
    opens_human: int
    clicks_human: int
    rates: Rates


@dataclass(frozen=True)
class IssueReport:
    """Everything the report knows about one issue (one list, or every list)."""

    summary: IssueSummary
    subject: str | None  # as sent; None when the store kept no version of it
    ledger: Ledger
    resolved_by_evidence: int  # deliveries in doubt that SendGrid's events settled
    processed: int
    deferred: int  # deferral events (a message can be deferred several times)
    bounced_hard: int
    bounced_soft: int
    dropped: int
    dropped_by_reason: Mapping[str, int]
    opens_machine: int  # machine opens (Apple Mail Privacy Protection): not readers
    unique_openers: int | None
    clicks_scanner: int
    items: tuple[ItemClicks, ...]
    other_links: tuple[LinkClicks, ...]  # clicked links that are no item's, most clicked first
    other_links_left_out: int  # more such links, beyond the most clicked shown
    anomalies: tuple[Anomaly, ...]
    first_event_at: datetime | None
    last_event_at: datetime | None

    @property
    def issue_id(self) -> str:
        return self.summary.issue_id

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (what `report ISSUE --json` prints)."""
        s = self.summary
        return {
            "issue": s.issue_id,
            "list": s.list_name,
            "lists": list(s.lists),
            "subject": self.subject,
            "sent_at": _time(s.sent_at),
            "ledger": {
                "recipients": self.ledger.recipients,
                "removed": self.ledger.removed,
                DeliveryState.ACCEPTED: self.ledger.accepted,
                DeliveryState.FAILED: self.ledger.failed,
                DeliveryState.PENDING: self.ledger.pending,
                "in_doubt": self.ledger.in_doubt,
                "resolved_by_evidence": self.resolved_by_evidence,
            },
            "events": {
                "processed": self.processed,
                "delivered": s.delivered,
                "deferred": self.deferred,
                "bounced": {"hard": self.bounced_hard, "soft": self.bounced_soft},
                "dropped": self.dropped,
                "dropped_by_reason": dict(sorted(self.dropped_by_reason.items())),
                "complaints": s.complaints,
                "unsubscribes": s.unsubscribes,
                "opens": {
                    "human": s.opens_human,
                    "machine": self.opens_machine,
                    "unique_human": self.unique_openers,
                },
                "clicks": {"human": s.clicks_human, "scanner": self.clicks_scanner},
                "first_at": _time(self.first_event_at),
                "last_at": _time(self.last_event_at),
            },
            "rates": _rates(s.rates),
            "items": [
                {
                    "position": item.position,
                    "headline": item.headline,
                    "url": item.url,
                    "clicks_human": item.human,
                    "clicks_scanner": item.scanner,
                    "unique_clickers": item.unique_clickers,
                }
                for item in self.items
            ],
            "other_links": [
                {
                    "url": link.url,
                    "clicks_human": link.human,
                    "clicks_scanner": link.scanner,
                    "unique_clickers": link.unique_clickers,
                }
                for link in self.other_links
            ],
            "other_links_left_out": self.other_links_left_out,
            "anomalies": [
                {"kind": a.kind, "event_id": a.event_id, "at": _time(a.at), "detail": a.detail}
                for a in self.anomalies
            ],
        }


@dataclass(frozen=True)
class Report:
    """`Newsletter.report`: one issue in full (when one was named) and the history."""

    list_name: str | None  # the list asked for; None: every list
    issue: IssueReport | None  # the issue named; None when none was
    history: tuple[IssueSummary, ...]  # every sent issue, newest first

    def as_dict(self) -> dict[str, Any]:
        """What `report --json` prints: the issue (when named) and the history."""
        return {
            "list": self.list_name,
            "issue": None if self.issue is None else self.issue.as_dict(),
            "history": [summary_dict(s) for s in self.history],
        }


def summary_dict(s: IssueSummary) -> dict[str, Any]:
    """One history line as JSON-ready values."""
    return {
        "issue": s.issue_id,
        "lists": list(s.lists),
        "sent_at": _time(s.sent_at),
        "recipients": s.recipients,
        DeliveryState.ACCEPTED: s.accepted,
        "delivered": s.delivered,
        "in_doubt": s.in_doubt,
        "bounced": s.bounced,
        "complaints": s.complaints,
        "unsubscribes": s.unsubscribes,
        "opens_human": s.opens_human,
        "clicks_human": s.clicks_human,
        "rates": _rates(s.rates),
    }


def _rates(rates: Rates) -> dict[str, float | None]:
    # Rounded: a rate is read, not computed with; six places keep 0.0001 % visible.
    return {name: None if value is None else round(value, 6) for name, value in vars(rates).items()}


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
