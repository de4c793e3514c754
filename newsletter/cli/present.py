"""Showing the API's results on the terminal: the words, streams and order of each
command's output. Outside text is made inert here (newsletter.cli.terminal)."""

from __future__ import annotations

import time
from types import TracebackType

import click

from newsletter.api import (
    ApprovalRecorded,
    ApprovalStatus,
    DispatchEntry,
    DispatchOutcome,
    PreparedIssue,
    PreviewReport,
    ProgressEvent,
    ScreenshotResult,
    SendResult,
    SendStatus,
    SendUpdate,
    TextImport,
)
from newsletter.archive_backfill import BackfillReport
from newsletter.check import CheckReport
from newsletter.cli.app import warn
from newsletter.cli.progress import Reporter
from newsletter.cli.terminal import inert
from newsletter.dispatch.engine import SendReport
from newsletter.feedback import Pulled, PullFailed, PullOutcome, PullReport, PullSkipped
from newsletter.states import DeliveryState
from newsletter.wording import plural


def were(count: int) -> str:
    return "was" if count == 1 else "were"


def counts_line(
    counts: dict[str, int], removed: int, via: dict[str, int], on_pause: int = 0
) -> str:
    order = (
        DeliveryState.ACCEPTED,
        DeliveryState.FAILED,
        DeliveryState.AMBIGUOUS,
        DeliveryState.PENDING,
        DeliveryState.SENDING,
    )
    parts = [f"{state} {counts.get(state, 0):,}" for state in order if counts.get(state)]
    if removed:
        parts.append(f"removed {removed:,} (unsubscribed or bounced during the send)")
    if on_pause:
        parts.append(f"on a pause {on_pause:,} (readers who paused their mail: left out)")
    # Readers on two lists get the issue once: under the list whose send took them first.
    parts.extend(f"already sent via {name} {count:,}" for name, count in via.items())
    return " · ".join(parts) or "no recipients"


def attention_lines(lines: tuple[str, ...], *, err: bool = True) -> None:
    """Each line may quote a provider's answer (a send's note): made inert."""
    for line in lines:
        if err:
            click.secho(f"  attention: {inert(line)}", fg="yellow", err=True)
        else:
            click.echo(f"  attention: {inert(line)}")


def print_report(report: SendReport, attention: tuple[str, ...]) -> None:
    record = report.send
    head = f"{record.issue_id} → {record.list_name} ({record.transport}): "
    if report.already_finished:
        click.echo(head + "already sent; nothing to do")
    else:
        seconds = time.monotonic() - report.progress.started
        click.echo(
            head + f"{record.state} ({report.progress.sent:,} sent in {seconds:.1f} s, "
            f"{plural(report.progress.requests, 'request')} this run)"
        )
    if record.send_at:
        click.echo(f"  scheduled for {record.send_at:%Y-%m-%d %H:%M} UTC")
    via = report.already_sent_via
    click.echo(f"  {counts_line(report.counts, record.removed, via, record.paused_readers)}")
    if report.interrupted_now:
        warn(
            f"{plural(report.interrupted_now, 'recipient')} {were(report.interrupted_now)} in a "
            "batch an earlier run was sending when it stopped: marked ambiguous"
        )
    attention_lines(attention)


def print_send(result: SendResult) -> None:
    """A send's, a retry's or a dry run's result (its rendering warnings were shown as
    the PreparedIssue event came)."""
    dry = result.dry_run
    if dry is not None:
        click.echo(
            f"dry run: would send “{inert(dry.subject)}” ({dry.issue_id}) to "
            f"{plural(dry.audience, 'active member')} of {dry.list_name} via {dry.transport}"
        )
        if dry.existing_state:
            click.echo(
                f"  an earlier send of this issue to {dry.list_name} is {dry.existing_state}"
            )
    for message in result.warnings:
        warn(message)
    if result.report is not None:
        print_report(result.report, result.attention)


def print_pull(report: PullReport) -> None:
    for pulled in report.lists:
        click.echo(
            f"  {pulled.name}: {pulled.rows:,} at SendGrid, {pulled.report.suppressed:,} newly "
            f"suppressed, {pulled.report.already:,} already"
            + (
                f", {plural(pulled.report.invalid, 'not an address', 'not addresses')}"
                if pulled.report.invalid
                else ""
            )
        )


def print_backfill(report: BackfillReport) -> None:
    """Say which old issues were recovered for the archive and which could not be."""
    for kept in report.recovered:
        how = (
            "exactly as sent"
            if kept.exact
            else "re-rendered with today's templates: the words are as sent, the layout may differ"
        )
        click.echo(f"archive: recovered {kept.issue_id} from {kept.path} ({how})")
    if report.unrecovered:
        listed = "; ".join(f"{u.issue_id} ({u.reason})" for u in report.unrecovered)
        warn(
            f"archive: {len(report.unrecovered)} sent issue(s) could not be recovered and stay "
            f"out of the archive: {listed}"
        )
        warn(
            "give their digest files as they were sent: "
            "`newsletter archive backfill FILE_OR_FOLDER…` (on a host that has them)"
        )


def print_pulled_before_dispatch(outcome: PullOutcome) -> None:
    """The pull `dispatch` made first (newsletter.feedback.pull_before_dispatch)."""
    if isinstance(outcome, PullFailed):
        warn(outcome.warning)
        warn(outcome.hint)
    elif isinstance(outcome, Pulled):
        click.echo(
            f"SendGrid suppressions pulled: "
            f"{plural(outcome.report.suppressed, 'address', 'addresses')} newly suppressed"
        )


def print_dispatch_entry(entry: DispatchEntry) -> None:
    name, issue = entry.list_name, entry.issue_id
    if entry.outcome is DispatchOutcome.NO_DIGEST:
        click.echo(f"{name}: no digest dated on or before {entry.today}; nothing to do")
    elif entry.outcome is DispatchOutcome.ALREADY_SENT:
        click.echo(f"{name}: {issue} was already sent; nothing to do")
        attention_lines(entry.attention)
    elif entry.outcome is DispatchOutcome.NOT_APPROVED:
        click.echo(f"{name}: {issue} NOT SENT: it is not approved as it is now")
        attention_lines(entry.attention)
    elif entry.outcome is DispatchOutcome.CANCELLED:
        click.echo(
            f"{name}: {issue} was cancelled; not sending it "
            f"(`newsletter send {entry.path} --list {name}` sends it by hand)"
        )
    elif entry.result is not None:
        print_send(entry.result)


def print_status(found: SendStatus) -> None:
    record = found.send
    finished = f", finished {record.finished_at:%Y-%m-%d %H:%M} UTC" if record.finished_at else ""
    click.echo(
        f"{record.issue_id} → {record.list_name} ({record.transport}): {record.state}, "
        f"started {record.started_at:%Y-%m-%d %H:%M} UTC{finished}"
    )
    via = found.already_sent_via
    click.echo(f"  {counts_line(found.counts, record.removed, via, record.paused_readers)}")
    if record.force_reason is not None and record.forced_at is not None:
        click.echo(
            f"  forced past the pre-send check by {inert(record.forced_by or '?')} at "
            f"{record.forced_at:%Y-%m-%d %H:%M} UTC: {inert(record.force_reason)}"
        )
    attention_lines(found.attention, err=False)
    for failed in found.failed:
        click.echo(f"  failed: {inert(failed.email)}: {inert(failed.error)}")


SHORT = 12  # hex digits of a hash: enough to tell versions apart


def print_approval(recorded: ApprovalRecorded) -> None:
    for message in recorded.warnings:
        warn(message)
    approval = recorded.approval
    verb = "was already approved" if recorded.already else "approved"
    click.echo(
        f"{inert(str(recorded.path))}: {approval.issue_id} {verb} by "
        f"{inert(approval.approved_by)} at {approval.approved_at:%Y-%m-%d %H:%M} UTC "
        f"(content {approval.content_hash[:SHORT]}, message {approval.message_hash[:SHORT]}); "
        "`dispatch` sends it while it stays so"
    )


def print_approvals(found: tuple[ApprovalStatus, ...]) -> None:
    """One line per approval: issue, who, when, short hashes, current or stale now."""
    if not found:
        click.echo("no approvals recorded")
    for status in found:
        approval = status.approval
        state = f"{status.state}: {inert(status.detail)}" if status.detail else status.state
        click.echo(
            f"{approval.issue_id}  {inert(approval.approved_by)}  "
            f"{approval.approved_at:%Y-%m-%d %H:%M} UTC  content {approval.content_hash[:SHORT]}"
            f"  message {approval.message_hash[:SHORT]}  {state} vs {inert(str(status.file))}"
            + ("  (latest)" if status.latest else "")
        )


class Presenter:
    """The progress callback of send, retry and dispatch: rendering warnings as each
    digest is prepared, a progress bar (or log lines) per issue and list while it is
    sent, and, in dispatch, each list's outcome as soon as it is done."""

    def __init__(self) -> None:
        self._key: tuple[str, str] | None = None
        self._reporter: Reporter | None = None

    def __enter__(self) -> Presenter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """End the current progress bar (before a result is printed)."""
        if self._reporter is not None:
            self._reporter.__exit__(None, None, None)
        self._reporter, self._key = None, None

    def __call__(self, event: ProgressEvent) -> None:
        if isinstance(event, SendUpdate):
            self._progress(event)
            return
        self.stop()
        if isinstance(event, PreparedIssue):
            for message in event.warnings:
                warn(message)
        elif isinstance(event, Pulled | PullFailed | PullSkipped):
            print_pulled_before_dispatch(event)
        else:
            print_dispatch_entry(event)

    def _progress(self, update: SendUpdate) -> None:
        key = (update.issue_id, update.list_name)
        reporter = self._reporter
        if key != self._key or reporter is None:
            self.stop()
            reporter = Reporter(f"{update.issue_id} → {update.list_name}").__enter__()
            self._reporter, self._key = reporter, key
        reporter(update.progress)


def print_preview(report: PreviewReport) -> None:
    for message in report.warnings:
        warn(message)
    for target in report.eml_files:
        click.echo(f"wrote {target}")
    for result in report.results:
        detail = f": {inert(result.error)}" if result.error else ""
        click.echo(f"{inert(result.recipient.email)}: {result.outcome}{detail}")


def announce(url: str) -> None:
    """The workbench is listening."""
    click.echo(f"workbench: {url}  (updates as you save; Ctrl-C stops it)")


def print_screenshots(result: ScreenshotResult) -> None:
    for shot in result.files:
        click.echo(f"{shot.path}  {shot.width} px, {shot.scheme}, {shot.height} px high")


def print_import(result: TextImport) -> None:
    """The digest written on stdout; each note for review on stderr, then where they are."""
    digest = result.digest
    kind = "HTML" if result.html else "text"
    click.echo(
        f"{result.source} ({kind}) → {result.out}: {digest.date.isoformat()}, "
        f"{plural(len(digest.items), 'item')}"
    )
    for note in result.notes:
        click.secho(f"review: {inert(str(note))}", fg="yellow", err=True)
    count = plural(len(result.notes), "note") if result.notes else "nothing flagged"
    click.echo(f"review: {count} in {result.review}", err=True)


def print_check(report: CheckReport) -> None:
    """Each finding (severity, JSON path, what, fix), the skipped checks, then the count.
    Findings quote the digest: made inert."""
    for finding in report.findings:
        where = f"{finding.path}: " if finding.path else ""
        colour = "red" if finding.severity == "blocking" else "yellow"
        click.secho(f"{finding.severity}: {where}{inert(finding.message)}", fg=colour)
        click.echo(f"  fix: {inert(finding.fix)}  [{finding.rule}]")
    for note in report.skipped:
        click.echo(f"note: {inert(note)}")
    counts = ", ".join(
        (plural(len(report.blocking), "blocking finding"), plural(len(report.warnings), "warning"))
    )
    verdict = "not ready to send" if report.blocking else "ready to send"
    click.echo(f"{report.digest_path}: {counts}: {verdict}")
