"""Issues as they were sent: what the archive, the feed and the static copy show.

Functions on an open connection, each called inside one transaction by
`Store`. The rules:

- a send keeps its issue when it starts: the digest's canonical JSON, the HTML
  and text before personalisation (with the unsubscribe placeholder, never a
  reader's link), the subject, both hashes and the time;
- once per version: a send whose message equals the issue's latest version
  (another list, a resumed or retried run) writes nothing; a message that
  differs (a forced resend of a changed digest, new templates on a resumed
  send, another list sent a changed digest) is added as the next version;
- a row is never rewritten or deleted, so the archive can show the latest
  version that actually went out and every earlier one stays on record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from newsletter.states import SendState
from newsletter.store.schema import sends, sent_issues


class SendableIssue(Protocol):
    """What a send knows about its issue (an IssueMessage has all of it)."""

    @property
    def issue_id(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def digest_json(self) -> str: ...
    @property
    def html(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def unsubscribe_placeholder(self) -> str: ...
    @property
    def content_hash(self) -> str: ...
    @property
    def message_hash(self) -> str: ...


@dataclass(frozen=True)
class IssueSnapshot:
    """An issue's content as sent, not yet stored (the fields of `SendableIssue`)."""

    issue_id: str
    subject: str
    digest_json: str  # canonical JSON (Digest.canonical_json): sha256 is content_hash
    html: str  # before personalisation
    text: str
    unsubscribe_placeholder: str  # in html and text where each reader's link goes
    content_hash: str
    message_hash: str

    @classmethod
    def of(cls, issue: SendableIssue) -> IssueSnapshot:
        return cls(**{name: getattr(issue, name) for name in cls.__annotations__})


@dataclass(frozen=True)
class SentIssue(IssueSnapshot):
    """One stored version of an issue as it was sent.

    `origin` says how it got here: "send" (kept by the send itself),
    "recovered" (from a digest file whose content and rendered message both
    match what the ledger recorded) or "re-rendered" (the digest file matches,
    but today's templates render it differently from what was sent).
    """

    id: int
    version: int
    first_sent_at: datetime
    origin: str


@dataclass(frozen=True)
class LatestVersion:
    """The newest version of an issue, without its bodies (for listings)."""

    id: int
    issue_id: str
    version: int
    content_hash: str


_FIELDS = (*IssueSnapshot.__annotations__, *SentIssue.__annotations__)


def _sent_issue(row: Any) -> SentIssue:
    return SentIssue(**{name: getattr(row, name) for name in _FIELDS})


def latest(conn: Connection, issue_id: str) -> SentIssue | None:
    """The newest version of an issue, or None if it was never kept."""
    row = conn.execute(
        select(sent_issues)
        .where(sent_issues.c.issue_id == issue_id)
        .order_by(sent_issues.c.version.desc())
        .limit(1)
    ).first()
    return _sent_issue(row) if row else None


def versions(conn: Connection, issue_id: str) -> list[SentIssue]:
    """Every version of an issue, oldest first."""
    rows = conn.execute(
        select(sent_issues)
        .where(sent_issues.c.issue_id == issue_id)
        .order_by(sent_issues.c.version)
    )
    return [_sent_issue(row) for row in rows]


def keep(
    conn: Connection,
    snapshot: IssueSnapshot,
    *,
    now: datetime,
    origin: str = "send",
    first_only: bool = False,
) -> SentIssue | None:
    """Store `snapshot` as the issue's next version unless the latest one is the same
    message (or, with `first_only`, unless the issue has any version: a recovered old
    issue must never land on top of what a send kept meanwhile); the version the
    issue now has. None if another run added a version at the same moment (the
    caller tries again in a new transaction)."""
    current = latest(conn, snapshot.issue_id)
    if current is not None and (first_only or current.message_hash == snapshot.message_hash):
        return current
    version = 1 if current is None else current.version + 1
    return add_version(conn, snapshot, version, now=now, origin=origin)


def add_version(
    conn: Connection, snapshot: IssueSnapshot, version: int, *, now: datetime, origin: str
) -> SentIssue | None:
    """Insert `snapshot` as `version`; None if that version exists already. The
    transaction stays usable either way (no unique violation aborts it on PostgreSQL)."""
    values = {
        **{name: getattr(snapshot, name) for name in IssueSnapshot.__annotations__},
        "version": version,
        "first_sent_at": now,
        "origin": origin,
    }
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    inserted = conn.execute(dialect.insert(sent_issues).values(**values).on_conflict_do_nothing())
    if inserted.rowcount != 1:
        return None
    return latest(conn, snapshot.issue_id)


def latest_versions(conn: Connection, issue_ids: list[str]) -> dict[str, LatestVersion]:
    """The newest version of each of these issues that has one."""
    if not issue_ids:
        return {}
    newest = (
        select(sent_issues.c.issue_id, func.max(sent_issues.c.version).label("version"))
        .where(sent_issues.c.issue_id.in_(issue_ids))
        .group_by(sent_issues.c.issue_id)
        .subquery()
    )
    return _versions_of(conn, newest)


def published_versions(
    conn: Connection, issue_ids: list[str], now: datetime
) -> dict[str, LatestVersion]:
    """The newest version of each of these issues whose content went out: a finished
    send, due by `now`, recorded its content hash. A version kept by a send that has not
    finished (paused, refused by every server, scheduled for later) is no issue "as
    sent": the readers did not get it, and an earlier version they got is shown."""
    if not issue_ids:
        return {}
    went_out = (
        select(sends.c.issue_id, sends.c.content_hash)
        .where(
            sends.c.issue_id.in_(issue_ids),
            sends.c.state == SendState.FINISHED,
            sends.c.finished_at.is_not(None),
            or_(sends.c.send_at.is_(None), sends.c.send_at <= now),
        )
        .distinct()
        .subquery()
    )
    newest = (
        select(sent_issues.c.issue_id, func.max(sent_issues.c.version).label("version"))
        .join(
            went_out,
            (went_out.c.issue_id == sent_issues.c.issue_id)
            & (went_out.c.content_hash == sent_issues.c.content_hash),
        )
        .group_by(sent_issues.c.issue_id)
        .subquery()
    )
    return _versions_of(conn, newest)


def version_by_id(conn: Connection, version_id: int) -> SentIssue | None:
    """One stored version, by its id."""
    row = conn.execute(select(sent_issues).where(sent_issues.c.id == version_id)).first()
    return _sent_issue(row) if row else None


def _versions_of(conn: Connection, newest: Any) -> dict[str, LatestVersion]:
    """The versions `newest` (a subquery of issue_id and version) names, by issue."""
    rows = conn.execute(
        select(
            sent_issues.c.id,
            sent_issues.c.issue_id,
            sent_issues.c.version,
            sent_issues.c.content_hash,
        ).join(
            newest,
            (newest.c.issue_id == sent_issues.c.issue_id)
            & (newest.c.version == sent_issues.c.version),
        )
    )
    return {
        row.issue_id: LatestVersion(row.id, row.issue_id, row.version, row.content_hash)
        for row in rows
    }


def digest_texts(conn: Connection, ids: list[int]) -> dict[int, str]:
    """The stored digest JSON of these versions, by id."""
    if not ids:
        return {}
    rows = conn.execute(
        select(sent_issues.c.id, sent_issues.c.digest_json).where(sent_issues.c.id.in_(ids))
    )
    return {row.id: row.digest_json for row in rows}


@dataclass(frozen=True)
class UnkeptIssue:
    """An issue the ledger has finished sends of, but no kept version (sent before the
    store kept issues): what those sends recorded."""

    issue_id: str
    content_hashes: tuple[str, ...]  # newest send first
    message_hashes: tuple[str, ...]
    first_started_at: datetime


def unkept(conn: Connection) -> list[UnkeptIssue]:
    """Issues with a finished send but no stored version, oldest first. (An unfinished
    one is not in the archive; resumed, the send keeps its issue itself.)"""
    kept = select(sent_issues.c.issue_id).distinct()
    rows = conn.execute(
        select(sends.c.issue_id, sends.c.content_hash, sends.c.message_hash, sends.c.started_at)
        .where(sends.c.state == SendState.FINISHED, sends.c.issue_id.not_in(kept))
        .order_by(sends.c.issue_id, sends.c.started_at.desc())
    ).all()
    found: dict[str, UnkeptIssue] = {}
    for row in rows:
        seen = found.get(row.issue_id)
        contents = (seen.content_hashes if seen else ()) + (row.content_hash,)
        messages = (seen.message_hashes if seen else ()) + (
            (row.message_hash,) if row.message_hash else ()
        )
        first = min(seen.first_started_at, row.started_at) if seen else row.started_at
        found[row.issue_id] = UnkeptIssue(row.issue_id, contents, messages, first)
    return list(found.values())
