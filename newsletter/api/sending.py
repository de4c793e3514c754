"""The sending workflow: what is sent, to whom, when; everything `send`, `dispatch`,
`retry`, `cancel` and `status` decide. Nothing here prints; see newsletter.api.results.

Each function takes the loaded Config and a Clock; newsletter.api.Newsletter is the
façade that holds both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from newsletter.api import approval
from newsletter.api.results import (
    CancelResult,
    DispatchEntry,
    DispatchOutcome,
    DispatchReport,
    DryRun,
    FailedDelivery,
    PreparedIssue,
    ProgressCallback,
    ProgressEvent,
    SendOutcome,
    SendResult,
    SendStatus,
    SendUpdate,
)
from newsletter.clock import Clock
from newsletter.config import Config
from newsletter.digest import load_digest
from newsletter.dispatch.due import due_digest
from newsletter.dispatch.engine import Dispatcher, Progress, SendReport, SendRequest, SendSettings
from newsletter.dispatch.ports import RecipientOf
from newsletter.dispatch.schedule import parse_at
from newsletter.errors import ConfigError, EvidencePendingError, InputError, UnknownListError
from newsletter.feedback import PullSkipped, pull_before_dispatch
from newsletter.message import Recipient, build_issue_message
from newsletter.message.links import BatchLinks, PreferenceLinks, UnsubscribeLinks, public_base
from newsletter.render import issue_id, render_issue
from newsletter.secrets import Secret, signing_secret
from newsletter.states import DeliveryState, SendState
from newsletter.store import Claimed, ForcedSend, SendRecord, Store
from newsletter.transports import Pacer, Transport, open_transport, scheduler_of
from newsletter.wording import plural


def _ignore(event: ProgressEvent) -> None:
    """The progress callback when the caller gives none."""


def check_list(config: Config, name: str) -> str:
    """`name` if config.yaml declares that list; UnknownListError (exit 3) otherwise."""
    if name not in config.lists:
        known = ", ".join(sorted(config.lists)) or "none"
        raise UnknownListError(f"list {name!r} is not declared in config.yaml (lists: {known})")
    return name


def prepare(config: Config, path: Path, list_name: str) -> PreparedIssue:
    """Validate, render once and check the message: everything before any sending.
    Raises DigestFileError/DigestInvalidError (3), RenderError (6), ConfigError (4: no
    public_base_url for the unsubscribe links). `list_name` is not checked here."""
    digest = load_digest(path)
    rendered = render_issue(digest, config)
    public_base(config)  # unsubscribe links need it: fail before anything is sent
    message = build_issue_message(rendered, config, list_name)
    warnings = tuple(f"{path}: {text}" for text in rendered.warnings)
    return PreparedIssue(path=path, list_name=list_name, message=message, warnings=warnings)


def recipient_builder(config: Config, secret: Secret) -> RecipientOf:
    """The dispatcher's per-reader recipient, with its signed one-click unsubscribe URL
    and its preference page's URL. ConfigError if publication.public_base_url cannot
    carry the links (checked once)."""
    return linked_recipients(UnsubscribeLinks(config, secret), PreferenceLinks(config, secret))


def linked_recipients(
    links: Callable[[int], str], preferences: Callable[[int], str] | None = None
) -> LinkedRecipients:
    """Recipients whose unsubscribe URL is `links(subscriber_id)` and whose preference
    page is `preferences(subscriber_id)` (without it, the footer links unsubscribe)."""
    return LinkedRecipients(links, preferences)


class LinkedRecipients:
    """Builds each claimed reader's Recipient with their signed links (RecipientOf), and
    a whole batch's links at once (BulkRecipientOf `urls`: the links' own `many` when
    they have one, e.g. UnsubscribeLinks)."""

    def __init__(
        self, links: Callable[[int], str], preferences: Callable[[int], str] | None = None
    ) -> None:
        self._links = links
        self._preferences = preferences

    def __call__(self, claimed: Claimed) -> Recipient:
        # Positional: a million calls per large send.
        subscriber_id = claimed.subscriber_id
        preferences = self._preferences
        return Recipient(
            claimed.email,
            self._links(subscriber_id),
            claimed.name,
            subscriber_id,
            preferences(subscriber_id) if preferences else "",
        )

    def urls(self, subscriber_ids: Sequence[int]) -> tuple[list[str], list[str]]:
        """(unsubscribe URLs, preference-page URLs or "") of `subscriber_ids`, in order:
        the columns of a batch's recipients, for `IssueMessage.personalise_batch`."""
        ids = list(subscriber_ids)
        unsubscribe = _many(self._links, ids)
        preferences = _many(self._preferences, ids) if self._preferences else [""] * len(ids)
        return unsubscribe, preferences


def _many(links: Callable[[int], str], ids: list[int]) -> list[str]:
    """links(id) for each id, through the links' batch form when they have one."""
    return links.many(ids) if isinstance(links, BatchLinks) else [links(i) for i in ids]


@contextmanager
def configured_transport(config: Config, name: str | None) -> Iterator[Transport]:
    """The transport `name` (default: delivery.transport), paced and closed after use."""
    transport = open_transport(config, name, pacer=Pacer(config.delivery.rate_per_second))
    try:
        yield transport
    finally:
        transport.close()


def _settings(config: Config, transport: Transport) -> SendSettings:
    delivery = config.delivery
    return SendSettings(
        concurrency=delivery.concurrency,
        batch_size=transport.max_batch,
        pause_after=delivery.pause_after,
    )


# --------------------------------------------------------------------------- attention


def attention(
    record: SendRecord, counts: dict[str, int], batches: int, digest: str | None = None
) -> tuple[str, ...]:
    """What needs doing about a send, with the commands to do it. `digest` is the file
    the user named; without one, the file in digests/ named by the issue's date is
    suggested. The last line may be the send's note, which can quote a provider's answer:
    plain text, to be made inert by whoever shows it."""
    digest = digest or f"digests/{record.issue_id}.json"
    failed, ambiguous = counts.get(DeliveryState.FAILED, 0), counts.get(DeliveryState.AMBIGUOUS, 0)
    pending, sending = counts.get(DeliveryState.PENDING, 0), counts.get(DeliveryState.SENDING, 0)
    lines = []
    if failed:
        lines.append(
            f"{failed:,} failed: see `newsletter status {record.issue_id}`; after fixing, "
            f"`newsletter retry {digest} --list {record.list_name}`"
        )
    if ambiguous:
        retry = f"`newsletter retry {digest} --list {record.list_name} --ambiguous`"
        where = plural(batches, "batch", "batches")
        if record.transport == "outbox":  # the outbox knows who has a file: no guessing
            lines.append(
                f"{ambiguous:,} ambiguous in {where} (their batch was interrupted): "
                f"{retry} writes only those who have no message in the outbox yet"
            )
        elif record.transport == "sendgrid":  # its own events settle what it took
            lines.append(
                f"{ambiguous:,} ambiguous in {where}: SendGrid's processed/delivered events "
                f"(webhook) settle those it took as they arrive; an hour after the send, "
                f"{retry} resends those still in doubt"
            )
        else:
            lines.append(
                f"{ambiguous:,} ambiguous in {where}: the provider may or may not have "
                f"them; check its activity feed, then {retry} to resend"
            )
    if pending and record.state != SendState.CANCELLED:
        lines.append(f"{pending:,} not sent yet: run the same command again to resume")
    if sending:
        lines.append(
            f"{sending:,} being sent: if no run is sending now, the last one was "
            "stopped (killed or crashed); run the same command again to resume (those "
            "readers then count as ambiguous)"
        )
    if record.note and record.state != SendState.FINISHED:
        lines.append(record.note)
    return tuple(lines)


# --------------------------------------------------------------------------- sending


def _prepared(
    config: Config, path: Path | PreparedIssue, list_name: str, progress: ProgressCallback
) -> PreparedIssue:
    if isinstance(path, PreparedIssue):
        return path
    prepared = prepare(config, Path(path), check_list(config, list_name))
    progress(prepared)
    return prepared


def send_issue(
    config: Config,
    clock: Clock,
    issue: PreparedIssue,
    transport_name: str | None,
    *,
    force: bool = False,
    forced: ForcedSend | None = None,
    at: str | None = None,
    retry_states: tuple[str, ...] = (),
    progress: ProgressCallback = _ignore,
) -> SendResult:
    """Send (or resume) one prepared issue to its list. NOTHING_TO_SEND, with a warning,
    when the list has no active subscriber and no send of the issue was started: nothing
    is recorded, so the issue still goes out once the list has members. `forced` (a send
    past the pre-send check) is recorded on the send as it opens."""
    list_name = issue.list_name
    secret = signing_secret()
    chosen = transport_name or config.delivery.transport
    # The store records the send at the API's clock: one source of time for the run.
    with (
        Store.from_config(config, clock=clock) as store,
        configured_transport(config, chosen) as transport,
    ):
        send_at, batch_id = _schedule(store, transport, issue, at, clock)
        if store.sends.find_send(
            issue.issue_id, list_name
        ) is None and not store.subscribers.has_active_members(list_name):
            warning = (
                f"{list_name} has no active subscribers: {issue.issue_id} was not sent and "
                "nothing was recorded (is the right store configured? `newsletter subscribers "
                "count` shows every list)"
            )
            return _result(issue, SendOutcome.NOTHING_TO_SEND, warnings=(warning,))

        def on_progress(running: Progress) -> None:
            # A copy: the dispatcher goes on counting in `running`, and a caller that keeps
            # or streams the update (the web) must see the totals of this moment.
            progress(SendUpdate(issue.issue_id, list_name, replace(running)))

        dispatcher = Dispatcher(
            store.sends,
            store.issues,
            transport,
            recipient_builder(config, secret),
            _settings(config, transport),
            on_progress,
        )
        report = dispatcher.send(
            SendRequest(
                issue=issue.message,
                list_name=list_name,
                transport_name=chosen,
                force=force,
                retry_states=retry_states,
                send_at=send_at,
                batch_id=batch_id,
                forced=forced,
            )
        )
    return _sent(issue, report)


def _result(
    issue: PreparedIssue,
    outcome: SendOutcome,
    *,
    report: SendReport | None = None,
    dry: DryRun | None = None,
    warnings: tuple[str, ...] = (),
    lines: tuple[str, ...] = (),
) -> SendResult:
    return SendResult(
        outcome=outcome,
        path=issue.path,
        issue_id=issue.issue_id,
        list_name=issue.list_name,
        report=report,
        dry_run=dry,
        render_warnings=issue.warnings,
        warnings=warnings,
        attention=lines,
    )


def _sent(issue: PreparedIssue, report: SendReport) -> SendResult:
    record = report.send
    lines = attention(record, report.counts, report.ambiguous_batches, str(issue.path))
    return _result(issue, SendOutcome.SENT, report=report, lines=lines)


def _schedule(
    store: Store,
    transport: Transport,
    issue: PreparedIssue,
    at: str | None,
    clock: Clock,
) -> tuple[dt.datetime | None, str | None]:
    if at is None:
        return None, None
    able = scheduler_of(transport)  # UnsupportedFeatureError (3) if it cannot schedule
    send_at = parse_at(at, clock.now())
    existing = store.sends.find_send(issue.issue_id, issue.list_name)
    batch_id = existing.batch_id if existing and existing.batch_id else str(able.create_batch())
    return send_at, batch_id


def dry_run(
    config: Config,
    issue: PreparedIssue,
    transport_name: str | None,
    *,
    clock: Clock | None = None,
) -> SendResult:
    """What a send would do; a warning where the send itself would warn (a list with
    nobody to send to and no send of the issue started)."""
    list_name = issue.list_name
    with Store.from_config(config, clock=clock) as store:
        now = store.clock.now()  # readers on a pause are left out, as the send would
        audience = sum(
            not reader.paused_at(now)
            for batch in store.subscribers.iter_active_members(list_name)
            for reader in batch
        )
        existing = store.sends.find_send(issue.issue_id, list_name)
    summary = DryRun(
        subject=issue.message.subject,
        issue_id=issue.issue_id,
        list_name=list_name,
        transport=transport_name or config.delivery.transport,
        audience=audience,
        existing_state=existing.state if existing else None,
    )
    warnings: tuple[str, ...] = ()
    if existing is None and not audience:
        warnings = (
            f"{list_name} has no active subscribers: a send would send nothing and record "
            "nothing (is the right store configured? `newsletter subscribers count` shows "
            "every list)",
        )
    return _result(issue, SendOutcome.DRY_RUN, dry=summary, warnings=warnings)


def send(
    config: Config,
    clock: Clock,
    path: Path | PreparedIssue,
    list_name: str,
    *,
    transport: str | None = None,
    at: str | None = None,
    dry: bool = False,
    force: bool = False,
    reason: str | None = None,
    by: str | None = None,
    progress: ProgressCallback = _ignore,
) -> SendResult:
    """A send by hand: the pre-send check first; blocking findings refuse it
    (CheckBlockedError, 11) unless `force` comes with a `reason`, which is then recorded
    on the send with who (`by`, default the login name) and when. `force` alone keeps its
    meaning: go on with a digest changed after a partial send."""
    forced = approval.forced_send(force, reason, by)
    issue = _prepared(config, path, list_name, progress)
    if forced is None:
        approval.refuse_blocked(
            issue.path,
            # Without the slow tools (SpamAssassin, axe-core): `approve` runs them, and
            # `dispatch` sends only what was approved.
            approval.finding_lines(approval.gate(config, issue.path, tools=False).blocking),
            doing="nothing sent",
            hint=f"fix them (`newsletter check {issue.path}`), or send anyway with "
            '--force --reason "why it must go out as it is" (recorded, shown by `status`)',
        )
    if dry:
        return dry_run(config, issue, transport, clock=clock)
    return send_issue(
        config, clock, issue, transport, force=force, forced=forced, at=at, progress=progress
    )


def retry(
    config: Config,
    clock: Clock,
    path: Path,
    list_name: str,
    *,
    ambiguous: bool = False,
    transport: str | None = None,
    now: bool = False,
    progress: ProgressCallback = _ignore,
) -> SendResult:
    """Resend to the failed (with `ambiguous`, also the unknown) recipients of a send that
    was started; InputError (3) if the issue was never sent to the list.

    Deliveries SendGrid's processed/delivered events proved sent are accepted already
    (newsletter.store.events): `ambiguous` resends only those still in doubt. Within
    EVIDENCE_WAIT of a SendGrid batch in doubt, its events may still be arriving:
    EvidencePendingError (3) unless `now`."""
    with Store.from_config(config, clock=clock) as store:
        record = store.sends.find_send(issue_id(load_digest(path)), list_name)
        if record is None:
            raise InputError(f"{path} was never sent to {list_name}; nothing to retry")
        if ambiguous and not now:
            _refuse_early_resend(store, record, clock)
    states = (
        (DeliveryState.FAILED, DeliveryState.AMBIGUOUS) if ambiguous else (DeliveryState.FAILED,)
    )
    issue = _prepared(config, path, list_name, progress)
    return send_issue(config, clock, issue, transport, retry_states=states, progress=progress)


EVIDENCE_WAIT = dt.timedelta(hours=1)  # SendGrid posts processed within seconds, delivered
# within minutes, and retries a failed webhook post; an hour covers all but outages.


def _refuse_early_resend(store: Store, record: SendRecord, clock: Clock) -> None:
    if record.transport != "sendgrid":  # only SendGrid reports events that settle doubt
        return
    last = store.sends.last_in_doubt_at(record.id)
    if last is None or clock.now() - last >= EVIDENCE_WAIT:
        return
    counts = store.sends.send_counts(record.id)
    doubt = counts.get(DeliveryState.AMBIGUOUS, 0) + counts.get(DeliveryState.SENDING, 0)
    minutes = max(int((clock.now() - last).total_seconds() // 60), 0)
    raise EvidencePendingError(
        f"{record.issue_id} → {record.list_name}: {plural(doubt, 'delivery', 'deliveries')} "
        f"in doubt went out {minutes} min ago; SendGrid's events for them may still be "
        "arriving and would settle them without resending",
        hint="wait an hour after the send (the webhook settles those SendGrid processed), "
        "or resend those still in doubt now with --now",
    )


# --------------------------------------------------------------------------- dispatch


def dispatch(
    config: Config,
    clock: Clock,
    *,
    today: dt.date | None = None,
    list_name: str | None = None,
    transport: str | None = None,
    at: str | None = None,
    progress: ProgressCallback = _ignore,
) -> DispatchReport:
    """The weekly cron entry: send the due digest to each weekly list (or `list_name`),
    once, and only while its latest approval covers it exactly (approval.not_approved;
    unless approval.required_for_dispatch is off): otherwise the list's entry is
    NOT_APPROVED and nothing is sent. With SendGrid, its suppressions are pulled first.
    Each list's entry is also given to `progress` as soon as that list is done."""
    lists = [check_list(config, list_name)] if list_name else config.weekly_lists
    if not lists:
        raise ConfigError("no list has `weekly: true` in config.yaml; nothing to dispatch")
    # The local calendar date, as `date.today()` gives it: digests are dated by the editors.
    day = today or clock.now().astimezone().date()
    pulled = pull_before_dispatch(config, transport, clock=clock)
    if not isinstance(pulled, PullSkipped):
        progress(pulled)
    entries = []
    for name in lists:
        entry = _dispatch_one(config, clock, name, day, transport, at, progress)
        progress(entry)
        entries.append(entry)
    return DispatchReport(pull=pulled, entries=tuple(entries))


def _dispatch_one(
    config: Config,
    clock: Clock,
    list_name: str,
    today: dt.date,
    transport: str | None,
    at: str | None,
    progress: ProgressCallback,
) -> DispatchEntry:
    path = due_digest(config.digests_dir, today)
    if path is None:
        return DispatchEntry(list_name, DispatchOutcome.NO_DIGEST, today)
    issue = issue_id(load_digest(path))  # the digest's own date, not its file name
    with Store.from_config(config, clock=clock) as store:
        existing = store.sends.find_send(issue, list_name)
        if existing and existing.state == SendState.FINISHED:
            counts = store.sends.send_counts(existing.id)
            batches = store.sends.ambiguous_batches(existing.id, counts)
    if existing and existing.state == SendState.FINISHED:
        # Readers still failed or in doubt are said again, every run, until someone acts.
        left = attention(existing, counts, batches, str(path))
        return DispatchEntry(
            list_name, DispatchOutcome.ALREADY_SENT, today, path, issue, attention=left
        )
    if existing and existing.state == SendState.CANCELLED:
        # An editor cancelled it on purpose: the cron job must not send it behind their back.
        return DispatchEntry(list_name, DispatchOutcome.CANCELLED, today, path, issue)
    prepared = _prepared(config, path, list_name, progress)
    if config.approval.required_for_dispatch:
        with Store.from_config(config, clock=clock) as store:
            latest, why = approval.not_approved(store, prepared)
        if why:  # the cron job sends only what a person approved, exactly as approved
            return DispatchEntry(
                list_name,
                DispatchOutcome.NOT_APPROVED,
                today,
                path,
                issue,
                attention=why,
                approval=latest,
            )
    result = send_issue(config, clock, prepared, transport, at=at, progress=progress)
    return DispatchEntry(list_name, DispatchOutcome.SENT, today, path, issue, result=result)


# --------------------------------------------------------------------------- cancel, status


def cancel(config: Config, clock: Clock, path: Path, list_name: str) -> CancelResult:
    """Cancel a scheduled send (SendGrid, `at`) that has not gone out yet. InputError (3)
    when there is none, when it already went out, or when its transport cannot cancel."""
    issue = issue_id(load_digest(path))
    with Store.from_config(config, clock=clock) as store:
        record = store.sends.find_send(issue, check_list(config, list_name))
        if record is None or record.batch_id is None or record.send_at is None:
            raise InputError(f"{issue} has no scheduled send to {list_name} to cancel")
        if record.send_at <= clock.now():
            raise InputError(
                f"{issue} → {list_name} went out at {record.send_at:%Y-%m-%d %H:%M} UTC; "
                "too late to cancel"
            )
        with configured_transport(config, record.transport) as transport:
            scheduler_of(transport, "cancel").cancel_scheduled(record.batch_id)
        requeued = store.sends.cancel_send(record.id)
    return CancelResult(issue_id=issue, list_name=list_name, requeued=requeued)


def issue_named(argument: str) -> str:
    """The issue a command-line argument names: a digest file is loaded and its date
    read, like every other command does; otherwise the argument must be a date.
    InputError (3) if it is neither."""
    path = Path(argument)
    if argument.endswith(".json") or path.is_file():
        return issue_id(load_digest(path))
    try:
        return dt.date.fromisoformat(argument).isoformat()
    except ValueError:
        raise InputError(
            f"{argument!r} is neither a digest file nor an issue date (YYYY-MM-DD)"
        ) from None


def status(
    config: Config, issue: str | None = None, *, clock: Clock | None = None
) -> list[SendStatus]:
    """Every send recorded (or those of `issue`: a digest path or YYYY-MM-DD), oldest
    first, with counts, attention lines and the first failed deliveries. InputError (3)
    when a named issue has no send recorded; an empty list when the store has none."""
    wanted = issue_named(issue) if issue else None
    digest_file = issue if issue and issue != wanted else None
    with Store.from_config(config, clock=clock) as store:
        records = store.sends.sends(wanted)
        if not records and wanted:
            raise InputError(
                f"no sends recorded for issue {wanted}",
                hint="`newsletter status` lists every send recorded",
            )
        found = []
        for record in records:
            counts = store.sends.send_counts(record.id)
            batches = store.sends.ambiguous_batches(record.id, counts)
            failed = (
                store.sends.deliveries_in(record.id, DeliveryState.FAILED, limit=5)
                if counts.get(DeliveryState.FAILED)
                else []
            )
            found.append(
                SendStatus(
                    send=record,
                    counts=counts,
                    already_sent_via=store.sends.send_overlaps(record.id),
                    attention=attention(record, counts, batches, digest_file),
                    failed=tuple(FailedDelivery(email, error) for email, error in failed),
                    resolved_by_evidence=store.sends.resolved_by_evidence(record.id),
                )
            )
    return found
