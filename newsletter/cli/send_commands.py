"""Sending commands: preview, send, dispatch (the cron entry), status, retry, cancel."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from newsletter.cli.app import AppContext, cli, pass_app, report_errors, warn
from newsletter.cli.progress import Reporter
from newsletter.cli.terminal import inert
from newsletter.config import Config
from newsletter.digest import load_digest
from newsletter.dispatch.due import due_digest
from newsletter.dispatch.engine import Dispatcher, SendReport, SendRequest, SendSettings
from newsletter.dispatch.schedule import parse_at
from newsletter.errors import (
    EXIT_OK,
    EXIT_PARTIAL,
    ConfigError,
    InputError,
    NewsletterError,
    UnknownListError,
)
from newsletter.feedback import Pulled, PullFailed, PullOutcome, pull_before_dispatch
from newsletter.files import write_atomic
from newsletter.message import IssueMessage, Recipient, build_issue_message
from newsletter.message.links import public_base, unsubscribe_url
from newsletter.message.mime import mime_bytes
from newsletter.render import issue_id, render_issue
from newsletter.secrets import signing_secret
from newsletter.states import DeliveryState, SendState
from newsletter.store import SendRecord, Store
from newsletter.transports import NAMES, Pacer, SendOptions, Transport, open_transport, scheduler_of
from newsletter.wording import plural

TRANSPORT = click.option(
    "--transport",
    type=click.Choice(NAMES),
    help="Override delivery.transport from config.yaml.",
)
LIST = click.option("--list", "list_name", required=True, help="A list declared in config.yaml.")


def _check_list(config: Config, name: str) -> str:
    if name not in config.lists:
        known = ", ".join(sorted(config.lists)) or "none"
        raise UnknownListError(f"list {name!r} is not declared in config.yaml (lists: {known})")
    return name


def _prepare(config: Config, path: Path, list_name: str) -> IssueMessage:
    """Validate, render once and check the message: everything before any sending."""
    digest = load_digest(path)
    rendered = render_issue(digest, config)
    for message in rendered.warnings:
        warn(f"{path}: {message}")
    public_base(config)  # unsubscribe links need it: fail before anything is sent
    return build_issue_message(rendered, config, list_name)


@contextmanager
def _transport(config: Config, name: str | None) -> Iterator[Transport]:
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


# --------------------------------------------------------------------------- reports


def _counts_line(counts: dict[str, int], removed: int, via: dict[str, int]) -> str:
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
    # Readers on two lists get the issue once: under the list whose send took them first.
    parts.extend(f"already sent via {name} {count:,}" for name, count in via.items())
    return " · ".join(parts) or "no recipients"


def _attention(
    record: SendRecord, counts: dict[str, int], batches: int, digest: str | None = None
) -> list[str]:
    """What needs doing, with the commands to do it. `digest` is the file the user
    named; without one, the file in digests/ named by the issue's date is suggested."""
    digest = digest or f"digests/{record.issue_id}.json"
    lines = []
    failed, ambiguous = counts.get(DeliveryState.FAILED), counts.get(DeliveryState.AMBIGUOUS)
    pending, sending = counts.get(DeliveryState.PENDING), counts.get(DeliveryState.SENDING)
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
        lines.append(inert(record.note))  # may quote a provider's answer
    return lines


def _print_report(report: SendReport, digest: str) -> None:
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
    click.echo(f"  {_counts_line(report.counts, record.removed, report.already_sent_via)}")
    if report.interrupted_now:
        warn(
            f"{plural(report.interrupted_now, 'recipient')} {_were(report.interrupted_now)} in a "
            "batch an earlier run was sending when it stopped: marked ambiguous"
        )
    for line in _attention(record, report.counts, report.ambiguous_batches, digest):
        click.secho(f"  attention: {line}", fg="yellow", err=True)


def _were(count: int) -> str:
    return "was" if count == 1 else "were"


def _exit_code(report: SendReport | None) -> int:
    # None: the list had nobody to send to; a warning, not success (see _send_issue).
    return EXIT_PARTIAL if report is None or report.needs_attention else EXIT_OK


# --------------------------------------------------------------------------- sending


def _send_issue(
    app: AppContext,
    path: Path,
    list_name: str,
    transport_name: str | None,
    *,
    force: bool = False,
    at: str | None = None,
    retry_states: tuple[str, ...] = (),
) -> SendReport | None:
    """Send (or resume) one issue to one list; None, after a warning, when the list has
    no active subscriber and no send of the issue was started: nothing is recorded, so
    the issue still goes out once the list has members."""
    config = app.config
    issue = _prepare(config, path, _check_list(config, list_name))
    secret = signing_secret()
    chosen = transport_name or config.delivery.transport
    with Store.from_config(config) as store, _transport(config, chosen) as transport:
        send_at, batch_id = _schedule(store, transport, issue, list_name, at)
        if store.sends.find_send(
            issue.issue_id, list_name
        ) is None and not store.subscribers.has_active_members(list_name):
            warn(
                f"{list_name} has no active subscribers: {issue.issue_id} was not sent and "
                "nothing was recorded (is the right store configured? `newsletter subscribers "
                "count` shows every list)"
            )
            return None
        label = f"{issue.issue_id} → {list_name}"
        with Reporter(label) as reporter:
            dispatcher = Dispatcher(
                store, transport, config, secret, _settings(config, transport), reporter
            )
            report = dispatcher.send(
                SendRequest(
                    issue=issue,
                    list_name=list_name,
                    transport_name=chosen,
                    force=force,
                    retry_states=retry_states,
                    send_at=send_at,
                    batch_id=batch_id,
                )
            )
    _print_report(report, str(path))
    return report


def _schedule(
    store: Store, transport: Transport, issue: IssueMessage, list_name: str, at: str | None
) -> tuple[dt.datetime | None, str | None]:
    if at is None:
        return None, None
    scheduler = scheduler_of(transport)
    send_at = parse_at(at, dt.datetime.now(dt.UTC))
    existing = store.sends.find_send(issue.issue_id, list_name)
    batch_id = existing.batch_id if existing and existing.batch_id else scheduler.create_batch()
    return send_at, batch_id


@cli.command()
@click.argument("digest", type=click.Path(path_type=Path))
@LIST
@TRANSPORT
@click.option("--dry-run", is_flag=True, help="Validate, render and count; send nothing.")
@click.option("--force", is_flag=True, help="Go on with a digest changed after a partial send.")
@click.option("--at", help='Schedule: "YYYY-MM-DD HH:MM ZONE" (SendGrid, ≤ 72 h ahead).')
@pass_app
@report_errors
def send(
    app: AppContext,
    digest: Path,
    list_name: str,
    transport: str | None,
    dry_run: bool,
    force: bool,
    at: str | None,
) -> None:
    """Send DIGEST to every active member of a list (resumes an interrupted send)."""
    if dry_run:
        sys.exit(_dry_run(app, digest, list_name, transport))
    sys.exit(_exit_code(_send_issue(app, digest, list_name, transport, force=force, at=at)))


def _dry_run(app: AppContext, path: Path, list_name: str, transport: str | None) -> int:
    """What a send would do; exit 1 with a warning where the send itself would warn
    (a list with nobody to send to and no send of the issue started)."""
    config = app.config
    issue = _prepare(config, path, _check_list(config, list_name))
    with Store.from_config(config) as store:
        audience = sum(len(batch) for batch in store.subscribers.iter_active_members(list_name))
        existing = store.sends.find_send(issue.issue_id, list_name)
    click.echo(
        f"dry run: would send “{inert(issue.subject)}” ({issue.issue_id}) to "
        f"{plural(audience, 'active member')} of {list_name} "
        f"via {transport or config.delivery.transport}"
    )
    if existing:
        click.echo(f"  an earlier send of this issue to {list_name} is {existing.state}")
    elif not audience:
        warn(
            f"{list_name} has no active subscribers: a send would send nothing and record "
            "nothing (is the right store configured? `newsletter subscribers count` shows "
            "every list)"
        )
        return EXIT_PARTIAL
    return EXIT_OK


@cli.command()
@click.option("--list", "list_name", help="Only this list (default: every weekly list).")
@click.option(
    "--date",
    "on_date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Act as if today were this date.",
)
@TRANSPORT
@click.option("--at", help='Schedule: "YYYY-MM-DD HH:MM ZONE" (SendGrid, ≤ 72 h ahead).')
@pass_app
@report_errors
def dispatch(
    app: AppContext,
    list_name: str | None,
    on_date: dt.datetime | None,
    transport: str | None,
    at: str | None,
) -> None:
    """The weekly cron entry: send the due digest to each weekly list, once."""
    config = app.config
    lists = [_check_list(config, list_name)] if list_name else config.weekly_lists
    if not lists:
        raise ConfigError("no list has `weekly: true` in config.yaml; nothing to dispatch")
    today = on_date.date() if on_date else dt.date.today()
    # Issue 6 (web): with SendGrid, copy its suppression lists into the store first.
    _print_pull_outcome(pull_before_dispatch(config, transport))
    worst = EXIT_OK
    for name in lists:
        worst = max(worst, _dispatch_one(app, name, today, transport, at))
    sys.exit(worst)


def _print_pull_outcome(outcome: PullOutcome) -> None:
    """Report the pull `dispatch` made first (newsletter.feedback.pull_before_dispatch)."""
    if isinstance(outcome, PullFailed):
        warn(outcome.warning)
        warn(outcome.hint)
    elif isinstance(outcome, Pulled):
        click.echo(
            "SendGrid suppressions pulled: "
            f"{plural(outcome.report.suppressed, 'address', 'addresses')} newly suppressed"
        )


def _dispatch_one(
    app: AppContext, list_name: str, today: dt.date, transport: str | None, at: str | None
) -> int:
    config = app.config
    path = due_digest(config.digests_dir, today)
    if path is None:
        click.echo(f"{list_name}: no digest dated on or before {today}; nothing to do")
        return EXIT_OK
    issue = issue_id(load_digest(path))  # the digest's own date, not its file name
    with Store.from_config(config) as store:
        existing = store.sends.find_send(issue, list_name)
        if existing and existing.state == SendState.FINISHED:
            counts = store.sends.send_counts(existing.id)
            batches = store.sends.ambiguous_batches(existing.id)
    if existing and existing.state == SendState.FINISHED:
        click.echo(f"{list_name}: {issue} was already sent; nothing to do")
        # Readers still failed or in doubt are said again, every run, until someone acts.
        left = _attention(existing, counts, batches, str(path))
        for line in left:
            click.secho(f"  attention: {line}", fg="yellow", err=True)
        return EXIT_PARTIAL if left else EXIT_OK
    if existing and existing.state == SendState.CANCELLED:
        # An editor cancelled it on purpose: the cron job must not send it behind their back.
        click.echo(
            f"{list_name}: {issue} was cancelled; not sending it "
            f"(`newsletter send {path} --list {list_name}` sends it by hand)"
        )
        return EXIT_OK
    return _exit_code(_send_issue(app, path, list_name, transport, at=at))


@cli.command()
@click.argument("digest", type=click.Path(path_type=Path))
@LIST
@TRANSPORT
@click.option("--ambiguous", is_flag=True, help="Also resend those whose outcome is unknown.")
@pass_app
@report_errors
def retry(
    app: AppContext, digest: Path, list_name: str, transport: str | None, ambiguous: bool
) -> None:
    """Resend to recipients whose delivery failed (with --ambiguous, also unknown ones)."""
    with Store.from_config(app.config) as store:
        if store.sends.find_send(issue_id(load_digest(digest)), list_name) is None:
            raise InputError(f"{digest} was never sent to {list_name}; nothing to retry")
    states = (
        (DeliveryState.FAILED, DeliveryState.AMBIGUOUS) if ambiguous else (DeliveryState.FAILED,)
    )
    report = _send_issue(app, digest, list_name, transport, retry_states=states)
    sys.exit(_exit_code(report))


@cli.command()
@click.argument("digest", type=click.Path(path_type=Path))
@LIST
@pass_app
@report_errors
def cancel(app: AppContext, digest: Path, list_name: str) -> None:
    """Cancel a scheduled send (SendGrid, --at) that has not gone out yet."""
    config = app.config
    issue = issue_id(load_digest(digest))
    with Store.from_config(config) as store:
        record = store.sends.find_send(issue, _check_list(config, list_name))
        if record is None or record.batch_id is None or record.send_at is None:
            raise InputError(f"{issue} has no scheduled send to {list_name} to cancel")
        if record.send_at <= dt.datetime.now(dt.UTC):
            raise InputError(
                f"{issue} → {list_name} went out at {record.send_at:%Y-%m-%d %H:%M} UTC; "
                "too late to cancel"
            )
        with _transport(config, record.transport) as transport:
            scheduler_of(transport, "cancel").cancel_scheduled(record.batch_id)
        requeued = store.sends.cancel_send(record.id)
    click.echo(
        f"{issue} → {list_name}: scheduled send cancelled ({plural(requeued, 'message')} "
        "will not go out); `newsletter send` sends it again later"
    )


@cli.command()
@click.argument("digest", required=False)
@pass_app
@report_errors
def status(app: AppContext, digest: str | None) -> None:
    """Per issue and list: recipients by state, times, and what needs attention.

    DIGEST is a digest file (read for its date, wherever it is and whatever its name)
    or an issue date, YYYY-MM-DD."""
    wanted = _issue_named(digest) if digest else None
    digest_file = digest if digest and digest != wanted else None
    with Store.from_config(app.config) as store:
        records = store.sends.sends(wanted)
        if not records:
            if wanted:
                raise InputError(
                    f"no sends recorded for issue {wanted}",
                    hint="`newsletter status` lists every send recorded",
                )
            click.echo("no sends recorded")
            return
        for record in records:
            counts = store.sends.send_counts(record.id)
            finished = (
                f", finished {record.finished_at:%Y-%m-%d %H:%M} UTC" if record.finished_at else ""
            )
            click.echo(
                f"{record.issue_id} → {record.list_name} ({record.transport}): {record.state}, "
                f"started {record.started_at:%Y-%m-%d %H:%M} UTC{finished}"
            )
            via = store.sends.send_overlaps(record.id)
            click.echo(f"  {_counts_line(counts, record.removed, via)}")
            batches = store.sends.ambiguous_batches(record.id)
            for line in _attention(record, counts, batches, digest_file):
                click.echo(f"  attention: {line}")
            for email, error in store.sends.deliveries_in(record.id, DeliveryState.FAILED, limit=5):
                click.echo(f"  failed: {inert(email)}: {inert(error)}")


def _issue_named(argument: str) -> str:
    """The issue a command-line argument names: a digest file is loaded and its date
    read, like every other command does; otherwise the argument must be a date."""
    path = Path(argument)
    if argument.endswith(".json") or path.is_file():
        return issue_id(load_digest(path))
    try:
        return dt.date.fromisoformat(argument).isoformat()
    except ValueError:
        raise InputError(
            f"{argument!r} is neither a digest file nor an issue date (YYYY-MM-DD)"
        ) from None


# --------------------------------------------------------------------------- preview


@cli.command()
@click.argument("digest", type=click.Path(path_type=Path))
@click.option("--to", "to", multiple=True, help="Send to this address (repeatable).")
@click.option(
    "--eml",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each message as an .eml file into this folder.",
)
@TRANSPORT
@pass_app
@report_errors
def preview(
    app: AppContext, digest: Path, to: tuple[str, ...], eml: Path | None, transport: str | None
) -> None:
    """Send the exact production message, marked [PREVIEW], to editors."""
    config = app.config
    issue = _prepare(config, digest, "preview").preview()
    secret = signing_secret()
    with Store.from_config(config) as store:
        addresses = list(to) or [str(a) for a in config.delivery.preview_recipients]
        if not addresses and "editors" in config.lists:
            addresses = [
                s.email for batch in store.subscribers.iter_active_members("editors") for s in batch
            ]
        if not addresses:
            raise InputError(
                "nobody to preview to: give --to, set delivery.preview_recipients, "
                "or add editors to the `editors` list"
            )
        recipients = []
        for address in addresses:
            subscriber = store.subscribers.ensure_subscriber(address)
            recipients.append(
                Recipient(
                    email=subscriber.email,
                    name=subscriber.name,
                    subscriber_id=subscriber.id,
                    unsubscribe_url=unsubscribe_url(config, subscriber.id, secret),
                )
            )
    messages = [issue.personalise(r) for r in recipients]
    if eml:
        for message in messages:
            target = eml / f"{issue.issue_id}-preview-{message.recipient.email}.eml"
            write_atomic(target, mime_bytes(message))
            click.echo(f"wrote {target}")
    with _transport(config, transport) as chosen:
        results = chosen.send(messages, SendOptions(preview=True))
    failed = [r for r in results if r.outcome != "accepted"]
    for result in results:
        detail = f": {inert(result.error)}" if result.error else ""
        click.echo(f"{inert(result.recipient.email)}: {result.outcome}{detail}")
    if failed:
        raise NewsletterError(
            f"{len(failed):,} of {plural(len(results), 'preview')} {_were(len(failed))} "
            "not accepted"
        )
