"""The typed, frozen results of the public API (newsletter.api.Newsletter).

Each method of `Newsletter` returns one of these; none of them prints. What the CLI
used to print mid-command as a warning is data here (`warnings`, `created_store`), so
any shell (the CLI, the web) can show it its own way. Texts are plain: escaping for a
terminal or a page is the shell's job.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from newsletter.archive_backfill import BackfillReport
from newsletter.digest import Digest
from newsletter.dispatch.engine import Progress, SendReport
from newsletter.errors import NewsletterError
from newsletter.feedback import PullOutcome
from newsletter.importer import Note
from newsletter.message import IssueMessage, Recipient
from newsletter.render import RenderedIssue
from newsletter.store import Approval, ImportReport, ListCount, SendRecord, Status
from newsletter.transports import Outcome, Result
from newsletter.wording import plural


@dataclass(frozen=True)
class SendUpdate:
    """One progress update of a send: which issue to which list, and its running totals.
    `dispatch` sends several lists through the same callback; these fields tell them apart."""

    issue_id: str
    list_name: str
    progress: Progress


# --------------------------------------------------------------------------- digests


@dataclass(frozen=True)
class RenderedFile:
    """One file `render` wrote: where, and its size in bytes (UTF-8)."""

    path: Path
    size: int


@dataclass(frozen=True)
class RenderResult:
    """A rendered digest: the issue, its warnings (e.g. the HTML nears Gmail's 102 KB
    clipping) and, when written, the folder and its files (email.html, .txt, .mjml)."""

    path: Path
    issue: RenderedIssue
    folder: Path | None
    files: tuple[RenderedFile, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Screenshot:
    """One PNG of the email: where, its width in CSS pixels (= PNG pixels), the colour
    scheme the reader prefers ("light" or "dark"), and its full height in CSS pixels."""

    path: Path
    width: int
    scheme: str
    height: int


@dataclass(frozen=True)
class ScreenshotResult:
    """`screenshot`: the digest, its issue id and the PNGs written (375 and 600 px, light
    and dark, in that order)."""

    path: Path
    issue_id: str
    files: tuple[Screenshot, ...]


@dataclass(frozen=True)
class TextImport:
    """A published text imported into a digest: the source, the digest JSON written to
    `out` (valid: read back as `validate` reads it), the review file beside it, the
    digest, the notes for the editor (also in `review`), and whether the source was
    read as HTML."""

    source: Path
    out: Path
    review: Path
    digest: Digest
    notes: tuple[Note, ...]
    html: bool


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class PreparedIssue:
    """A digest validated, rendered and checked for one list: everything before sending.
    `warnings` are the rendering's, each prefixed with the digest's path."""

    path: Path
    list_name: str
    message: IssueMessage
    warnings: tuple[str, ...]

    @property
    def issue_id(self) -> str:
        return self.message.issue_id


@dataclass(frozen=True)
class DryRun:
    """What a send would do: the audience it would have and any send already started."""

    subject: str
    issue_id: str
    list_name: str
    transport: str
    audience: int
    existing_state: str | None


class SendOutcome(StrEnum):
    SENT = "sent"  # a run happened (or found the send already finished): see `report`
    NOTHING_TO_SEND = "nothing to send"  # the list has no active member; nothing recorded
    DRY_RUN = "dry run"  # see `dry_run`


@dataclass(frozen=True)
class SendResult:
    """What `send`, `retry` or one list of `dispatch` did.

    `render_warnings` are the rendering's (also given to the progress callback as a
    PreparedIssue before sending starts); `warnings` the send's own ("no active
    subscribers"); `attention` lines say what needs doing, with the commands to do it."""

    outcome: SendOutcome
    path: Path
    issue_id: str
    list_name: str
    report: SendReport | None = None
    dry_run: DryRun | None = None
    render_warnings: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    attention: tuple[str, ...] = ()

    @property
    def needs_attention(self) -> bool:
        """True when the CLI exits 1: recipients failed, ambiguous or left, the send
        paused, or nothing could be sent because the list has nobody on it."""
        if self.report is not None:
            return self.report.needs_attention
        if self.dry_run is not None:
            return self.dry_run.existing_state is None and not self.dry_run.audience
        return True


class DispatchOutcome(StrEnum):
    NO_DIGEST = "no digest"
    ALREADY_SENT = "already sent"
    CANCELLED = "cancelled"
    NOT_APPROVED = "not approved"  # unapproved, or changed since its latest approval
    SENT = "sent"


@dataclass(frozen=True)
class DispatchEntry:
    """One weekly list's part of a dispatch. `result` only when SENT; `attention` when
    ALREADY_SENT (readers still failed or in doubt are said every run until someone acts)
    or NOT_APPROVED (why nothing was sent, what to run). `approval`: when NOT_APPROVED,
    the issue's latest approval (None: nobody approved it)."""

    list_name: str
    outcome: DispatchOutcome
    today: dt.date
    path: Path | None = None
    issue_id: str | None = None
    result: SendResult | None = None
    attention: tuple[str, ...] = ()
    approval: Approval | None = None

    @property
    def needs_attention(self) -> bool:
        if self.outcome is DispatchOutcome.NOT_APPROVED:
            return True
        if self.result is not None:
            return self.result.needs_attention
        return bool(self.attention)


@dataclass(frozen=True)
class DispatchReport:
    """The suppression pull's outcome (newsletter.feedback: PullSkipped unless the
    transport is SendGrid, Pulled, or PullFailed, which only warns), then one entry per
    list, in the order they were sent."""

    pull: PullOutcome
    entries: tuple[DispatchEntry, ...]

    @property
    def needs_attention(self) -> bool:
        return any(entry.needs_attention for entry in self.entries)

    @property
    def not_approved(self) -> tuple[DispatchEntry, ...]:
        """The lists left unsent because the due issue is not approved as it is now
        (the CLI then exits 12, EXIT_NOT_APPROVED)."""
        return tuple(e for e in self.entries if e.outcome is DispatchOutcome.NOT_APPROVED)


ProgressEvent = SendUpdate | PreparedIssue | PullOutcome | DispatchEntry
"""What a progress callback receives, in the order it happens: a PreparedIssue once a
digest is validated and rendered (its warnings), SendUpdates while batches go out,
and, in `dispatch`, the suppression pull's outcome and each list's entry when done."""

ProgressCallback = Callable[[ProgressEvent], None]
"""Called on the caller's thread, between batches; it must not block for long."""


@dataclass(frozen=True)
class FailedDelivery:
    email: str
    error: str


@dataclass(frozen=True)
class SendStatus:
    """One send of one issue to one list, as the ledger has it."""

    send: SendRecord
    counts: dict[str, int]
    already_sent_via: dict[str, int]
    attention: tuple[str, ...]
    failed: tuple[FailedDelivery, ...]  # the first few, with the provider's reason
    resolved_by_evidence: int = 0  # once ambiguous, proven sent by SendGrid's events


@dataclass(frozen=True)
class CancelResult:
    """A scheduled send cancelled: `requeued` messages will not go out."""

    issue_id: str
    list_name: str
    requeued: int


@dataclass(frozen=True)
class PreviewReport:
    """The [PREVIEW] messages: who they went to, the .eml files written, and each
    transport answer. `error()` is what the CLI raises when some were not accepted."""

    issue_id: str
    recipients: tuple[Recipient, ...]
    eml_files: tuple[Path, ...]
    results: tuple[Result, ...]
    warnings: tuple[str, ...] = ()

    @property
    def failed(self) -> int:
        return sum(1 for result in self.results if result.outcome is not Outcome.ACCEPTED)

    def error(self) -> NewsletterError | None:
        if not self.failed:
            return None
        were = "was" if self.failed == 1 else "were"
        return NewsletterError(
            f"{self.failed:,} of {plural(len(self.results), 'preview')} {were} not accepted"
        )


# --------------------------------------------------------------------------- approvals


@dataclass(frozen=True)
class ApprovalRecorded:
    """`approve`: the approval that now counts for the issue. `already`: the latest
    approval was already this person's, of this exact version; nothing was added."""

    path: Path
    approval: Approval
    already: bool = False
    warnings: tuple[str, ...] = ()  # the pre-send check's warnings (approval goes on)


class ApprovalState(StrEnum):
    CURRENT = "current"  # both hashes match the digest file as it is now
    STALE = "stale"  # the file (or its rendering) changed since this approval
    UNREADABLE = "unreadable"  # the file is gone, invalid, or does not render


@dataclass(frozen=True)
class ApprovalStatus:
    """One recorded approval against the digest file now. `latest`: the approval that
    counts for its issue (dispatch compares against it alone); `detail`: why UNREADABLE."""

    approval: Approval
    latest: bool
    state: ApprovalState
    file: Path
    detail: str | None = None


# --------------------------------------------------------------------------- subscribers


@dataclass(frozen=True)
class ImportResult:
    """An import of one CSV file into one list. `created_store`: the store's display URL
    when this call created it (only import and sync create a store)."""

    report: ImportReport
    source: Path
    created_store: str | None = None


@dataclass(frozen=True)
class SyncedList:
    report: ImportReport
    file: Path  # as config.yaml names it


@dataclass(frozen=True)
class SyncResult:
    lists: tuple[SyncedList, ...]
    dry_run: bool
    created_store: str | None = None


@dataclass(frozen=True)
class Counts:
    """Members of every list (config.yaml's lists first, then any other the store has)
    by status, and every subscriber by status."""

    lists: tuple[ListCount, ...]
    totals: dict[Status, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PendingPurged:
    """What `purge_pending` did: unconfirmed sign-ups deleted (posted before
    `older_than`, aware UTC) and how many still wait for their confirmation."""

    purged: int
    older_than: dt.datetime
    still_pending: int


# --------------------------------------------------------------------------- the store


@dataclass(frozen=True)
class StoreInit:
    where: str
    created: bool
    schema: str | None


@dataclass(frozen=True)
class StoreUpgrade:
    where: str
    before: str | None
    head: str
    backfill: BackfillReport

    @property
    def up_to_date(self) -> bool:
        return self.before == self.head


@dataclass(frozen=True)
class StoreState:
    where: str
    current: str | None
    head: str


@dataclass(frozen=True)
class ArchiveWritten:
    out: Path
    files: tuple[Path, ...]
    issues: int
    backfill: BackfillReport


__all__ = [
    "ApprovalRecorded",
    "ApprovalState",
    "ApprovalStatus",
    "ArchiveWritten",
    "CancelResult",
    "Counts",
    "DispatchEntry",
    "DispatchOutcome",
    "DispatchReport",
    "DryRun",
    "FailedDelivery",
    "ImportResult",
    "PreparedIssue",
    "PreviewReport",
    "ProgressCallback",
    "ProgressEvent",
    "RenderResult",
    "RenderedFile",
    "SendOutcome",
    "SendResult",
    "SendStatus",
    "SendUpdate",
    "StoreInit",
    "StoreState",
    "StoreUpgrade",
    "SyncResult",
    "SyncedList",
]


@dataclass(frozen=True)
class NewDigest:
    """`Newsletter.new_digest`: the skeleton written for the next issue.

    `path` the new digest file (digests/YYYY-MM-DD.json), `schema` the JSON Schema
    written beside it (digests/schema.json), `date` and `number` the new issue's,
    `after` the newest digest before it that the date and number were counted from
    (None when the date was given and no digest exists)."""

    path: Path
    schema: Path
    date: dt.date
    number: int | None
    after: Path | None


@dataclass(frozen=True)
class PersonData:
    """Everything stored about one address (`subscribers export-person`, GDPR art. 15):
    `data` is JSON-ready (subscriber, lists, history, deliveries, pending change)."""

    email: str
    data: dict[str, Any]

    def to_json(self) -> str:
        """The export as indented JSON text (non-ASCII kept as it is)."""
        return json.dumps(self.data, indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class Forgotten:
    """An erasure (`subscribers forget`): the subscriber's id (all that is said of them:
    no address) or, when the address had been erased before, `already_erased`."""

    subscriber_id: int | None
    already_erased: bool


@dataclass(frozen=True)
class ReportPage:
    """`report_page`: the HTML report of one issue, and the file it was written to."""

    issue_id: str
    html: str
    path: Path | None  # None unless `out` was given
