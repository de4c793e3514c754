"""Commands on subscribers and the store: `newsletter subscribers …` and `newsletter db …`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from newsletter.cli.app import AppContext, cli, pass_app, report_errors
from newsletter.cli.present import print_backfill
from newsletter.cli.terminal import inert
from newsletter.store import (
    AddOutcome,
    ImportReport,
    ListCount,
    Status,
    StatusChange,
    SubscriberDetails,
)
from newsletter.wording import plural

F = TypeVar("F", bound=Callable[..., Any])
STATUS_CHOICE = click.Choice([status.value for status in Status])


def _say_created(where: str) -> None:
    click.echo(f"created a new store at {where}")


def _list_option(help_text: str) -> Callable[[F], F]:
    return click.option("--list", "list_name", required=True, metavar="NAME", help=help_text)


@cli.group()
def subscribers() -> None:
    """Subscriber lists and the store of record: import, sync, add, remove, unsubscribe…"""


@subscribers.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_list_option("The list (declared in config.yaml) to add the file's subscribers to.")
@pass_app
@report_errors
def import_(app: AppContext, file: Path, list_name: str) -> None:
    """Add and update a list's subscribers from a CSV file (one transaction).

    The CSV needs a header row with an `email` column; `name` is optional and
    every other column is kept as an attribute. Unsubscribed, bounced and
    complained addresses are never resubscribed (counted as suppressed)."""
    imported = app.api.import_csv(file, list_name, on_created=_say_created)
    _print_report(imported.report, str(file), show_removed=False)


@subscribers.command()
@click.option("--list", "list_name", metavar="NAME", help="Sync only this list (default: all).")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@pass_app
@report_errors
def sync(app: AppContext, list_name: str | None, dry_run: bool) -> None:
    """Make each list's membership match its CSV file (adds new, removes missing).

    Suppressions still win: an unsubscribed, bounced or complained address in
    the file stays suppressed. All lists change in one transaction."""
    synced = app.api.sync(list_name, dry_run, on_created=_say_created)
    if dry_run:
        click.echo("dry run: nothing was changed; a sync would do this:")
    for done in synced.lists:
        _print_report(done.report, str(done.file), show_removed=True)


def _print_report(report: ImportReport, source: str, *, show_removed: bool) -> None:
    counts = [
        f"{report.added:,} added",
        f"{report.updated:,} updated",
        f"{report.unchanged:,} unchanged",
        f"{report.suppressed:,} suppressed",
    ]
    if show_removed:
        counts.append(f"{report.removed:,} removed")
    counts.append(f"{report.rejected_count:,} rejected")
    click.echo(f"{inert(source)} → list {report.list_name}: {', '.join(counts)}")
    if report.duplicates:
        click.echo(
            f"  {plural(report.duplicates, 'duplicate row')} merged "
            "(addresses compare without case)"
        )
    for rejection in report.rejected:
        click.echo(f"  {inert(source)}: rejected {inert(rejection)}", err=True)
    if report.unlisted_rejections:
        click.echo(f"  … and {plural(report.unlisted_rejections, 'more rejected row')}", err=True)


@subscribers.command()
@click.argument("email")
@_list_option("The list to add the address to.")
@click.option("--name", help="The subscriber's name.")
@click.option(
    "--attribute",
    "-a",
    "attributes",
    multiple=True,
    metavar="KEY=VALUE",
    help="An attribute to set (repeatable), e.g. -a country=KZ.",
)
@pass_app
@report_errors
def add(
    app: AppContext, email: str, list_name: str, name: str | None, attributes: tuple[str, ...]
) -> None:
    """Add one address to a list (refused if it unsubscribed, bounced or complained)."""
    outcome = app.api.add(email, list_name, name, _pairs(attributes))
    if outcome is AddOutcome.ADDED:
        click.echo(f"added {inert(email.strip())} to {list_name}")
    else:
        click.echo(f"{inert(email.strip())} is already on {list_name}")


def _pairs(values: tuple[str, ...]) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, text = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {value!r}", param_hint="--attribute")
        pairs[key.strip().lower()] = text
    return pairs


@subscribers.command()
@click.argument("email")
@_list_option("The list to take the address off.")
@pass_app
@report_errors
def remove(app: AppContext, email: str, list_name: str) -> None:
    """Take one address off a list (its status and other lists are untouched)."""
    app.api.remove(email, list_name)
    click.echo(f"removed {inert(email.strip())} from {list_name}")


@subscribers.command()
@click.argument("email")
@click.option("--reason", help="Why, for the record (e.g. 'asked by email').")
@pass_app
@report_errors
def unsubscribe(app: AppContext, email: str, reason: str | None) -> None:
    """Stop all mail to an address, on every list; recorded in its history.

    An address not yet in the store is stored as unsubscribed, so that no later
    import or sync subscribes it."""
    change = app.api.unsubscribe(email, reason)
    click.echo(_describe_change(change, "unsubscribed from every list"))


@subscribers.command()
@click.argument("email")
@click.option("--reason", help="Why, for the record (e.g. 'asked to come back').")
@pass_app
@report_errors
def resubscribe(app: AppContext, email: str, reason: str | None) -> None:
    """Lift an unsubscribe, bounce or complaint: the only way back to `subscribed`."""
    change = app.api.resubscribe(email, reason)
    click.echo(_describe_change(change, "resubscribed"))


def _describe_change(change: StatusChange, done: str) -> str:
    email = inert(change.email)
    if change.before is None:
        return f"{email} was not in the store: stored as {change.after}, so no import adds it"
    if not change.changed:
        return f"{email} is already {change.after}; nothing changed"
    return f"{email} {done} (was {change.before})"


@subscribers.command()
@click.argument("email")
@pass_app
@report_errors
def show(app: AppContext, email: str) -> None:
    """Show one address: status, lists, attributes and status history."""
    for line in _details_lines(app.api.show(email)):
        click.echo(line)


def _details_lines(details: SubscriberDetails) -> Iterator[str]:
    """The lines of `subscribers show`; every stored text made inert for the terminal."""
    person = details.subscriber
    yield f"{inert(person.email)}  {inert(person.name or '')}".rstrip()
    reason = f" ({inert(person.status_reason)})" if person.status_reason else ""
    since = f"{person.status_changed_at:%Y-%m-%d %H:%M} UTC"
    yield f"  status:     {person.status} since {since}{reason}"
    if person.paused_until:
        yield f"  paused:     until {person.paused_until:%Y-%m-%d %H:%M} UTC"
    for key, value in sorted(person.attributes.items()):
        yield f"  {inert(key) + ':':<11} {inert(value)}"
    yield "  lists:"
    for membership in details.memberships:
        left = f", left {membership.removed_at:%Y-%m-%d}" if membership.removed_at else ""
        yield f"    {inert(membership.list_name)} (joined {membership.added_at:%Y-%m-%d}{left})"
    if not details.memberships:
        yield "    (none)"
    yield "  history:"
    for entry in details.history:
        before = entry.from_status or "new"
        why = f": {inert(entry.reason)}" if entry.reason else ""
        yield f"    {entry.at:%Y-%m-%d %H:%M}  {before} → {entry.to_status}  [{entry.source}]{why}"
    consent = details.consent
    yield "  consent:" + ("" if consent else " (none recorded: not signed up through the form)")
    if consent:
        yield f"    form posted:  {consent.posted_at:%Y-%m-%d %H:%M:%S} UTC"
        yield f"    confirmed:    {consent.confirmed_at:%Y-%m-%d %H:%M:%S} UTC (double opt-in)"
        yield f"    text sha256:  {consent.text_hash}"
        yield f"    ip address:   {inert(consent.ip) if consent.ip else '(not recorded)'}"


@subscribers.command("list")
@_list_option("The list to show.")
@click.option("--status", type=STATUS_CHOICE, help="Only members with this status.")
@pass_app
@report_errors
def list_(app: AppContext, list_name: str, status: str | None) -> None:
    """Print a list's members: email, status and name, one per line."""
    for person in app.api.members(list_name, Status(status) if status else None):
        click.echo(f"{inert(person.email)}\t{person.status}\t{inert(person.name or '')}")


@subscribers.command()
@_list_option("The list to export.")
@click.option(
    "--status",
    type=click.Choice([*STATUS_CHOICE.choices, "all"]),
    default=Status.SUBSCRIBED.value,
    show_default=True,
    help="Which members to export.",
)
@pass_app
@report_errors
def export(app: AppContext, list_name: str, status: str) -> None:
    """Write a list's members as CSV on stdout (email, name, attributes)."""
    app.api.export(list_name, sys.stdout, None if status == "all" else Status(status))


@subscribers.command()
@pass_app
@report_errors
def count(app: AppContext) -> None:
    """Count members of every list, and every subscriber, by status."""
    found = app.api.counts()
    totals = found.totals
    width = max([len("list"), *(len(row.list_name) for row in found.lists)])
    click.echo(
        f"{'list':<{width}}  " + "  ".join(f"{s.value:>12}" for s in Status) + "         total"
    )
    for row in found.lists:
        click.echo(_count_row(row.list_name, row, width))
    click.echo(
        f"{'(store)':<{width}}  "
        + "  ".join(f"{totals[s]:>12}" for s in Status)
        + f"  {sum(totals.values()):>12}"
    )


def _count_row(name: str, counts: ListCount, width: int) -> str:
    cells = "  ".join(f"{counts.by_status.get(s, 0):>12}" for s in Status)
    return f"{inert(name):<{width}}  {cells}  {counts.total:>12}"


@subscribers.command("purge-pending")
@pass_app
@report_errors
def purge_pending(app: AppContext) -> None:
    """Delete sign-ups left unconfirmed for signup.purge_pending_after_days (for cron)."""
    done = app.api.purge_pending()
    click.echo(
        f"purged {plural(done.purged, 'unconfirmed sign-up')} posted before "
        f"{done.older_than:%Y-%m-%d %H:%M} UTC; {done.still_pending} still pending"
    )


@subscribers.command("export-person")
@click.argument("email")
@pass_app
@report_errors
def export_person(app: AppContext, email: str) -> None:
    """Print everything stored about one address as JSON (GDPR right of access)."""
    click.echo(app.api.export_person(email).to_json())


@subscribers.command()
@click.argument("email")
@click.option("--yes", is_flag=True, help="Erase without asking (for scripts).")
@pass_app
@report_errors
def forget(app: AppContext, email: str, yes: bool) -> None:
    """Erase an address for good (GDPR right to erasure): address, name, attributes and
    history text are deleted; only a keyed hash stays, so it is never mailed again."""
    if not yes:
        click.confirm(f"Erase everything stored about {inert(email)}?", abort=True, err=True)
    done = app.api.forget(email)
    if done.already_erased:
        click.echo("that address was erased before; nothing is stored about it")
    elif done.subscriber_id is None:
        click.echo("erased an unconfirmed sign-up; only a keyed hash remains")
    else:
        click.echo(f"erased subscriber #{done.subscriber_id}; only a keyed hash remains")


@subscribers.command()
@click.argument("email")
@pass_app
@report_errors
def token(app: AppContext, email: str) -> None:
    """Print the signed unsubscribe token of an address (needs NEWSLETTER_SECRET)."""
    click.echo(app.api.token(email))


@cli.group()
def db() -> None:
    """The store itself: create it, migrate it, show where it stands (SQLite or PostgreSQL)."""


@db.command()
@pass_app
@report_errors
def init(app: AppContext) -> None:
    """Create an empty store where the config points (an existing one is only migrated).

    No other command except `subscribers import` and `sync` creates a store: a store
    that went missing is reported (exit 7), never replaced by an empty one."""
    made = app.api.init_store()
    if made.created:
        click.echo(f"created a new store at {made.where} (schema {made.schema})")
    else:
        click.echo(
            f"{made.where}: a store is already there (schema {made.schema}); nothing created"
        )


@db.command()
@pass_app
@report_errors
def upgrade(app: AppContext) -> None:
    """Migrate an existing store to the newest schema (commands also do this when they open it)."""
    done = app.api.upgrade_store()
    if done.up_to_date:
        click.echo(f"{done.where}: already at schema {done.head}")
    else:
        click.echo(f"{done.where}: upgraded from {done.before or 'an empty store'} to {done.head}")
    print_backfill(done.backfill)  # for the archive: issues sent before schema 0004


@db.command()
@pass_app
@report_errors
def status(app: AppContext) -> None:
    """Show the store's URL (password hidden) and schema revision."""
    state = app.api.store_status()
    click.echo(f"{state.where}\n  schema: {state.current or 'none'}\n  newest: {state.head}")
