"""Subscribers and lists in the store: imports, syncs, one subscriber, members, tokens.

Each method is one transaction over the functions of `newsletter.store.subscribers`
(one subscriber at a time), `newsletter.store.lists` (reading lists) and
`newsletter.store.imports` (a whole file, set-based); the CSV files themselves
are read by `newsletter.csvio`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Connection

from newsletter.addresses import parse_email
from newsletter.csvio import (
    Chunk,
    Entry,
    chunk_entries,
    clean_attribute_key,
    clean_text,
    file_chunks,
    gc_paused,
)
from newsletter.errors import InputError, SubscriberNotFoundError, SuppressedError
from newsletter.names import check_name
from newsletter.secrets import Secret, signing_secret
from newsletter.store import erasures, imports, lists
from newsletter.store import preferences as prefs
from newsletter.store import subscribers as ops
from newsletter.store.database import Database
from newsletter.store.models import (
    ImportReport,
    ListCount,
    Source,
    Status,
    Subscriber,
    SubscriberDetails,
)
from newsletter.store.preferences import AddressChange
from newsletter.store.subscribers import AddOutcome, StatusChange
from newsletter.tokens import make_token, read_token

_LIST_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class SubscriberRepository:
    """Subscribers, their statuses and their lists (`store.subscribers`)."""

    def __init__(self, database: Database, secret: erasures.SecretSource = signing_secret) -> None:
        self._db = database
        # NEWSLETTER_SECRET, read only where an erased address must be recognised and
        # only once something was erased (see newsletter.store.erasures).
        self._secret = secret

    # -- imports and syncs -------------------------------------------------------

    def import_csv(self, path: Path, list_name: str, *, dry_run: bool = False) -> ImportReport:
        """Add and update a list's members from a CSV file, in one transaction."""
        return self._import(file_chunks(path), list_name, origin=path.name, dry_run=dry_run)

    def import_entries(
        self,
        entries: Iterable[Entry],
        list_name: str,
        *,
        origin: str,
        source: Source = Source.IMPORT,
        remove_missing: bool = False,
        dry_run: bool = False,
    ) -> ImportReport:
        """Apply parsed CSV entries to a list, in one transaction (rolled back on a dry run)."""
        return self._import(
            chunk_entries(entries),
            list_name,
            origin=origin,
            source=source,
            remove_missing=remove_missing,
            dry_run=dry_run,
        )

    def _import(
        self,
        chunks: Iterable[Chunk],
        list_name: str,
        *,
        origin: str,
        source: Source = Source.IMPORT,
        remove_missing: bool = False,
        dry_run: bool = False,
    ) -> ImportReport:
        run = imports.ImportRun(
            list_name=check_list_name(list_name),
            origin=origin,
            source=source,
            now=self._db.clock.now(),
            remove_missing=remove_missing,
            secret=self._secret,
        )
        with gc_paused(), self._db.write(dry_run=dry_run) as conn:
            report = imports.import_chunks(conn, run, chunks)
        return _dry(report) if dry_run else report

    def sync_files(self, files: Mapping[str, Path], *, dry_run: bool = False) -> list[ImportReport]:
        """Make each list's membership match its file, all lists in one transaction."""
        now = self._db.clock.now()
        reports = []
        with gc_paused(), self._db.write(dry_run=dry_run) as conn:
            for list_name, path in files.items():
                run = imports.ImportRun(
                    list_name=check_list_name(list_name),
                    origin=path.name,
                    source=Source.SYNC,
                    now=now,
                    remove_missing=True,
                    secret=self._secret,
                )
                reports.append(imports.import_chunks(conn, run, file_chunks(path)))
        return [_dry(report) for report in reports] if dry_run else reports

    # -- one subscriber ------------------------------------------------------------

    def add(
        self,
        email: str,
        list_name: str,
        *,
        name: str | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> AddOutcome:
        """Put an address on a list (creating it if new). SuppressedError if suppressed."""
        address = parse_email(email, new=True)
        clean_name = _clean_name(name) if name else None
        clean_attributes = {_key(k): _clean(v, k) for k, v in (attributes or {}).items()}
        with self._db.write() as conn:
            self._refuse_erased(conn, address)
            return ops.add_to_list(
                conn,
                address,
                check_list_name(list_name),
                name=clean_name,
                attributes=clean_attributes,
                now=self._db.clock.now(),
            )

    def remove(self, email: str, list_name: str) -> None:
        """Take an address off one list."""
        with self._db.write() as conn:
            ops.remove_from_list(
                conn, parse_email(email), check_list_name(list_name), self._db.clock.now()
            )

    def unsubscribe(
        self, email: str, *, reason: str | None = None, source: Source = Source.CLI
    ) -> StatusChange:
        """Stop all mail to an address, on every list; an unknown address is kept suppressed."""
        address = parse_email(email)
        with self._db.write() as conn:
            if self._erased_unknown(conn, address):
                return StatusChange(address, Status.UNSUBSCRIBED, Status.UNSUBSCRIBED)
            return ops.unsubscribe(
                conn, address, reason=reason, source=source, now=self._db.clock.now()
            )

    def resubscribe(
        self, email: str, *, reason: str | None = None, source: Source = Source.CLI
    ) -> StatusChange:
        """Lift an unsubscribe, bounce or complaint: the only way back to `subscribed`."""
        with self._db.write() as conn:
            return ops.resubscribe(
                conn, parse_email(email), reason=reason, source=source, now=self._db.clock.now()
            )

    def set_status(
        self, email: str, status: Status, *, reason: str | None, source: Source
    ) -> StatusChange:
        """Record a bounce, complaint or unsubscribe from a provider or the web (an erased
        address is suppressed already: it is not stored again)."""
        address = parse_email(email)
        with self._db.write() as conn:
            if status != Status.SUBSCRIBED and self._erased_unknown(conn, address):
                return StatusChange(address, status, status)
            return ops.set_status(
                conn,
                address,
                status,
                reason=reason,
                source=source,
                now=self._db.clock.now(),
                create_missing=status != Status.SUBSCRIBED,
            )

    def ensure_subscriber(self, email: str) -> Subscriber:
        """The stored subscriber for an address, created (on no list) if new: previews
        to any address still carry a working unsubscribe link."""
        address = parse_email(email, new=True)
        with self._db.write() as conn:
            found = ops.find(conn, address)
            if found is not None:
                return found
            self._refuse_erased(conn, address)
            ops.create(
                conn,
                address,
                status=Status.SUBSCRIBED,
                reason="preview recipient",
                source=Source.CLI,
                now=self._db.clock.now(),
            )
            return ops.require(conn, address)

    def get(self, email: str) -> Subscriber | None:
        """The subscriber with this address (any case, any spacing), if any."""
        with self._db.read() as conn:
            return ops.find(conn, parse_email(email))

    def get_by_id(self, subscriber_id: int) -> Subscriber | None:
        with self._db.read() as conn:
            return ops.find_by_id(conn, subscriber_id)

    def details(self, email: str) -> SubscriberDetails:
        """Status, lists and status history of one address."""
        with self._db.read() as conn:
            return ops.details(conn, parse_email(email))

    # -- erased addresses --------------------------------------------------------------

    def is_erased(self, email: str) -> bool:
        """Whether this address was erased with `forget` (and so is suppressed for good)."""
        with self._db.read() as conn:
            return erasures.is_erased(conn, parse_email(email), self._secret)

    def _erased_unknown(self, conn: Connection, address: str) -> bool:
        return ops.find(conn, address) is None and erasures.is_erased(conn, address, self._secret)

    def _refuse_erased(self, conn: Connection, address: str) -> None:
        if self._erased_unknown(conn, address):
            raise SuppressedError(
                f"{address} was erased on its owner's request; it is suppressed for good",
                hint="an erased address is never stored or mailed again, by import, add or the "
                "sign-up form alike (docs/readers.md)",
            )

    # -- a reader's own choices (the preference page) -----------------------------------

    def active_lists(self, subscriber_id: int) -> set[str]:
        """The lists the subscriber is a current member of."""
        with self._db.read() as conn:
            return prefs.active_lists(conn, subscriber_id)

    def choose_lists(
        self, subscriber_id: int, wanted: set[str], offered: set[str], *, source: Source
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Membership of exactly `wanted` among `offered`; (joined, left). See
        `preferences.choose_lists` (SuppressedError for a suppressed reader joining)."""
        for name in offered:
            check_list_name(name)
        with self._db.write() as conn:
            return prefs.choose_lists(
                conn, subscriber_id, wanted, offered, source=source, now=self._db.clock.now()
            )

    def pause(self, subscriber_id: int, until: datetime | None, *, source: Source) -> Subscriber:
        """No mail before `until` (None: resume now); recorded in the history."""
        with self._db.write() as conn:
            return prefs.pause(conn, subscriber_id, until, source=source, now=self._db.clock.now())

    def request_address_change(
        self, subscriber_id: int, new_email: str, expires_at: datetime, *, source: Source
    ) -> AddressChange:
        """A pending change to `new_email` (AddressError if it is not an address)."""
        address = parse_email(new_email, new=True)
        with self._db.write() as conn:
            return prefs.request_address_change(
                conn,
                subscriber_id,
                address,
                now=self._db.clock.now(),
                expires_at=expires_at,
                source=source,
            )

    def pending_address_change(self, subscriber_id: int) -> AddressChange | None:
        """The subscriber's pending change of address, if any."""
        with self._db.read() as conn:
            return prefs.pending_address_change(conn, subscriber_id)

    def cancel_address_change(self, change_id: int) -> None:
        """Drop a pending change of address (its confirmation could not be sent)."""
        with self._db.write() as conn:
            prefs.cancel_address_change(conn, change_id)

    def find_address_change(self, change_id: int) -> AddressChange | None:
        with self._db.read() as conn:
            return prefs.find_address_change(conn, change_id)

    def confirm_address_change(self, change_id: int, *, source: Source) -> Subscriber | None:
        """Apply a confirmed change of address; None when the request is gone or expired."""
        with self._db.write() as conn:
            return prefs.confirm_address_change(
                conn, change_id, source=source, now=self._db.clock.now()
            )

    # -- access and erasure (GDPR art. 15 and 17) -------------------------------------

    def person_data(self, email: str) -> dict[str, Any]:
        """Everything stored about one address, JSON-ready; SubscriberNotFoundError."""
        with self._db.read() as conn:
            return prefs.person_data(conn, parse_email(email))

    def forget(self, subscriber_id: int, secret: Secret, *, source: Source) -> None:
        """Erase one subscriber's personal data, keeping the keyed hash of the address as
        a suppression (see `preferences.forget`); then, on SQLite, write the change
        through to the file so no old copy of a page keeps the address."""
        with self._db.write() as conn:
            prefs.forget(conn, subscriber_id, secret, source=source, now=self._db.clock.now())
        self._db.checkpoint()

    # -- lists -----------------------------------------------------------------------

    def iter_members(
        self, list_name: str, *, status: Status | None = None, batch_size: int = 1000
    ) -> Iterator[list[Subscriber]]:
        """Current members of a list (of one status, if given), streamed in batches."""
        with self._db.read() as conn:
            yield from lists.iter_batches(conn, check_list_name(list_name), status, batch_size)

    def iter_active_members(
        self, list_name: str, batch_size: int = 1000
    ) -> Iterator[list[Subscriber]]:
        """The members a send goes to (on the list, status subscribed), in batches."""
        return self.iter_members(list_name, status=Status.SUBSCRIBED, batch_size=batch_size)

    def has_active_members(self, list_name: str) -> bool:
        """Whether a send to the list would reach anyone (a member who is subscribed)."""
        with self._db.read() as conn:
            return lists.has_members(conn, check_list_name(list_name), Status.SUBSCRIBED)

    def export_csv(self, list_name: str, out: TextIO, *, status: Status | None) -> int:
        """Write a list's members as CSV to `out`; the number of rows."""
        return lists.write_csv(lambda: self.iter_members(list_name, status=status), out)

    def list_counts(self) -> list[ListCount]:
        with self._db.read() as conn:
            return lists.list_counts(conn)

    def status_counts(self) -> dict[Status, int]:
        with self._db.read() as conn:
            return lists.status_counts(conn)

    # -- tokens ------------------------------------------------------------------------

    def token_for(self, email: str, secret: Secret) -> str:
        """The signed unsubscribe token of a subscriber."""
        with self._db.read() as conn:
            return make_token(ops.require(conn, parse_email(email)).id, secret)

    def subscriber_for_token(self, token: str, secret: Secret) -> Subscriber:
        """The subscriber a token names; TokenError if it is not genuine."""
        found = self.get_by_id(read_token(token, secret))
        if found is None:
            raise SubscriberNotFoundError("this link names a subscriber who is no longer stored")
        return found


def check_list_name(name: str) -> str:
    """A list name as config.yaml allows them; InputError otherwise."""
    if not _LIST_NAME.fullmatch(name):
        raise InputError(
            f"{name!r} is not a valid list name",
            hint="use lower-case letters, digits, '-' and '_', starting with a letter or digit",
        )
    return name


def _clean(value: str, field: str) -> str:
    try:
        return clean_text(value, field)
    except ValueError as err:
        raise InputError(str(err)) from err


def _key(key: str) -> str:
    try:
        return clean_attribute_key(key)
    except ValueError as err:
        raise InputError(str(err)) from err


def _clean_name(name: str) -> str:
    try:
        return check_name(clean_text(name, "name"))
    except ValueError as err:
        raise InputError(str(err)) from err


def _dry(report: ImportReport) -> ImportReport:
    return replace(report, dry_run=True)
