"""What the dispatcher needs from the outside world, as structural protocols.

The dispatcher depends on these, not on the concrete Store: `Ledger` is exactly the
methods of the sends ledger it calls (`Store.sends` satisfies it structurally),
`IssueArchive` the one method of the issues kept as sent (`Store.issues`), and the link
every reader's message carries comes in as a function (`RecipientOf`), so the
dispatcher needs neither the config nor the signing secret.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol, runtime_checkable

from newsletter.message import IssueMessage, Recipient
from newsletter.store import Batch, Claimed, ForcedSend, Outcomes, SendRecord

RecipientOf = Callable[[Claimed], Recipient]
"""Builds the recipient (with its signed unsubscribe URL) of one claimed delivery."""


@runtime_checkable
class BulkRecipientOf(Protocol):
    """A RecipientOf that can also give a whole claimed batch's links at once: `urls(ids)`
    is (unsubscribe URLs, preference-page URLs or ""), in order, the same as calling it
    on each reader (a million-reader send feels the difference)."""

    def __call__(self, claimed: Claimed) -> Recipient: ...

    def urls(self, subscriber_ids: Sequence[int]) -> tuple[list[str], list[str]]: ...


class Ledger(Protocol):
    """The sends ledger as the dispatcher uses it (newsletter.store.SendRepository)."""

    def send_lock(self, issue_id: str, list_name: str) -> AbstractContextManager[None]: ...

    def open_send(
        self,
        *,
        issue_id: str,
        list_name: str,
        content_hash: str,
        message_hash: str,
        transport: str,
        force: bool = False,
        send_at: datetime | None = None,
        batch_id: str | None = None,
        forced: ForcedSend | None = None,
    ) -> SendRecord: ...

    def mark_interrupted(self, send_id: int) -> int: ...

    def requeue(self, send_id: int, states: Iterable[str]) -> int: ...

    def send_counts(self, send_id: int) -> dict[str, int]: ...

    def finish_send(self, send_id: int, state: str, *, note: str | None) -> None: ...

    def last_batch_number(self, send_id: int) -> int: ...

    def claim_batch(self, send_id: int, after_id: int, size: int, number: int) -> Batch | None: ...

    def record_outcomes(self, send_id: int, batch: int, outcomes: Outcomes) -> None: ...

    def get_send(self, send_id: int) -> SendRecord: ...

    def ambiguous_batches(self, send_id: int, counts: dict[str, int] | None = None) -> int: ...

    def send_overlaps(self, send_id: int) -> dict[str, int]: ...


class IssueArchive(Protocol):
    """Where each issue is kept exactly as it goes out, for the web archive
    (newsletter.store.IssueRepository)."""

    def keep_sent_issue(self, issue: IssueMessage) -> object: ...
