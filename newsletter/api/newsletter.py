"""`Newsletter`: the public Python API, one object per configuration (see docs/api.md).

Every method returns a typed, frozen result (newsletter.api.results) or raises one of
the project's typed errors (newsletter.errors); none prints, exits or imports click.
The CLI (newsletter.cli) and the web are shells over this class.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TextIO

from newsletter.api import (
    approval,
    archive,
    digests,
    importing,
    preview,
    readers,
    reporting,
    screenshots,
    sending,
    subscribers,
)
from newsletter.api.results import (
    ApprovalRecorded,
    ApprovalStatus,
    ArchiveWritten,
    CancelResult,
    Counts,
    DispatchReport,
    Forgotten,
    ImportResult,
    NewDigest,
    PendingPurged,
    PersonData,
    PreparedIssue,
    PreviewReport,
    ProgressCallback,
    RenderResult,
    ReportPage,
    ScreenshotResult,
    SendResult,
    SendStatus,
    StoreInit,
    StoreState,
    StoreUpgrade,
    SyncResult,
    TextImport,
)
from newsletter.api.subscribers import CreatedCallback
from newsletter.api.workbench import Workbench
from newsletter.archive_backfill import BackfillReport
from newsletter.check import CheckReport, check_issue
from newsletter.clock import Clock, SystemClock
from newsletter.config import Config, load_config
from newsletter.digest import Digest
from newsletter.feedback import PullReport, pull_suppressions
from newsletter.report import Report
from newsletter.store import AddOutcome, Status, StatusChange, Subscriber, SubscriberDetails


def _path(value: Path | str) -> Path:
    return value if isinstance(value, Path) else Path(value)


def _ignore(event: object) -> None:
    """No progress callback given."""


class Newsletter:
    """The newsletter of one configuration: validate, render, preview, send, dispatch,
    report, and manage subscribers and the store.

    `Newsletter.from_config()` finds config.yaml as the CLI does; `Newsletter(config)`
    takes a loaded Config. `clock` (default: the system's) is where "now" is read for
    scheduling (`at`), cancelling and dispatch's "today"."""

    def __init__(self, config: Config, *, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock or SystemClock()

    @classmethod
    def from_config(
        cls, path: Path | str | None = None, *, clock: Clock | None = None
    ) -> Newsletter:
        """Load `path`, else $NEWSLETTER_CONFIG, else ./config.yaml, else the embedded
        defaults (newsletter.config.load_config). ConfigError (4) if it is not valid."""
        return cls(load_config(None if path is None else _path(path)), clock=clock)

    # ------------------------------------------------------------------ digests

    def new_digest(self, date: dt.date | str | None = None) -> NewDigest:
        """Write the skeleton of the next issue into the digests folder, dated `date`
        (a date or "YYYY-MM-DD"), else the newest digest's date plus 7 days, and refresh
        digests/schema.json beside it. The skeleton does not validate until an editor
        fills it in. InputError (3) when that file exists (never overwritten), for a bad
        date, or with no date and no digest to count from."""
        return digests.new_digest(self.config, date)

    def validate(self, path: Path | str) -> Digest:
        """The digest; DigestFileError / DigestInvalidError (3, every problem listed)."""
        return digests.validate(_path(path))

    def render(
        self, path: Path | str, out: Path | str | None = None, *, write: bool = True
    ) -> RenderResult:
        """Render a digest; with `write`, write email.html/.txt/.mjml into `out` (default
        <build dir>/<file stem>/). Digest errors (3), RenderError (6)."""
        folder = None if out is None else _path(out)
        return digests.render(self.config, _path(path), folder, write=write)

    def check(self, path: Path | str, *, tools: bool = True) -> CheckReport:
        """The pre-send gate (docs/check.md): blocking findings and warnings, each with its
        JSON path and a fix; `tools=False` skips SpamAssassin and axe-core. Digest errors
        (3), RenderError (6). The report's `exit_code` is 0, 10 (warnings) or 11 (blocking)."""
        return check_issue(self.config, _path(path), tools=tools)

    def prepare(self, path: Path | str, list_name: str) -> PreparedIssue:
        """Validate, render and check a digest for a list, sending nothing: what `send`
        does first. UnknownListError, digest errors (3), RenderError (6), ConfigError (4)."""
        return sending.prepare(self.config, _path(path), sending.check_list(self.config, list_name))

    def import_text(
        self,
        path: Path | str,
        out: Path | str | None = None,
        *,
        issue_date: dt.date | None = None,
        overwrite: bool = False,
    ) -> TextImport:
        """Turn a published digest's text (UTF-8 plain text, or an HTML page or fragment)
        into a valid digest file at `out` (default <build dir>/imported/<date>.json) and
        its review notes beside it (<name>.review.txt). `issue_date` is used when the
        text has no date line. ImportTextError (13): unreadable text, no date, no item,
        too large, or `out` exists without `overwrite` (docs/import.md)."""
        target = None if out is None else _path(out)
        return importing.import_text_file(
            self.config, _path(path), target, issue_date=issue_date, overwrite=overwrite
        )

    # ------------------------------------------------------------------ sending

    def preview(
        self,
        path: Path | str,
        to: Iterable[str] = (),
        eml: Path | str | None = None,
        transport: str | None = None,
    ) -> PreviewReport:
        """Send the [PREVIEW] message to `to` (else delivery.preview_recipients, else the
        `editors` list); nothing is recorded as a delivery. See PreviewReport.error().
        A single address may be given as a plain string."""
        folder = None if eml is None else _path(eml)
        # A str is an Iterable[str] of its characters: taken as one address, not as many.
        addresses = (to,) if isinstance(to, str) else tuple(to)
        return preview.preview(
            self.config, _path(path), addresses, folder, transport, clock=self.clock
        )

    def send(
        self,
        path: Path | str | PreparedIssue,
        list_name: str,
        transport: str | None = None,
        at: str | None = None,
        dry_run: bool = False,
        force: bool = False,
        progress: ProgressCallback | None = None,
        reason: str | None = None,
        by: str | None = None,
    ) -> SendResult:
        """Send a digest (or an issue from `prepare`) to every active member of a list,
        once, resumably. `at`: "YYYY-MM-DD HH:MM ZONE" (SendGrid, ≤ 72 h ahead).
        `dry_run` sends nothing. The pre-send check runs first: blocking findings raise
        CheckBlockedError (11) unless `force` comes with a one-line `reason`, recorded on
        the send with `by` (default $USER, else the login name) and the time; `force`
        alone goes on with a digest changed after a partial send. Raises
        UnknownListError/InputError (3), ConfigError (4), LockedError (5), RenderError
        (6), StoreError (7), AuthenticationError (8), CheckBlockedError (11)."""
        issue = path if isinstance(path, PreparedIssue) else _path(path)
        return sending.send(
            self.config,
            self.clock,
            issue,
            list_name,
            transport=transport,
            at=at,
            dry=dry_run,
            force=force,
            reason=reason,
            by=by,
            progress=progress or _ignore,
        )

    def dispatch(
        self,
        today: dt.date | None = None,
        list_name: str | None = None,
        transport: str | None = None,
        at: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> DispatchReport:
        """The weekly cron entry: the due digest (newest dated on or before `today`,
        default the local date) to each weekly list (or `list_name`), once, and only
        while its content and rendered message match its latest approval (unless
        approval.required_for_dispatch is off): otherwise that list's entry is
        NOT_APPROVED and nothing is sent (DispatchReport.not_approved; the CLI exits 12).
        ConfigError (4) when no list is weekly; the errors of `send`."""
        return sending.dispatch(
            self.config,
            self.clock,
            today=today,
            list_name=list_name,
            transport=transport,
            at=at,
            progress=progress or _ignore,
        )

    # ------------------------------------------------------------------ approval

    def approve(self, path: Path | str, by: str | None = None) -> ApprovalRecorded:
        """Run the pre-send check and record that `by` (default $USER, else the OS login
        name) approves this exact version: the digest's content hash and the rendered
        message's hash, dated by the store's clock. CheckBlockedError (11) on blocking
        findings; digest errors (3), RenderError (6), StoreError (7), InputError (3)
        for an unusable name. Approving again the same version by the same person adds
        nothing (`already`)."""
        return approval.approve(self.config, self.clock, _path(path), by)

    def approvals(self, path: Path | str | None = None) -> tuple[ApprovalStatus, ...]:
        """Every approval recorded (or those of the issue in `path`), each marked
        current or stale against the digest file now (`path`, else the file approved),
        and whether it is the issue's latest. Digest errors (3) for `path`."""
        return approval.approvals(self.config, self.clock, None if path is None else _path(path))

    def status(self, issue: str | Path | None = None) -> list[SendStatus]:
        """Every send recorded, or those of `issue` (a digest path or YYYY-MM-DD);
        InputError (3) when a named issue has none."""
        return sending.status(self.config, None if issue is None else str(issue), clock=self.clock)

    def retry(
        self,
        path: Path | str,
        list_name: str,
        ambiguous: bool = False,
        transport: str | None = None,
        progress: ProgressCallback | None = None,
        *,
        now: bool = False,
    ) -> SendResult:
        """Resend to the failed (and, with `ambiguous`, those still in doubt) recipients of
        a send started earlier; InputError (3) if it never was; EvidencePendingError (3)
        with `ambiguous` less than an hour after a SendGrid batch in doubt went out (its
        events may still settle it), unless `now`."""
        return sending.retry(
            self.config,
            self.clock,
            _path(path),
            list_name,
            ambiguous=ambiguous,
            transport=transport,
            now=now,
            progress=progress or _ignore,
        )

    def report(self, issue: str | Path | None = None, list_name: str | None = None) -> Report:
        """How an issue did (docs/report.md): with `issue` (a digest path or YYYY-MM-DD)
        its full `IssueReport` (ledger, SendGrid's events, rates over delivered, clicks
        per item, anomalies) in `Report.issue`; always one `IssueSummary` per sent issue,
        newest first, in `Report.history`. `list_name` narrows both to one list (default:
        every list summed). InputError (3) when the issue has no send (to that list),
        UnknownListError (3), StoreError (7). Reads only."""
        return reporting.report(
            self.config, self.clock, None if issue is None else str(issue), list_name
        )

    def report_page(
        self,
        issue: str | Path | None = None,
        list_name: str | None = None,
        out: Path | str | None = None,
    ) -> ReportPage:
        """The report of `issue` (default: the newest sent) as one self-contained HTML
        page (inline SVG charts: the delivery funnel, clicks per item, the last 12
        issues' rates; no request leaves it), written atomically to `out` when given.
        The errors of `report`; InputError (3) when nothing was sent or `out` cannot be
        written; RenderError (6)."""
        return reporting.page(
            self.config,
            self.clock,
            None if issue is None else str(issue),
            list_name,
            None if out is None else _path(out),
        )

    def cancel(self, path: Path | str, list_name: str) -> CancelResult:
        """Cancel a scheduled send (SendGrid, `at`) that has not gone out; InputError (3)."""
        return sending.cancel(self.config, self.clock, _path(path), list_name)

    def workbench(
        self,
        path: Path | str,
        to: Iterable[str] = (),
        eml: Path | str | None = None,
        transport: str | None = None,
    ) -> Workbench:
        """The editors' workbench over a digest file (what `preview --web` serves): its
        latest rendering, re-rendered when the file or a template changes, the check's
        findings, and a button's worth of `preview(path, to, eml, transport)`.
        Serve it with newsletter.web.server.serve_workbench. Nothing is raised for a
        digest that does not validate: the workbench shows its errors."""
        digest = _path(path)
        recipients = tuple(to)
        return Workbench(
            self.config,
            digest,
            lambda: self.preview(digest, recipients, eml, transport),
        )

    def screenshot(
        self, path: Path | str, out: Path | str, *, offline: bool = False
    ) -> ScreenshotResult:
        """PNGs of the email at 375 and 600 px, light and dark, full height, into `out`
        (`email-375-light.png` …) through headless Chromium; `offline` refuses remote
        images. Digest errors (3), RenderError (6), ConfigError (4) without Chromium."""
        return screenshots.screenshot(self.config, _path(path), _path(out), offline=offline)

    # ------------------------------------------------------------------ subscribers

    def import_csv(
        self, path: Path | str, list_name: str, on_created: CreatedCallback | None = None
    ) -> ImportResult:
        """Add and update a list from a CSV file (one transaction; creates the store)."""
        return subscribers.import_csv(
            self.config, _path(path), list_name, on_created, clock=self.clock
        )

    def sync(
        self,
        list_name: str | None = None,
        dry_run: bool = False,
        on_created: CreatedCallback | None = None,
    ) -> SyncResult:
        """Make each list match its CSV file (one transaction; creates the store)."""
        return subscribers.sync(
            self.config, list_name, dry_run=dry_run, on_created=on_created, clock=self.clock
        )

    def add(
        self,
        email: str,
        list_name: str,
        name: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> AddOutcome:
        """Add one address to a list (refused if it is suppressed)."""
        return subscribers.add(
            self.config, email, list_name, name=name, attributes=attributes, clock=self.clock
        )

    def remove(self, email: str, list_name: str) -> None:
        """Take one address off a list."""
        subscribers.remove(self.config, email, list_name, clock=self.clock)

    def unsubscribe(self, email: str, reason: str | None = None) -> StatusChange:
        """Stop all mail to an address, on every list."""
        return subscribers.unsubscribe(self.config, email, reason, clock=self.clock)

    def resubscribe(self, email: str, reason: str | None = None) -> StatusChange:
        """Lift an unsubscribe, bounce or complaint."""
        return subscribers.resubscribe(self.config, email, reason, clock=self.clock)

    def show(self, email: str) -> SubscriberDetails:
        """One address: status, lists, attributes, history."""
        return subscribers.show(self.config, email, clock=self.clock)

    def members(self, list_name: str, status: Status | None = None) -> Iterator[Subscriber]:
        """A list's members (with `status`, only those)."""
        return subscribers.members(self.config, list_name, status, clock=self.clock)

    def export(self, list_name: str, out: TextIO, status: Status | None = Status.SUBSCRIBED) -> int:
        """A list's members as CSV into `out` (status None: all); how many were written."""
        return subscribers.export(self.config, list_name, out, status, clock=self.clock)

    def counts(self) -> Counts:
        """Members of every list by status, and every subscriber by status."""
        return subscribers.counts(self.config, clock=self.clock)

    def token(self, email: str) -> str:
        """The signed unsubscribe token of an address (needs NEWSLETTER_SECRET)."""
        return subscribers.token(self.config, email, clock=self.clock)

    # ------------------------------------------------------------------ readers' sign-up

    def signup_form(self) -> str:
        """The embeddable sign-up form for the publication's site (plain HTML, no script)."""
        return readers.signup_form(self.config)

    def purge_pending(self) -> PendingPurged:
        """Delete sign-ups unconfirmed for signup.purge_pending_after_days (cron-safe)."""
        return readers.purge_pending(self.config, clock=self.clock)

    # ------------------------------------------------------------------ readers' data

    def export_person(self, email: str) -> PersonData:
        """Everything stored about one address (GDPR art. 15, right of access): its row,
        lists, status history, deliveries and any pending change of address, as
        JSON-ready `data`. SubscriberNotFoundError (3) when nothing is stored."""
        return readers.export_person(self.config, email, clock=self.clock)

    def forget(self, email: str) -> Forgotten:
        """Erase an address (GDPR art. 17): address, name, attributes and history text go;
        only an HMAC of the address under NEWSLETTER_SECRET is kept, as a suppression that
        later imports and sign-ups of it meet. Logged by subscriber id only. ConfigError
        (4) without NEWSLETTER_SECRET; SubscriberNotFoundError (3) for an unknown address
        (an address erased before is `already_erased`)."""
        return readers.forget(self.config, email, clock=self.clock)

    # ------------------------------------------------------------------ store, archive, SendGrid

    def init_store(self) -> StoreInit:
        """Create an empty store where the config points (an existing one is migrated)."""
        return subscribers.init_store(self.config, clock=self.clock)

    def upgrade_store(self) -> StoreUpgrade:
        """Migrate the store to the newest schema; recover old issues for the archive."""
        return subscribers.upgrade_store(self.config, clock=self.clock)

    def store_status(self) -> StoreState:
        """The store's URL (password hidden) and schema revisions."""
        return subscribers.store_status(self.config, clock=self.clock)

    def write_archive(self, out: Path | str, base_url: str | None = None) -> ArchiveWritten:
        """The web archive and its Atom feed as static files under `out`."""
        return archive.write_archive(self.config, _path(out), base_url, clock=self.clock)

    def backfill(self, paths: Iterable[Path | str] = ()) -> BackfillReport:
        """Recover issues sent before the store kept them, from matching digest files."""
        return archive.backfill(self.config, [_path(p) for p in paths], clock=self.clock)

    def pull_suppressions(self) -> PullReport:
        """Record SendGrid's bounces, spam reports and unsubscribes (never resubscribes)."""
        return pull_suppressions(self.config, clock=self.clock)
