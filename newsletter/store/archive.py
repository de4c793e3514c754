"""Which issues have gone out: what the public web archive may show.

An issue is published once one of its sends has finished; a scheduled send
counts only after its delivery time, so the archive never shows an issue
before its readers get it.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, or_, select

from newsletter.store.ledger import FINISHED
from newsletter.store.schema import sends


@dataclass(frozen=True)
class PublishedIssue:
    issue_id: str  # the digest's date, YYYY-MM-DD
    sent_at: datetime  # when its first send finished (or was scheduled to go out)


def published_issues(conn: Connection, now: datetime) -> list[PublishedIssue]:
    """Issues with a finished send, newest first."""
    went_out = func.min(func.coalesce(sends.c.send_at, sends.c.finished_at))
    rows = conn.execute(
        select(sends.c.issue_id, went_out.label("sent_at"))
        .where(
            sends.c.state == FINISHED,
            sends.c.finished_at.is_not(None),
            or_(sends.c.send_at.is_(None), sends.c.send_at <= now),
        )
        .group_by(sends.c.issue_id)
        .order_by(sends.c.issue_id.desc())
    )
    return [PublishedIssue(row.issue_id, _utc(row.sent_at)) for row in rows]


def _utc(value: datetime | str) -> datetime:
    # An aggregate loses the column's type on SQLite: the value comes back as text.
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class ArchiveMixin:
    """The archive's query on `Store`; relies on its `_read` transaction."""

    def _read(self) -> AbstractContextManager[Connection]:  # provided by Store
        raise NotImplementedError

    def published_issues(self) -> list[PublishedIssue]:
        """Issues with a finished send, newest first (for /archive/ and the feed)."""
        with self._read() as conn:
            return published_issues(conn, datetime.now(UTC))
