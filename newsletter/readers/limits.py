"""An in-memory sliding-window rate limit, per key (a client IP, an address).

In memory on purpose: it guards one `newsletter serve` process against floods and
needs no write per request. The limit that must survive restarts - at most one
confirmation email per address per hour - is kept in the store instead
(`store.readers.record_signup`). Memory is bounded: at most `max_keys` keys are
remembered, the least recently used forgotten first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque

MAX_KEYS = 100_000


class SlidingWindow:
    """At most `limit` events per key within any `period_seconds`."""

    def __init__(self, limit: int, period_seconds: float, *, max_keys: int = MAX_KEYS) -> None:
        if limit < 1 or period_seconds <= 0:
            raise ValueError("a rate limit needs limit >= 1 and a positive period")
        self.limit = limit
        self.period = period_seconds
        self.max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str, now: float) -> bool:
        """Count one event for `key` at `now` (seconds) if it is within the limit;
        False (nothing counted) when `limit` events of the last period are there."""
        with self._lock:
            events = self._events.pop(key, None) or deque()
            while events and events[0] <= now - self.period:
                events.popleft()
            allowed = len(events) < self.limit
            if allowed:
                events.append(now)
            self._events[key] = events  # most recently used last
            while len(self._events) > self.max_keys:
                self._events.popitem(last=False)
            return allowed

    def retry_after(self, key: str, now: float) -> int:
        """Whole seconds until `key` may have another event (0 if it may now)."""
        with self._lock:
            events = self._events.get(key)
            if not events or len(events) < self.limit:
                return 0
            return max(1, int(events[0] + self.period - now) + 1)
