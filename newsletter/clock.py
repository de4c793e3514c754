"""The current time, as one object passed to whatever reads it.

Everything that stores or compares a moment asks a `Clock` rather than calling
`datetime.now` itself, so one run sees one source of time and a test can set it:
`Store.open(..., clock=FixedClock(...))`. Every time a clock gives is aware and
in UTC, the zone the store keeps (docs/subscribers.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the time: `now()` is an aware datetime in UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until told otherwise: for tests.

    `at` must be aware (ValueError otherwise: a naive time has no zone to convert
    from); it is kept in UTC."""

    def __init__(self, at: datetime) -> None:
        self._at = _utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        """From now on the time is `at` (aware)."""
        self._at = _utc(at)

    def advance(self, by: timedelta) -> None:
        """Move the time on by `by`."""
        self._at += by


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"a clock's time must be timezone-aware, got {at.isoformat()}")
    return at.astimezone(UTC)
