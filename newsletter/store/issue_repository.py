"""Issues in the store: which have gone out and what they said, as sent.

What the public archive may show, and the issue each send kept (`snapshots`).

An issue is published once one of its sends has finished; a scheduled send
counts only after its delivery time, so the archive never shows an issue
before its readers get it. What it shows is the issue's latest version as
sent, kept in the store (`newsletter.store.snapshots`), never a digest file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, func, or_, select

from newsletter.errors import StoreError
from newsletter.states import SendState
from newsletter.store import snapshots
from newsletter.store.database import Database
from newsletter.store.schema import sends
from newsletter.store.snapshots import (
    IssueSnapshot,
    LatestVersion,
    SendableIssue,
    SentIssue,
    UnkeptIssue,
)

KEEP_ATTEMPTS = 5  # concurrent runs adding versions of one issue: never more than a few


@dataclass(frozen=True)
class PublishedIssue:
    issue_id: str  # the digest's date, YYYY-MM-DD
    sent_at: datetime  # when its first send finished (or was scheduled to go out)


@dataclass(frozen=True)
class ArchivedVersion:
    """A published issue and its latest version as sent."""

    issue_id: str
    sent_at: datetime
    version: LatestVersion


def published_issues(conn: Connection, now: datetime) -> list[PublishedIssue]:
    """Issues with a finished send, newest first."""
    went_out = func.min(func.coalesce(sends.c.send_at, sends.c.finished_at))
    rows = conn.execute(
        select(sends.c.issue_id, went_out.label("sent_at"))
        .where(
            sends.c.state == SendState.FINISHED,
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


class IssueRepository:
    """The issues of a store (`store.issues`): published, archived, kept as sent."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def published_issues(self) -> list[PublishedIssue]:
        """Issues with a finished send, newest first."""
        with self._db.read() as conn:
            return published_issues(conn, self._db.clock.now())

    def archived_issues(self) -> list[ArchivedVersion]:
        """Published issues that have a version kept, newest first, each with its latest
        version that went out (for /archive/, the feed and the static copy; see
        `snapshots.published_versions`)."""
        with self._db.read() as conn:
            now = self._db.clock.now()
            published = published_issues(conn, now)
            ids = [p.issue_id for p in published]
            latest = snapshots.published_versions(conn, ids, now)
        return [
            ArchivedVersion(p.issue_id, p.sent_at, latest[p.issue_id])
            for p in published
            if p.issue_id in latest
        ]

    # -- issues as sent ----------------------------------------------------------

    def keep_sent_issue(self, issue: SendableIssue) -> SentIssue:
        """Keep the issue a send is about to send, as it is sent (before personalisation).

        Called once when a send starts or resumes. Writes nothing when the issue's
        latest kept version is the same message (message_hash); otherwise adds the
        next version. Returns the version now latest. StoreError if the store fails.
        """
        return self._keep(IssueSnapshot.of(issue), origin="send", at=self._db.clock.now())

    def keep_recovered_issue(
        self, snapshot: IssueSnapshot, *, origin: str, first_sent_at: datetime
    ) -> SentIssue:
        """Keep an issue recovered for a send recorded before issues were kept
        (origin "recovered" or "re-rendered"; see `SentIssue`), as its first version
        only: if the issue has a version by now, that one stays and is returned."""
        return self._keep(snapshot, origin=origin, at=first_sent_at, first_only=True)

    def _keep(
        self, snapshot: IssueSnapshot, *, origin: str, at: datetime, first_only: bool = False
    ) -> SentIssue:
        for _ in range(KEEP_ATTEMPTS):
            with self._db.write() as conn:
                kept = snapshots.keep(conn, snapshot, now=at, origin=origin, first_only=first_only)
            if kept is not None:
                return kept
        raise StoreError(
            f"{snapshot.issue_id}: could not keep the issue as sent: other runs kept adding "
            "versions at the same moment"
        )

    def sent_issue(self, issue_id: str) -> SentIssue | None:
        """The latest version of an issue as sent, or None if none was kept."""
        with self._db.read() as conn:
            return snapshots.latest(conn, issue_id)

    def sent_issue_version(self, version_id: int) -> SentIssue | None:
        """One kept version, by the id `archived_issues` gives."""
        with self._db.read() as conn:
            return snapshots.version_by_id(conn, version_id)

    def sent_issue_versions(self, issue_id: str) -> list[SentIssue]:
        """Every kept version of an issue, oldest first."""
        with self._db.read() as conn:
            return snapshots.versions(conn, issue_id)

    def sent_issue_digests(self, version_ids: list[int]) -> dict[int, str]:
        """The digest JSON of these kept versions, by version id."""
        with self._db.read() as conn:
            return snapshots.digest_texts(conn, version_ids)

    def unkept_issues(self) -> list[UnkeptIssue]:
        """Issues with sends but no kept version (sent before 0004): what to recover."""
        with self._db.read() as conn:
            return snapshots.unkept(conn)
