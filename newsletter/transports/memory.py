"""An in-memory transport for tests (ours and users'): records what would be sent.

`outcomes` scripts what each call returns, to rehearse failures: a callable
given the call number (1-based) and the batch, returning one Outcome for the
whole batch, or None for "accepted".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from newsletter.message import PersonalMessage
from newsletter.transports.base import Outcome, Result, SendOptions

Script = Callable[[int, Sequence[PersonalMessage]], Outcome | None]


class MemoryTransport:
    """Keeps every message it accepts (or might have: ambiguous ones too) in `sent`."""

    name = "memory"

    def __init__(self, max_batch: int = 1000, outcomes: Script | None = None) -> None:
        self.max_batch = max_batch
        self.script = outcomes
        self.sent: list[PersonalMessage] = []  # what reached the "provider"
        self.calls = 0
        self._lock = threading.Lock()

    def send(self, messages: Sequence[PersonalMessage], options: SendOptions) -> list[Result]:
        with self._lock:
            self.calls += 1
            call = self.calls
        outcome = (self.script(call, messages) if self.script else None) or Outcome.ACCEPTED
        if outcome in (Outcome.ACCEPTED, Outcome.AMBIGUOUS):
            # An ambiguous batch models "it arrived, the answer was lost".
            with self._lock:
                self.sent.extend(messages)
        provider_id = f"mem-{call}" if outcome is Outcome.ACCEPTED else None
        error = None if outcome is Outcome.ACCEPTED else f"scripted {outcome.value}"
        return [Result(m.recipient, outcome, provider_id, error) for m in messages]

    def close(self) -> None:
        return None

    def recipients(self) -> list[str]:
        with self._lock:
            return [m.recipient.email for m in self.sent]
