"""Reading lists: their members in streamed batches, counts, and CSV export.

Members are read in id order through a streaming result (a server-side cursor
on PostgreSQL, SQLite's own lazy cursor), so a million-member list is never in
memory at once: only one batch is.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

from sqlalchemy import Connection, Select, func, select

from newsletter.csvio import neutralise_cell
from newsletter.store.models import ListCount, Status, Subscriber
from newsletter.store.schema import memberships
from newsletter.store.schema import subscribers as subs
from newsletter.store.subscribers import to_subscriber


def members_query(list_name: str, status: Status | None) -> Select[Any]:
    """Current members of a list (optionally of one status), in id order."""
    query = (
        select(subs)
        .join(memberships, memberships.c.subscriber_id == subs.c.id)
        .where(memberships.c.list_name == list_name, memberships.c.removed_at.is_(None))
        .order_by(subs.c.id)
    )
    return query.where(subs.c.status == status.value) if status else query


def iter_batches(
    conn: Connection, list_name: str, status: Status | None, batch_size: int
) -> Iterator[list[Subscriber]]:
    """The members, `batch_size` at a time, streamed from the database."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    result = conn.execution_options(yield_per=batch_size).execute(members_query(list_name, status))
    for rows in result.partitions():
        yield [to_subscriber(row) for row in rows]


def has_members(conn: Connection, list_name: str, status: Status | None) -> bool:
    """Whether the list has a current member (of `status`, if given): one indexed probe."""
    return conn.execute(select(members_query(list_name, status).limit(1).exists())).scalar() is True


def list_counts(conn: Connection) -> list[ListCount]:
    """Current members of every list that has any, by status."""
    rows = conn.execute(
        select(memberships.c.list_name, subs.c.status, func.count())
        .join(subs, subs.c.id == memberships.c.subscriber_id)
        .where(memberships.c.removed_at.is_(None))
        .group_by(memberships.c.list_name, subs.c.status)
        .order_by(memberships.c.list_name)
    )
    counts: dict[str, dict[Status, int]] = {}
    for list_name, status, count in rows:
        counts.setdefault(list_name, {})[Status(status)] = count
    return [ListCount(name, by_status) for name, by_status in counts.items()]


def status_counts(conn: Connection) -> dict[Status, int]:
    """Every subscriber in the store, on a list or not, by status."""
    rows = conn.execute(select(subs.c.status, func.count()).group_by(subs.c.status))
    found = {Status(status): count for status, count in rows}
    return {status: found.get(status, 0) for status in Status}


def write_csv(
    batches: Callable[[], Iterable[list[Subscriber]]],
    out: TextIO,
) -> int:
    """Write members as a CSV that `import` reads back; the number of rows written.

    Every cell (the header's too) goes through `neutralise_cell`, so no spreadsheet
    evaluates one as a formula, and import strips exactly that again.

    Two passes over `batches` (a function that starts a fresh stream): the
    first collects the attribute names for the header, the second writes rows,
    so memory holds one batch and the set of names, never the list."""
    keys = sorted({key for batch in batches() for s in batch for key in s.attributes})
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([neutralise_cell(cell) for cell in ("email", "name", *keys)])
    written = 0
    for batch in batches():
        for subscriber in batch:
            values = [subscriber.attributes.get(key, "") for key in keys]
            cells = (subscriber.email, subscriber.name or "", *values)
            writer.writerow([neutralise_cell(cell) for cell in cells])
            written += 1
    return written
