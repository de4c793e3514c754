"""SendGrid's events kept for reporting, and the ledger's doubt settled by them.

Functions on an open connection, called inside the webhook's one transaction by
`newsletter.store.feedback.apply_events` (for events never applied before) and by
`EventRepository` (`store.events`) to read the totals back.

What is kept is compact: counts per issue, list and kind; dropped events per reason;
clicks per URL; first and last time. Nothing per reader is kept unless
`per_reader` is on (config `tracking.per_reader`), beyond three columns of the
delivery the ledger already holds for that reader: when SendGrid said it was
delivered, the first event id proving it went out, and when that proof settled it.

Rules, whatever order the events come in:

- an event names its message by the custom args our sender sets (issue, list,
  subscriber_id; the address when the id is missing). One naming a send this store
  does not hold is an `unknown-message` anomaly; one naming a reader the send never
  sent to (no delivery, or a delivery still pending or failed) is `not-in-ledger`;
  a second delivered for a message already delivered is `duplicate-delivered`.
  Anomalies are stored and shown, never counted into the totals;
- a processed or delivered event for an *ambiguous* delivery makes it *accepted*,
  recording the event id and the time (`resolved_at`); one for a delivery still
  *sending* (the answer is not back yet) is recorded, and the ledger settles it when
  the batch turns out ambiguous (`settle_by_evidence`);
- opens SendGrid marks `sg_machine_open` (Apple Mail Privacy Protection and other
  prefetchers) count as `open_machine`, never as a reader's open;
- a click is a scanner's (`click_scanner`) when it came before the message was
  delivered or within SCANNER_SECONDS after, or when the same message had another
  of its links clicked within SCANNER_SECONDS of it in the same webhook batch (link
  scanners open every link at once). A click whose delivered event arrives in a
  later batch is judged by the burst rule alone.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    Text,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from newsletter.states import DeliveryState
from newsletter.store.event_types import (
    COUNT_KEYS,
    DUPLICATE_DELIVERED,
    NOT_IN_LEDGER,
    UNKNOWN_MESSAGE,
    Anomaly,
    EventTotals,
    LinkClicks,
    TrackedEvent,
)
from newsletter.store.schema import (
    UtcDateTime,
    deliveries,
    event_anomalies,
    event_counts,
    event_drop_reasons,
    event_links,
    reader_engagement,
    sends,
)

SCANNER_SECONDS = 2  # a person does not open a message and click in under two seconds
EVIDENCE = frozenset({"processed", "delivered"})
NEVER_SENT = frozenset({DeliveryState.PENDING.value, DeliveryState.FAILED.value})
MAX_REASON_KEY = 200
MAX_ANOMALIES_SHOWN = 1000  # `totals` lists at most this many; all stay stored
CHUNK = 500
# Within one batch: deliveries first (a click is judged against its delivery), then the rest.
_ORDER = {"processed": 0, "delivered": 1}


def url_key(url: str) -> str:
    """The stored key of a clicked URL: its SHA-256, so any length can be indexed."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


@dataclass
class _Delivery:
    id: int
    subscriber_id: int
    state: str
    delivered_at: datetime | None
    evidence: str | None


@dataclass
class _Tally:
    """What one batch adds, gathered in memory and written in a few statements."""

    counts: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)
    reasons: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    links: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    delivered: dict[int, datetime] = field(default_factory=dict)
    evidence: dict[int, str] = field(default_factory=dict)
    readers: set[tuple[str, str, str, str, int]] = field(default_factory=set)

    def count(self, issue: str, list_name: str, kind: str, at: datetime) -> None:
        entry = self.counts.setdefault((issue, list_name, kind), [0, at, at])
        entry[0] += 1
        entry[1], entry[2] = min(entry[1], at), max(entry[2], at)

    def click(self, issue: str, list_name: str, url: str, at: datetime, scanner: bool) -> None:
        entry = self.links.setdefault((issue, list_name, url), [0, 0, at, at])
        entry[1 if scanner else 0] += 1
        entry[2], entry[3] = min(entry[2], at), max(entry[3], at)

    def anomaly(self, kind: str, event: TrackedEvent, detail: str) -> None:
        self.anomalies.append(
            {
                "issue_id": (event.issue_id or None) and event.issue_id[:32],
                "list_name": (event.list_name or None) and event.list_name[:64],
                "kind": kind,
                "event_id": event.event_id[:255],
                "at": event.at,
                "detail": detail,
            }
        )


@dataclass(frozen=True)
class Applied:
    """What one batch's events did to the report and the ledger."""

    counted: int = 0
    anomalies: int = 0
    resolved: int = 0  # ambiguous deliveries now accepted on SendGrid's evidence


# --------------------------------------------------------------------------- applying


def _sends(conn: Connection, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    items = sorted(pairs)
    for start in range(0, len(items), CHUNK):
        part = items[start : start + CHUNK]
        rows = conn.execute(
            select(sends.c.issue_id, sends.c.list_name, sends.c.id).where(
                tuple_(sends.c.issue_id, sends.c.list_name).in_(part)
            )
        )
        found.update({(row[0], row[1]): row[2] for row in rows})
    return found


_DELIVERY_COLUMNS = (
    deliveries.c.id,
    deliveries.c.subscriber_id,
    deliveries.c.email,
    deliveries.c.state,
    deliveries.c.delivered_at,
    deliveries.c.evidence_event_id,
)


def _deliveries(
    conn: Connection, send_id: int, ids: set[int], emails: set[str]
) -> tuple[dict[int, _Delivery], dict[str, _Delivery]]:
    by_id: dict[int, _Delivery] = {}
    by_email: dict[str, _Delivery] = {}
    for column, wanted in (
        (deliveries.c.subscriber_id, sorted(ids)),
        (deliveries.c.email, sorted(emails)),
    ):
        for start in range(0, len(wanted), CHUNK):
            rows = conn.execute(
                select(*_DELIVERY_COLUMNS).where(
                    deliveries.c.send_id == send_id, column.in_(wanted[start : start + CHUNK])
                )
            )
            for row in rows:
                found = _Delivery(row[0], row[1], row[3], row[4], row[5])
                by_id[row[1]] = by_email[row[2]] = by_id.get(row[1], found)
    return by_id, by_email


def _scanner_bursts(events: Sequence[tuple[TrackedEvent, _Delivery]]) -> set[str]:
    """Event ids of clicks made within SCANNER_SECONDS of a click on another link of the
    same message, in this batch."""
    by_message: dict[int, list[TrackedEvent]] = defaultdict(list)
    for event, delivery in events:
        if event.kind == "click":
            by_message[delivery.id].append(event)
    burst: set[str] = set()
    window = timedelta(seconds=SCANNER_SECONDS)
    for clicks in by_message.values():
        clicks.sort(key=lambda e: e.at)
        for index, one in enumerate(clicks):
            for other in clicks[index + 1 :]:
                if other.at - one.at > window:
                    break
                if other.url != one.url:
                    burst.update((one.event_id, other.event_id))
    return burst


def _is_scanner(event: TrackedEvent, delivery: _Delivery, burst: set[str]) -> bool:
    if event.event_id in burst:
        return True
    delivered = delivery.delivered_at
    return delivered is not None and event.at <= delivered + timedelta(seconds=SCANNER_SECONDS)


def _judge(
    tally: _Tally,
    issue: str,
    list_name: str,
    matched: list[tuple[TrackedEvent, _Delivery]],
    per_reader: bool,
) -> int:
    counted = 0
    burst = _scanner_bursts(matched)
    for event, delivery in matched:
        kind = event.kind
        if kind == "delivered":
            if delivery.delivered_at is not None:
                tally.anomaly(
                    DUPLICATE_DELIVERED,
                    event,
                    f"{issue} → {list_name}: subscriber {delivery.subscriber_id} was reported "
                    f"delivered already at {delivery.delivered_at:%Y-%m-%d %H:%M:%S} UTC",
                )
                continue
            delivery.delivered_at = tally.delivered[delivery.id] = event.at
        if kind in EVIDENCE and delivery.evidence is None:
            delivery.evidence = tally.evidence[delivery.id] = event.event_id
        if kind == "open":
            kind = "open_machine" if event.machine else "open_human"
            if per_reader and kind == "open_human":
                tally.readers.add((issue, list_name, "open", "", delivery.subscriber_id))
        elif kind == "click":
            scanner = _is_scanner(event, delivery, burst)
            kind = "click_scanner" if scanner else "click_human"
            url = event.url or ""
            tally.click(issue, list_name, url, event.at, scanner)
            if per_reader and not scanner:
                tally.readers.add((issue, list_name, "click", url_key(url), delivery.subscriber_id))
        elif kind == "dropped":
            tally.reasons[(issue, list_name, (event.reason or "unknown")[:MAX_REASON_KEY])] += 1
        tally.count(issue, list_name, kind, event.at)
        counted += 1
    return counted


def _match(
    conn: Connection,
    tally: _Tally,
    send_id: int,
    issue: str,
    list_name: str,
    events: list[TrackedEvent],
) -> list[tuple[TrackedEvent, _Delivery]]:
    ids = {e.subscriber_id for e in events if e.subscriber_id is not None}
    emails = {e.email for e in events if e.subscriber_id is None}
    by_id, by_email = _deliveries(conn, send_id, ids, emails)
    matched = []
    for event in events:
        found = (
            by_id.get(event.subscriber_id)
            if event.subscriber_id is not None
            else by_email.get(event.email)
        )
        if found is None or found.state in NEVER_SENT:
            why = "has no delivery" if found is None else f"has a delivery still {found.state}"
            who = f"subscriber {event.subscriber_id}" if event.subscriber_id else "an address"
            tally.anomaly(
                NOT_IN_LEDGER, event, f"{event.kind} for {who}, who {why} in {issue} → {list_name}"
            )
            continue
        matched.append((event, found))
    return matched


def apply_tracked(
    conn: Connection, events: Sequence[TrackedEvent], *, now: datetime, per_reader: bool = False
) -> Applied:
    """Count a webhook batch's new events (each given once: the caller de-duplicates
    by event id) and settle ambiguous deliveries they prove went out. See the module
    docstring for the rules."""
    ordered = sorted(events, key=lambda e: (_ORDER.get(e.kind, 2), e.at))
    named = [e for e in ordered if e.issue_id and e.list_name]
    send_ids = _sends(conn, {(e.issue_id or "", e.list_name or "") for e in named})
    tally = _Tally()
    by_send: dict[tuple[str, str], list[TrackedEvent]] = defaultdict(list)
    for event in named:
        pair = (event.issue_id or "", event.list_name or "")
        if pair in send_ids:
            by_send[pair].append(event)
        else:
            tally.anomaly(
                UNKNOWN_MESSAGE,
                event,
                f"{event.kind} for {pair[0]} → {pair[1]}, a send this store does not hold",
            )
    counted = 0
    for (issue, list_name), group in by_send.items():
        matched = _match(conn, tally, send_ids[(issue, list_name)], issue, list_name, group)
        counted += _judge(tally, issue, list_name, matched, per_reader)
    resolved = _write(conn, tally, now)
    return Applied(counted=counted, anomalies=len(tally.anomalies), resolved=resolved)


# --------------------------------------------------------------------------- writing


def _upsert(conn: Connection, table: Table) -> Any:
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    return dialect.insert(table)


def _earlier(table: Table, statement: Any, name: str) -> Any:
    new, old = getattr(statement.excluded, name), table.c[name]
    return case((new < old, new), else_=old)


def _later(table: Table, statement: Any, name: str) -> Any:
    new, old = getattr(statement.excluded, name), table.c[name]
    return case((new > old, new), else_=old)


def _write_counts(conn: Connection, tally: _Tally) -> None:
    if tally.counts:
        rows = [
            {"issue_id": i, "list_name": ln, "kind": k, "count": n, "first_at": a, "last_at": b}
            for (i, ln, k), (n, a, b) in tally.counts.items()
        ]
        statement = _upsert(conn, event_counts)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["issue_id", "list_name", "kind"],
                set_={
                    "count": event_counts.c.count + statement.excluded.count,
                    "first_at": _earlier(event_counts, statement, "first_at"),
                    "last_at": _later(event_counts, statement, "last_at"),
                },
            ),
            rows,
        )
    if tally.reasons:
        statement = _upsert(conn, event_drop_reasons)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["issue_id", "list_name", "reason"],
                set_={"count": event_drop_reasons.c.count + statement.excluded.count},
            ),
            [
                {"issue_id": i, "list_name": ln, "reason": r, "count": n}
                for (i, ln, r), n in tally.reasons.items()
            ],
        )


def _write_links(conn: Connection, tally: _Tally) -> None:
    if not tally.links:
        return
    statement = _upsert(conn, event_links)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["issue_id", "list_name", "url_key"],
            set_={
                "human": event_links.c.human + statement.excluded.human,
                "scanner": event_links.c.scanner + statement.excluded.scanner,
                "first_at": _earlier(event_links, statement, "first_at"),
                "last_at": _later(event_links, statement, "last_at"),
            },
        ),
        [
            {
                "issue_id": i,
                "list_name": ln,
                "url_key": url_key(url),
                "url": url,
                "human": human,
                "scanner": scanner,
                "first_at": a,
                "last_at": b,
            }
            for (i, ln, url), (human, scanner, a, b) in tally.links.items()
        ],
    )


def _write_readers(conn: Connection, tally: _Tally) -> None:
    if tally.readers:
        conn.execute(
            _upsert(conn, reader_engagement).on_conflict_do_nothing(),
            [
                {"issue_id": i, "list_name": ln, "what": w, "url_key": k, "subscriber_id": s}
                for i, ln, w, k, s in sorted(tally.readers)
            ],
        )


def _write_deliveries(conn: Connection, tally: _Tally, now: datetime) -> int:
    if tally.delivered:
        conn.execute(
            update(deliveries)
            .where(deliveries.c.id == bindparam("b_id"), deliveries.c.delivered_at.is_(None))
            .values(delivered_at=bindparam("b_at", type_=UtcDateTime())),
            [{"b_id": i, "b_at": at} for i, at in tally.delivered.items()],
        )
    if not tally.evidence:
        return 0
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == bindparam("b_id"), deliveries.c.evidence_event_id.is_(None))
        .values(evidence_event_id=bindparam("b_event")),
        [{"b_id": i, "b_event": e[:255]} for i, e in tally.evidence.items()],
    )
    return settle_deliveries(conn, sorted(tally.evidence), now)


def _settle() -> Any:
    """ambiguous → accepted for deliveries SendGrid's own events prove went out."""
    return (
        update(deliveries)
        .where(
            deliveries.c.state == DeliveryState.AMBIGUOUS.value,
            deliveries.c.evidence_event_id.is_not(None),
        )
        .values(
            state=DeliveryState.ACCEPTED.value,
            resolved_at=bindparam("b_now", type_=UtcDateTime()),
            last_error=literal("resolved by provider evidence: SendGrid event ", Text()).concat(
                deliveries.c.evidence_event_id
            ),
        )
    )


def settle_by_evidence(conn: Connection, send_id: int, now: datetime) -> int:
    """Deliveries of a send just marked ambiguous whose processed/delivered event came
    in already become accepted at once; how many. Reads the whole send: for a run's
    start (`mark_interrupted`), not for every batch (`settle_deliveries`)."""
    result = conn.execute(_settle().where(deliveries.c.send_id == send_id), {"b_now": now})
    return max(int(result.rowcount or 0), 0)


def settle_deliveries(conn: Connection, delivery_ids: Sequence[int], now: datetime) -> int:
    """`settle_by_evidence` for these deliveries only (a batch just recorded ambiguous,
    or those a webhook batch brought evidence for): found by their ids, so a large send's
    lost answers do not each read the whole send."""
    settled = 0
    for start in range(0, len(delivery_ids), CHUNK):
        chunk = delivery_ids[start : start + CHUNK]
        result = conn.execute(_settle().where(deliveries.c.id.in_(chunk)), {"b_now": now})
        settled += max(int(result.rowcount or 0), 0)
    return settled


def _write(conn: Connection, tally: _Tally, now: datetime) -> int:
    _write_counts(conn, tally)
    _write_links(conn, tally)
    _write_readers(conn, tally)
    if tally.anomalies:
        conn.execute(insert(event_anomalies), tally.anomalies)
    return _write_deliveries(conn, tally, now)


# --------------------------------------------------------------------------- reading


def _scoped(table: Table, issue_id: str, list_name: str | None) -> Any:
    condition = table.c.issue_id == issue_id
    return condition if list_name is None else and_(condition, table.c.list_name == list_name)


def _send_ids(conn: Connection, issue_id: str, list_name: str | None) -> list[int]:
    return list(
        conn.execute(select(sends.c.id).where(_scoped(sends, issue_id, list_name))).scalars()
    )


def totals(
    conn: Connection, issue_id: str, list_name: str | None = None, *, per_reader: bool = False
) -> EventTotals:
    """What SendGrid's events say about one issue (one list, or all its lists summed)."""
    counts = dict.fromkeys(COUNT_KEYS, 0)
    first: datetime | None = None
    last: datetime | None = None
    rows = conn.execute(
        select(
            event_counts.c.kind,
            func.sum(event_counts.c.count),
            func.min(event_counts.c.first_at),
            func.max(event_counts.c.last_at),
        )
        .where(_scoped(event_counts, issue_id, list_name))
        .group_by(event_counts.c.kind)
    )
    for kind, count, low, high in rows:
        counts[kind] = counts.get(kind, 0) + int(count)
        first = low if first is None or low < first else first
        last = high if last is None or high > last else last
    reasons = {
        reason: int(count)
        for reason, count in conn.execute(
            select(event_drop_reasons.c.reason, func.sum(event_drop_reasons.c.count))
            .where(_scoped(event_drop_reasons, issue_id, list_name))
            .group_by(event_drop_reasons.c.reason)
            .order_by(func.sum(event_drop_reasons.c.count).desc(), event_drop_reasons.c.reason)
        )
    }
    return EventTotals(
        issue_id=issue_id,
        list_name=list_name,
        counts=counts,
        dropped_by_reason=reasons,
        links=_links(conn, issue_id, list_name, per_reader),
        unique_openers=_unique(conn, issue_id, list_name, "open") if per_reader else None,
        resolved_by_evidence=_resolved(conn, issue_id, list_name),
        anomalies=_anomalies(conn, issue_id, list_name),
        first_event_at=first,
        last_event_at=last,
    )


def _links(
    conn: Connection, issue_id: str, list_name: str | None, per_reader: bool
) -> tuple[LinkClicks, ...]:
    rows = conn.execute(
        select(
            event_links.c.url_key,
            func.min(event_links.c.url),
            func.sum(event_links.c.human),
            func.sum(event_links.c.scanner),
        )
        .where(_scoped(event_links, issue_id, list_name))
        .group_by(event_links.c.url_key)
        .order_by(func.sum(event_links.c.human).desc(), func.min(event_links.c.url))
    ).all()
    unique: dict[str, int] = {}
    if per_reader:
        unique = {
            key: int(count)
            for key, count in conn.execute(
                select(
                    reader_engagement.c.url_key,
                    func.count(func.distinct(reader_engagement.c.subscriber_id)),
                )
                .where(
                    _scoped(reader_engagement, issue_id, list_name),
                    reader_engagement.c.what == "click",
                )
                .group_by(reader_engagement.c.url_key)
            )
        }
    return tuple(
        LinkClicks(url, int(human), int(scanner), unique.get(key, 0) if per_reader else None)
        for key, url, human, scanner in rows
    )


def _unique(conn: Connection, issue_id: str, list_name: str | None, what: str) -> int:
    return int(
        conn.execute(
            select(func.count(func.distinct(reader_engagement.c.subscriber_id))).where(
                _scoped(reader_engagement, issue_id, list_name), reader_engagement.c.what == what
            )
        ).scalar_one()
    )


def _resolved(conn: Connection, issue_id: str, list_name: str | None) -> int:
    ids = _send_ids(conn, issue_id, list_name)
    if not ids:
        return 0
    return int(
        conn.execute(
            select(func.count()).where(
                deliveries.c.send_id.in_(ids), deliveries.c.resolved_at.is_not(None)
            )
        ).scalar_one()
    )


def _anomalies(conn: Connection, issue_id: str, list_name: str | None) -> tuple[Anomaly, ...]:
    rows = conn.execute(
        select(
            event_anomalies.c.kind,
            event_anomalies.c.event_id,
            event_anomalies.c.at,
            event_anomalies.c.detail,
        )
        .where(_scoped(event_anomalies, issue_id, list_name))
        .order_by(event_anomalies.c.id)
        .limit(MAX_ANOMALIES_SHOWN)
    )
    return tuple(Anomaly(kind, event_id, at, detail) for kind, event_id, at, detail in rows)


def anomaly_count(conn: Connection, issue_id: str, list_name: str | None = None) -> int:
    """All anomalies stored for the issue (`totals` lists at most MAX_ANOMALIES_SHOWN)."""
    return int(
        conn.execute(
            select(func.count()).where(_scoped(event_anomalies, issue_id, list_name))
        ).scalar_one()
    )
