"""The current time, injected where it is read (a minimal Clock; part A of issue 11 owns
the full module and the lead reconciles the two)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    """Where the time comes from: `now()` is an aware datetime in UTC."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class FixedClock:
    """Always the same instant (tests)."""

    at: dt.datetime

    def now(self) -> dt.datetime:
        return self.at
