"""Pacing shared by every request of a send: a messages-per-second limit, and a
pause for everyone when the provider says "too many requests".

One Pacer is shared by all worker threads of a send, so a 429 answered to one
request slows the whole send down instead of each thread hammering on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Pacer:
    """Hands out send slots: at most `rate` messages per second (None: unlimited)."""

    def __init__(
        self,
        rate: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0  # when the next slot opens
        self.held_seconds = 0.0  # total time the provider made us wait (for reports)

    def acquire(self, messages: int = 1) -> None:
        """Wait for this request's turn; reserve room for `messages` messages."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            spacing = messages / self.rate if self.rate else 0.0
            self._next = start + spacing
        if start > now:
            self._sleep(start - now)

    def hold(self, seconds: float) -> None:
        """Nobody sends for `seconds` (a 429's Retry-After)."""
        with self._lock:
            until = self._clock() + max(seconds, 0.0)
            if until > self._next:
                self.held_seconds += until - max(self._next, self._clock())
                self._next = until
