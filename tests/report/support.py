"""A sent project for the report's tests, and a fake of the store's events.

`FakeEvents` stands in for `store.events` (the repository the event webhook fills): it
answers with the totals a test gives it, so the report's arithmetic, attribution and
output are tested on numbers the one-ambiguous-delivery project below could not produce
through the webhook (two deliveries settled by evidence, 120 outside links, a fixed
anomaly for the golden file). That the real webhook and store give the report exactly
what was posted is proven without any fake in test_reconcile.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from newsletter import Newsletter
from newsletter.clock import FixedClock
from newsletter.store import Anomaly, EventTotals, LinkClicks, Store
from tests.api.project import write_project
from tests.conftest import REPO

WITH_URLS = REPO / "tests" / "golden" / "digests" / "with-urls.json"  # 2025-09-12, 6 links
EARLIER = REPO / "digests" / "2025-09-05.json"
ISSUE = "2025-09-12"
SENT_AT = dt.datetime(2025, 9, 12, 6, 0, tzinfo=dt.UTC)
EARLIER_AT = dt.datetime(2025, 9, 5, 6, 0, tzinfo=dt.UTC)


def totals(
    issue_id: str = ISSUE,
    list_name: str | None = None,
    *,
    counts: Mapping[str, int] | None = None,
    links: tuple[LinkClicks, ...] = (),
    dropped_by_reason: Mapping[str, int] | None = None,
    unique_openers: int | None = None,
    resolved_by_evidence: int = 0,
    anomalies: tuple[Anomaly, ...] = (),
    heard: bool = True,
) -> EventTotals:
    """EventTotals with every field given or empty; `heard`: events have arrived."""
    first = SENT_AT + dt.timedelta(minutes=1) if heard else None
    return EventTotals(
        issue_id=issue_id,
        list_name=list_name,
        counts=dict(counts or {}),
        dropped_by_reason=dict(dropped_by_reason or {}),
        links=links,
        unique_openers=unique_openers,
        resolved_by_evidence=resolved_by_evidence,
        anomalies=anomalies,
        first_event_at=first,
        last_event_at=None if first is None else first + dt.timedelta(hours=5),
    )


@dataclass
class FakeEvents:
    """`store.events` with fixed answers: totals by (issue, list), attributed
    unsubscribes by (issue, list); anything not given has no events."""

    by_issue: dict[tuple[str, str | None], EventTotals] = field(default_factory=dict)
    unsubscribes: dict[tuple[str, str | None], int] = field(default_factory=dict)
    asked_within: list[dt.timedelta] = field(default_factory=list)
    per_reader: bool = False  # what Store.from_config sets from tracking.per_reader

    def totals(self, issue_id: str, list_name: str | None = None) -> EventTotals:
        found = self.by_issue.get((issue_id, list_name))
        return found or totals(issue_id, list_name, heard=False)

    def unsubscribes_attributed(
        self,
        issue_id: str,
        list_name: str | None = None,
        *,
        within: dt.timedelta = dt.timedelta(days=7),
    ) -> int:
        self.asked_within.append(within)
        return self.unsubscribes.get((issue_id, list_name), 0)


def sent_project(folder: Path) -> Newsletter:
    """A project (tests/api/project.py: three readers on weekly, one editor) that sent
    2025-09-05 and then the 2025-09-12 digest with links (tests/golden/digests/with-urls.json)
    to the weekly list through the outbox, each at 06:00 UTC on its day; and, for the
    ledger's doubt, a send of 2025-09-12 to the editors list that died after claiming its
    batch (its one delivery is ambiguous)."""
    clock = FixedClock(EARLIER_AT)
    nl = Newsletter.from_config(write_project(folder), clock=clock)
    nl.sync()
    nl.send(EARLIER, "weekly")
    clock.set(SENT_AT)
    nl.send(WITH_URLS, "weekly")
    with Store.from_config(nl.config, clock=clock) as store:
        record = store.sends.open_send(
            issue_id=ISSUE,
            list_name="editors",
            content_hash="0" * 64,
            message_hash="0" * 64,
            transport="outbox",
        )
        assert store.sends.claim_batch(record.id, 0, 10, 1) is not None
        assert store.sends.mark_interrupted(record.id) == 1
    return nl


# What SendGrid's events say about 2025-09-12 on every list, in `heard` (conftest.py).
ITEM_1 = (
    "https://www.euractiv.com/section/global-europe/opinion/eu-weighs-strategy-kazakhstan-china/"
)
ITEM_2 = "https://www.euronews.com/travel/2025/09/10/baikonur-tourism"
ITEM_6 = "http://news.example.net/story?id=42&lang=en"

COUNTS = {
    "processed": 4,
    "delivered": 3,
    "deferred": 2,
    "bounce_hard": 1,
    "bounce_soft": 1,
    "dropped": 2,
    "spamreport": 1,
    "unsubscribe": 1,
    "group_unsubscribe": 0,
    "open_human": 5,
    "open_machine": 7,
    "click_human": 9,
    "click_scanner": 4,
}
LINKS = (
    LinkClicks(ITEM_1 + "?utm_source=newsletter&utm_medium=email", human=3, scanner=1,
               unique_clickers=None),
    LinkClicks(ITEM_1 + "#comments", human=1, scanner=0, unique_clickers=None),
    LinkClicks(ITEM_2 + "?utm_source=digest&utm_medium=email&utm_content=x", 2, 2, None),
    LinkClicks("http://NEWS.example.net:80/story?id=42&lang=en&utm_campaign=c", 1, 1, None),
    LinkClicks("http://news.example.net/story?id=43&lang=en", 1, 0, None),
    LinkClicks("https://astanatimes.com/", 1, 0, None),
)  # fmt: skip
ANOMALY = Anomaly("duplicate-delivered", "ev-9", SENT_AT, "a second delivered for one message")
