"""Building the report from the store: the ledger's sends and SendGrid's events.

Read only: nothing here writes. The events side is the store's `store.events`
(`EventRepository`, filled by the signed event webhook).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime

from newsletter.digest import parse_digest
from newsletter.errors import InputError, NewsletterError
from newsletter.report.links import attribute, item_positions
from newsletter.report.model import (
    IssueReport,
    IssueSummary,
    ItemClicks,
    Ledger,
    Rates,
    Report,
    rate,
)
from newsletter.states import DeliveryState
from newsletter.store import (
    ATTRIBUTION_WINDOW,
    EventRepository,
    EventTotals,
    LinkClicks,
    SendRecord,
    SentIssue,
    Store,
)

OTHER_LINKS_SHOWN = 50  # clicked links that are no item's, most clicked first


def build_report(
    store: Store,
    issue_id: str | None = None,
    list_name: str | None = None,
) -> Report:
    """The report of `issue_id` (YYYY-MM-DD; None: the history only) on `list_name`
    (None: every list summed), with one history line per sent issue, newest first.
    InputError (3) when the issue has no send (to that list)."""
    source = store.events
    by_issue = _sends_by_issue(store.sends.sends(), list_name)
    if issue_id is not None and issue_id not in by_issue:
        where = f" to list {list_name}" if list_name else ""
        raise InputError(
            f"no sends recorded for issue {issue_id}{where}",
            hint="`newsletter report` lists every issue sent",
        )
    detail = None
    if issue_id is not None:
        detail = issue_report(store, source, issue_id, by_issue[issue_id], list_name)
    history = tuple(
        detail.summary
        if detail is not None and issue == issue_id
        else _summary(store, source, issue, records, list_name)[0]
        for issue, records in by_issue.items()
    )
    return Report(list_name=list_name, issue=detail, history=history)


def newest_issue(store: Store, list_name: str | None = None) -> str:
    """The newest issue with a send (to `list_name`); InputError when there is none."""
    by_issue = _sends_by_issue(store.sends.sends(), list_name)
    if not by_issue:
        where = f" to list {list_name}" if list_name else ""
        raise InputError(f"no issue has been sent{where} yet: nothing to report")
    return next(iter(by_issue))


def _sends_by_issue(
    records: Iterable[SendRecord], list_name: str | None
) -> dict[str, list[SendRecord]]:
    """Sends grouped by issue, newest issue first (issue ids are dates)."""
    grouped: dict[str, list[SendRecord]] = defaultdict(list)
    for record in records:
        if list_name is None or record.list_name == list_name:
            grouped[record.issue_id].append(record)
    return dict(sorted(grouped.items(), reverse=True))


def _ledger(store: Store, records: list[SendRecord]) -> Ledger:
    counts: dict[str, int] = defaultdict(int)
    for record in records:
        for state, count in store.sends.send_counts(record.id).items():
            counts[state] += count
    removed = sum(record.removed for record in records)
    return Ledger(
        recipients=sum(counts.values()) + removed,
        removed=removed,
        accepted=counts[DeliveryState.ACCEPTED],
        failed=counts[DeliveryState.FAILED],
        pending=counts[DeliveryState.PENDING],
        in_doubt=counts[DeliveryState.AMBIGUOUS] + counts[DeliveryState.SENDING],
    )


def _sent_at(records: list[SendRecord]) -> datetime:
    return min(record.send_at or record.started_at for record in records)


def _summary(
    store: Store,
    source: EventRepository,
    issue_id: str,
    records: list[SendRecord],
    list_name: str | None,
) -> tuple[IssueSummary, Ledger, EventTotals]:
    ledger = _ledger(store, records)
    totals = source.totals(issue_id, list_name)
    count = _Count(totals.counts)
    unsubscribes = source.unsubscribes_attributed(issue_id, list_name, within=ATTRIBUTION_WINDOW)
    delivered = count("delivered")
    bounced = count("bounce_hard") + count("bounce_soft")
    # Before SendGrid's first event (or with a transport that sends none) nothing was
    # delivered as far as anyone knows: the delivery and bounce rates are unknown, not 0.
    accepted = ledger.accepted if totals.first_event_at is not None else 0
    summary = IssueSummary(
        issue_id=issue_id,
        list_name=list_name,
        lists=tuple(sorted(record.list_name for record in records)),
        sent_at=_sent_at(records),
        recipients=ledger.recipients,
        accepted=ledger.accepted,
        delivered=delivered,
        in_doubt=ledger.in_doubt,
        bounced=bounced,
        complaints=count("spamreport"),
        unsubscribes=unsubscribes,
        opens_human=count("open_human"),
        clicks_human=count("click_human"),
        rates=Rates(
            delivered=rate(delivered, accepted),
            bounced=rate(bounced, accepted),
            complaints=rate(count("spamreport"), delivered),
            unsubscribes=rate(unsubscribes, delivered),
            unique_opens=rate(totals.unique_openers, delivered),
            clicks=rate(count("click_human"), delivered),
        ),
    )
    return summary, ledger, totals


class _Count:
    """A count by its key in `EventTotals.counts`; a kind never seen is 0."""

    def __init__(self, counts: Mapping[str, int]) -> None:
        self._counts = counts

    def __call__(self, kind: str) -> int:
        return int(self._counts.get(kind, 0))


def issue_report(
    store: Store,
    source: EventRepository,
    issue_id: str,
    records: list[SendRecord],
    list_name: str | None,
) -> IssueReport:
    """One issue in full: the summary, the ledger, every event count, clicks per item."""
    summary, ledger, totals = _summary(store, source, issue_id, records, list_name)
    count = _Count(totals.counts)
    versions = store.issues.sent_issue_versions(issue_id)
    items, others = _clicks(versions, totals.links)
    # Reported URLs are outside text in any number (a tracker's per-reader variants):
    # the most clicked are shown, the rest counted.
    shown = others[:OTHER_LINKS_SHOWN]
    return IssueReport(
        summary=summary,
        subject=versions[-1].subject if versions else None,
        ledger=ledger,
        resolved_by_evidence=totals.resolved_by_evidence,
        processed=count("processed"),
        deferred=count("deferred"),
        bounced_hard=count("bounce_hard"),
        bounced_soft=count("bounce_soft"),
        dropped=count("dropped"),
        dropped_by_reason=dict(totals.dropped_by_reason),
        opens_machine=count("open_machine"),
        unique_openers=totals.unique_openers,
        clicks_scanner=count("click_scanner"),
        items=items,
        other_links=shown,
        other_links_left_out=len(others) - len(shown),
        anomalies=totals.anomalies,
        first_event_at=totals.first_event_at,
        last_event_at=totals.last_event_at,
    )


def _items_of(version: SentIssue) -> list[tuple[str, str | None]]:
    """(headline, url) of each item of a kept version, in order."""
    try:
        digest = parse_digest(version.digest_json, f"{version.issue_id} as sent")
    except NewsletterError:
        return []  # a version kept by an older format: its clicks show as other links
    return [(item.headline, item.url) for item in digest.items]


def _clicks(
    versions: list[SentIssue], links: tuple[LinkClicks, ...]
) -> tuple[tuple[ItemClicks, ...], tuple[LinkClicks, ...]]:
    """Clicks per item of the issue's latest version as sent, and the clicked links
    that are none of its items' (sorted by human clicks, most first)."""
    items = _items_of(versions[-1]) if versions else []
    owner = attribute((link.url for link in links), item_positions(url for _, url in items))
    human: dict[int, int] = defaultdict(int)
    scanner: dict[int, int] = defaultdict(int)
    unique: dict[int, int | None] = {}
    others: list[LinkClicks] = []
    for link in links:
        position = owner[link.url]
        if position is None:
            others.append(link)
            continue
        human[position] += link.human
        scanner[position] += link.scanner
        known = unique.get(position, 0)
        # Several spellings of one link: their clickers may overlap, so the sum is an
        # upper bound; one spelling (the usual case) is exact.
        unique[position] = (
            None if known is None or link.unique_clickers is None else known + link.unique_clickers
        )
    rows = tuple(
        ItemClicks(
            position=position,
            headline=headline,
            url=url,
            human=human[position],
            scanner=scanner[position],
            unique_clickers=unique.get(position, 0 if _clicks_kept(links) else None),
        )
        for position, (headline, url) in enumerate(items, start=1)
    )
    return rows, tuple(sorted(others, key=lambda link: (-link.human, -link.scanner, link.url)))


def _clicks_kept(links: tuple[LinkClicks, ...]) -> bool:
    """Whether unique clickers are known (per-reader engagement kept): any link says so."""
    return any(link.unique_clickers is not None for link in links)
