"""The run lock: one run at a time sends an issue to a list.

A row in the ``locks`` table names the lock and its holder (host, pid, a unique
tag); the holder refreshes its heartbeat with every batch it claims. A lock
whose holder died on this host, or whose heartbeat is older than
`STALE_LOCK_AFTER`, is taken over; the run that lost it stops at its next batch
(LockedError) instead of sending beside the new holder. See docs/dispatch.md.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from newsletter.errors import LockedError
from newsletter.store.database import Database
from newsletter.store.schema import locks

STALE_LOCK_AFTER = timedelta(minutes=15)


@dataclass(frozen=True)
class LockHolder:
    holder: str
    host: str
    pid: int


def this_process(tag: str) -> LockHolder:
    """A holder identity unique to this acquisition: two runs in one process differ too."""
    host = socket.gethostname()
    unique = uuid.uuid4().hex[:8]
    return LockHolder(holder=f"{tag}@{host}:{os.getpid()}:{unique}", host=host, pid=os.getpid())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _insert_ignore(conn: Connection) -> Any:
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    return dialect.insert(locks)


def acquire_lock(
    conn: Connection, name: str, me: LockHolder, now: datetime, stale_after: timedelta
) -> None:
    """Take the named lock or raise LockedError. A lock whose holder died on this host,
    or whose heartbeat is older than `stale_after`, is taken over."""
    values = {
        "name": name,
        "holder": me.holder,
        "host": me.host,
        "pid": me.pid,
        "acquired_at": now,
        "heartbeat_at": now,
    }
    inserted = conn.execute(_insert_ignore(conn).values(**values).on_conflict_do_nothing())
    if inserted.rowcount == 1:
        return
    held = conn.execute(select(locks).where(locks.c.name == name)).one()
    dead = held.host == me.host and not _alive(held.pid)
    stale = held.heartbeat_at < now - stale_after
    if held.holder != me.holder and not (dead or stale):
        raise LockedError(
            f"another run is already sending ({held.holder}, since "
            f"{held.acquired_at:%Y-%m-%d %H:%M} UTC, last seen {held.heartbeat_at:%H:%M:%S} UTC)",
            hint="wait for it to finish; `newsletter status` shows its progress",
        )
    taken = conn.execute(
        update(locks)
        .where(and_(locks.c.name == name, locks.c.holder == held.holder))
        .values(**values)
    )
    if taken.rowcount != 1:
        raise LockedError(f"another run took the lock {name!r} at the same moment")


def heartbeat(conn: Connection, name: str, me: LockHolder, now: datetime) -> bool:
    """Refresh our lock; False if it is no longer ours (taken over as stale)."""
    result = conn.execute(
        update(locks)
        .where(locks.c.name == name, locks.c.holder == me.holder)
        .values(heartbeat_at=now)
    )
    return result.rowcount == 1


def release_lock(conn: Connection, name: str, me: LockHolder) -> None:
    conn.execute(delete(locks).where(locks.c.name == name, locks.c.holder == me.holder))


class SendLock:
    """The send lock as one run holds it: taken and released by `hold`, checked by
    `check` inside every transaction that claims a batch."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._held: tuple[str, LockHolder] | None = None

    @contextmanager
    def hold(self, issue_id: str, list_name: str) -> Iterator[None]:
        """Hold the lock on sending this issue to this list, or raise LockedError."""
        name = f"send:{issue_id}:{list_name}"
        me = this_process("newsletter")
        with self._db.write() as conn:
            acquire_lock(conn, name, me, self._db.clock.now(), STALE_LOCK_AFTER)
        self._held = (name, me)
        try:
            yield
        finally:
            self._held = None
            with self._db.write() as conn:
                release_lock(conn, name, me)

    def check(self, conn: Connection) -> None:
        """Refresh the heartbeat of the lock held, if any; LockedError if it was taken over."""
        if self._held is None:
            return
        name, me = self._held
        if not heartbeat(conn, name, me, self._db.clock.now()):
            raise LockedError(
                "this run lost its lock (another run took it over as stale); stopping",
                hint="`newsletter status` shows where the send stands",
            )
