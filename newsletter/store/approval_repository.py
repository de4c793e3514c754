"""Approvals: who approved which version of an issue, and when (`store.approvals`).

An approval is bound to content: it names the digest's content hash and the
rendered message's hash at the moment it was given. `dispatch` sends an issue
only while both still match the issue's latest approval, so a draft edited after
its approval (or re-rendered by changed templates) waits for a new one. Rows are
never rewritten: the table is the history of approvals, the latest row of an
issue the one that counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from newsletter.store.database import Database
from newsletter.store.schema import approvals


@dataclass(frozen=True)
class Approval:
    """One approval of one version of an issue."""

    id: int
    issue_id: str  # the digest's date, YYYY-MM-DD
    digest_path: str  # the file approved, absolute, as it was named then
    content_hash: str  # sha256 hex of the canonical digest JSON (Digest.content_hash)
    message_hash: str  # sha256 hex of the rendered subject, HTML and text
    approved_by: str
    approved_at: datetime  # aware, UTC: the store's clock

    def matches(self, content_hash: str, message_hash: str) -> bool:
        """Whether this approval covers exactly this content and this rendered message."""
        return self.content_hash == content_hash and self.message_hash == message_hash


def _approval(row: Any) -> Approval:
    return Approval(**{name: getattr(row, name) for name in Approval.__annotations__})


class ApprovalRepository:
    """The approvals of a store: record one, the latest of an issue, all of them."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def record(
        self,
        *,
        issue_id: str,
        digest_path: str,
        content_hash: str,
        message_hash: str,
        approved_by: str,
    ) -> Approval:
        """Add an approval, dated by the store's clock; it becomes the issue's latest."""
        with self._db.write() as conn:
            new_id = conn.execute(
                insert(approvals)
                .values(
                    issue_id=issue_id,
                    digest_path=digest_path,
                    content_hash=content_hash,
                    message_hash=message_hash,
                    approved_by=approved_by,
                    approved_at=self._db.clock.now(),
                )
                .returning(approvals.c.id)
            ).scalar_one()
            row = conn.execute(select(approvals).where(approvals.c.id == new_id)).one()
        return _approval(row)

    def latest(self, issue_id: str) -> Approval | None:
        """The approval that counts for an issue (the last recorded), or None."""
        with self._db.read() as conn:
            row = conn.execute(
                select(approvals)
                .where(approvals.c.issue_id == issue_id)
                .order_by(approvals.c.id.desc())
                .limit(1)
            ).first()
        return _approval(row) if row else None

    def history(self, issue_id: str | None = None) -> list[Approval]:
        """Every approval (or an issue's), newest issue first, then oldest approval first."""
        query = select(approvals).order_by(approvals.c.issue_id.desc(), approvals.c.id)
        if issue_id is not None:
            query = query.where(approvals.c.issue_id == issue_id)
        with self._db.read() as conn:
            return [_approval(row) for row in conn.execute(query)]
