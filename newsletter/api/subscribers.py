"""Subscribers, lists and the store itself: what `newsletter subscribers …` and
`newsletter db …` do, as functions of the loaded Config."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from newsletter.api.archive import backfill
from newsletter.api.results import (
    Counts,
    ImportResult,
    StoreInit,
    StoreState,
    StoreUpgrade,
    SyncedList,
    SyncResult,
)
from newsletter.clock import Clock
from newsletter.config import Config
from newsletter.errors import UnknownListError
from newsletter.secrets import signing_secret
from newsletter.store import (
    AddOutcome,
    ListCount,
    Status,
    StatusChange,
    Store,
    Subscriber,
    SubscriberDetails,
)

CreatedCallback = Callable[[str], None]
"""Told the store's display URL (password hidden) the moment a call creates the store,
before the call goes on (and so even when it then fails)."""


def declared(config: Config, name: str) -> str:
    """`name` if config.yaml declares that list; UnknownListError (3) otherwise."""
    if name not in config.lists:
        raise UnknownListError(
            f"no list named {name!r} in config.yaml",
            hint=f"declared lists: {', '.join(config.lists) or '(none)'}",
        )
    return name


@contextmanager
def _store(
    config: Config,
    *,
    create: bool = False,
    on_created: CreatedCallback | None = None,
    clock: Clock | None = None,
) -> Iterator[tuple[Store, str | None]]:
    """The configured store and, if this call created it, its display URL."""
    with Store.from_config(config, create=create, clock=clock) as store:
        created = store.display_url if store.created else None
        if created and on_created:
            on_created(created)
        yield store, created


def import_csv(
    config: Config,
    path: Path,
    list_name: str,
    on_created: CreatedCallback | None = None,
    clock: Clock | None = None,
) -> ImportResult:
    """Add and update a list's subscribers from a CSV file, in one transaction; creates
    the store if there is none. Suppressed addresses are never resubscribed."""
    declared(config, list_name)
    with _store(config, create=True, on_created=on_created, clock=clock) as (store, created):
        report = store.subscribers.import_csv(path, list_name)
    return ImportResult(report=report, source=path, created_store=created)


def sync(
    config: Config,
    list_name: str | None = None,
    *,
    dry_run: bool = False,
    on_created: CreatedCallback | None = None,
    clock: Clock | None = None,
) -> SyncResult:
    """Make each list (or `list_name`) match its CSV file (config.yaml's `file`), all in
    one transaction; creates the store unless `dry_run` (which changes nothing)."""
    names = [declared(config, list_name)] if list_name else list(config.lists)
    files = {name: config.resolve(config.lists[name].file) for name in names}
    with _store(config, create=not dry_run, on_created=on_created, clock=clock) as (store, created):
        reports = store.subscribers.sync_files(files, dry_run=dry_run)
    synced = tuple(SyncedList(r, config.lists[r.list_name].file) for r in reports)
    return SyncResult(lists=synced, dry_run=dry_run, created_store=created)


def add(
    config: Config,
    email: str,
    list_name: str,
    *,
    name: str | None = None,
    attributes: Mapping[str, str] | None = None,
    clock: Clock | None = None,
) -> AddOutcome:
    """Add one address to a list; SuppressedError (3) if it unsubscribed, bounced or
    complained, AddressError (3) if it is not an address."""
    declared(config, list_name)
    with _store(config, clock=clock) as (store, _):
        return store.subscribers.add(email, list_name, name=name, attributes=attributes)


def remove(config: Config, email: str, list_name: str, *, clock: Clock | None = None) -> None:
    """Take one address off a list (its status and other lists are untouched)."""
    declared(config, list_name)
    with _store(config, clock=clock) as (store, _):
        store.subscribers.remove(email, list_name)


def unsubscribe(
    config: Config, email: str, reason: str | None = None, *, clock: Clock | None = None
) -> StatusChange:
    """Stop all mail to an address on every list (stored as unsubscribed if unknown)."""
    with _store(config, clock=clock) as (store, _):
        return store.subscribers.unsubscribe(email, reason=reason)


def resubscribe(
    config: Config, email: str, reason: str | None = None, *, clock: Clock | None = None
) -> StatusChange:
    """Lift an unsubscribe, bounce or complaint: the only way back to `subscribed`."""
    with _store(config, clock=clock) as (store, _):
        return store.subscribers.resubscribe(email, reason=reason)


def show(config: Config, email: str, *, clock: Clock | None = None) -> SubscriberDetails:
    """One address: status, lists, attributes, history; SubscriberNotFoundError (3)."""
    with _store(config, clock=clock) as (store, _):
        return store.subscribers.details(email)


def members(
    config: Config, list_name: str, status: Status | None = None, *, clock: Clock | None = None
) -> Iterator[Subscriber]:
    """A list's members one by one (read in batches; the store stays open while iterating)."""
    declared(config, list_name)
    with _store(config, clock=clock) as (store, _):
        for batch in store.subscribers.iter_members(list_name, status=status):
            yield from batch


def export(
    config: Config,
    list_name: str,
    out: TextIO,
    status: Status | None,
    *,
    clock: Clock | None = None,
) -> int:
    """Write a list's members as CSV to `out` (email, name, attributes); how many."""
    declared(config, list_name)
    with _store(config, clock=clock) as (store, _):
        return store.subscribers.export_csv(list_name, out, status=status)


def counts(config: Config, *, clock: Clock | None = None) -> Counts:
    """Members of every list by status: config.yaml's lists first (zero if empty), then
    any other list the store has, and every subscriber by status."""
    with _store(config, clock=clock) as (store, _):
        by_list = {found.list_name: found for found in store.subscribers.list_counts()}
        totals = store.subscribers.status_counts()
    names = list(dict.fromkeys([*config.lists, *by_list]))
    rows = tuple(by_list.get(name, ListCount(name, {})) for name in names)
    return Counts(lists=rows, totals=totals)


def token(config: Config, email: str, *, clock: Clock | None = None) -> str:
    """The signed unsubscribe token of an address (needs NEWSLETTER_SECRET)."""
    secret = signing_secret()
    with _store(config, clock=clock) as (store, _):
        return store.subscribers.token_for(email, secret)


# --------------------------------------------------------------------------- the store


def init_store(config: Config, *, clock: Clock | None = None) -> StoreInit:
    """Create an empty store where the config points (an existing one is only migrated)."""
    with Store.from_config(config, create=True, clock=clock) as store:
        return StoreInit(store.display_url, store.created, store.schema_state().current)


def upgrade_store(config: Config, *, clock: Clock | None = None) -> StoreUpgrade:
    """Migrate an existing store to the newest schema, then recover (for the archive)
    the issues sent before schema 0004 kept them."""
    with Store.from_config(config, upgrade=False, clock=clock) as store:
        before = store.upgrade()
        where = store.display_url
    recovered = backfill(config, clock=clock)
    return StoreUpgrade(where, before.current, before.head, recovered)


def store_status(config: Config, *, clock: Clock | None = None) -> StoreState:
    """The store's URL (password hidden) and schema revision, without migrating it."""
    with Store.from_config(config, upgrade=False, clock=clock) as store:
        state = store.schema_state()
        return StoreState(store.display_url, state.current, state.head)
