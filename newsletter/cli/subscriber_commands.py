"""Commands on subscribers and the store: `newsletter subscribers …` and `newsletter db …`."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from newsletter.cli.app import AppContext, cli, pass_app, report_errors
from newsletter.cli.terminal import inert
from newsletter.cli.web_commands import recover_archive
from newsletter.config import Config
from newsletter.errors import UnknownListError
from newsletter.secrets import signing_secret
from newsletter.store import (
    AddOutcome,
    ImportReport,
    ListCount,
    Status,
    StatusChange,
    Store,
    SubscriberDetails,
)
from newsletter.wording import plural

F = TypeVar("F", bound=Callable[..., Any])
STATUS_CHOICE = click.Choice([status.value for status in Status])


def _declared(config: Config, name: str) -> str:
    if name not in config.lists:
        raise UnknownListError(
            f"no list named {name!r} in config.yaml",
            hint=f"declared lists: {', '.join(config.lists) or '(none)'}",
        )
    return name


@contextmanager
def _store(app: AppContext, *, create: bool = False) -> Iterator[Store]:
    """The configured store; with `create`, made if missing, and said aloud."""
    with Store.from_config(app.config, create=create) as store:
        if store.created:
            click.echo(f"created a new store at {store.display_url}")
        yield store


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
    _declared(app.config, list_name)
    with _store(app, create=True) as store:
        report = store.subscribers.import_csv(file, list_name)
    _print_report(report, str(file), show_removed=False)


@subscribers.command()
@click.option("--list", "list_name", metavar="NAME", help="Sync only this list (default: all).")
@click.option("--dry-run", is_flag=True, help="Show what would change; change nothing.")
@pass_app
@report_errors
def sync(app: AppContext, list_name: str | None, dry_run: bool) -> None:
    """Make each list's membership match its CSV file (adds new, removes missing).

    Suppressions still win: an unsubscribed, bounced or complained address in
    the file stays suppressed. All lists change in one transaction."""
    config = app.config
    names = [_declared(config, list_name)] if list_name else list(config.lists)
    files = {name: config.resolve(config.lists[name].file) for name in names}
    with _store(app, create=not dry_run) as store:  # a dry run changes nothing, nor creates
        reports = store.subscribers.sync_files(files, dry_run=dry_run)
    if dry_run:
        click.echo("dry run: nothing was changed; a sync would do this:")
    for report in reports:
        shown = config.lists[report.list_name].file  # as config.yaml names it
        _print_report(report, str(shown), show_removed=True)


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
    _declared(app.config, list_name)
    with _store(app) as store:
        outcome = store.subscribers.add(email, list_name, name=name, attributes=_pairs(attributes))
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
    _declared(app.config, list_name)
    with _store(app) as store:
        store.subscribers.remove(email, list_name)
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
    with _store(app) as store:
        change = store.subscribers.unsubscribe(email, reason=reason)
    click.echo(_describe_change(change, "unsubscribed from every list"))


@subscribers.command()
@click.argument("email")
@click.option("--reason", help="Why, for the record (e.g. 'asked to come back').")
@pass_app
@report_errors
def resubscribe(app: AppContext, email: str, reason: str | None) -> None:
    """Lift an unsubscribe, bounce or complaint: the only way back to `subscribed`."""
    with _store(app) as store:
        change = store.subscribers.resubscribe(email, reason=reason)
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
    with _store(app) as store:
        found = store.subscribers.details(email)
    for line in _details_lines(found):
        click.echo(line)


def _details_lines(details: SubscriberDetails) -> Iterator[str]:
    """The lines of `subscribers show`; every stored text made inert for the terminal."""
    person = details.subscriber
    yield f"{inert(person.email)}  {inert(person.name or '')}".rstrip()
    reason = f" ({inert(person.status_reason)})" if person.status_reason else ""
    since = f"{person.status_changed_at:%Y-%m-%d %H:%M} UTC"
    yield f"  status:     {person.status} since {since}{reason}"
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


@subscribers.command("list")
@_list_option("The list to show.")
@click.option("--status", type=STATUS_CHOICE, help="Only members with this status.")
@pass_app
@report_errors
def list_(app: AppContext, list_name: str, status: str | None) -> None:
    """Print a list's members: email, status and name, one per line."""
    _declared(app.config, list_name)
    wanted = Status(status) if status else None
    with _store(app) as store:
        for batch in store.subscribers.iter_members(list_name, status=wanted):
            for person in batch:
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
    _declared(app.config, list_name)
    wanted = None if status == "all" else Status(status)
    with _store(app) as store:
        store.subscribers.export_csv(list_name, sys.stdout, status=wanted)


@subscribers.command()
@pass_app
@report_errors
def count(app: AppContext) -> None:
    """Count members of every list, and every subscriber, by status."""
    with _store(app) as store:
        by_list = {found.list_name: found for found in store.subscribers.list_counts()}
        totals = store.subscribers.status_counts()
    names = list(dict.fromkeys([*app.config.lists, *by_list]))
    width = max([len("list"), *map(len, names)])
    click.echo(
        f"{'list':<{width}}  " + "  ".join(f"{s.value:>12}" for s in Status) + "         total"
    )
    for name in names:
        click.echo(_count_row(name, by_list.get(name, ListCount(name, {})), width))
    click.echo(
        f"{'(store)':<{width}}  "
        + "  ".join(f"{totals[s]:>12}" for s in Status)
        + f"  {sum(totals.values()):>12}"
    )


def _count_row(name: str, counts: ListCount, width: int) -> str:
    cells = "  ".join(f"{counts.by_status.get(s, 0):>12}" for s in Status)
    return f"{inert(name):<{width}}  {cells}  {counts.total:>12}"


@subscribers.command()
@click.argument("email")
@pass_app
@report_errors
def token(app: AppContext, email: str) -> None:
    """Print the signed unsubscribe token of an address (needs NEWSLETTER_SECRET)."""
    secret = signing_secret()
    with _store(app) as store:
        click.echo(store.subscribers.token_for(email, secret))


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
    with Store.from_config(app.config, create=True) as store:
        where = store.display_url
        created = store.created
        state = store.schema_state()
    if created:
        click.echo(f"created a new store at {where} (schema {state.current})")
    else:
        click.echo(f"{where}: a store is already there (schema {state.current}); nothing created")


@db.command()
@pass_app
@report_errors
def upgrade(app: AppContext) -> None:
    """Migrate an existing store to the newest schema (commands also do this when they open it)."""
    with Store.from_config(app.config, upgrade=False) as store:
        before = store.upgrade()
        where = store.display_url
    if before.up_to_date:
        click.echo(f"{where}: already at schema {before.head}")
    else:
        click.echo(f"{where}: upgraded from {before.current or 'an empty store'} to {before.head}")
    with Store.from_config(app.config) as store:
        recover_archive(app.config, store)  # for the archive: issues sent before schema 0004


@db.command()
@pass_app
@report_errors
def status(app: AppContext) -> None:
    """Show the store's URL (password hidden) and schema revision."""
    with Store.from_config(app.config, upgrade=False) as store:
        state = store.schema_state()
        where = store.display_url
    current = state.current or "none"
    click.echo(f"{where}\n  schema: {current}\n  newest: {state.head}")
