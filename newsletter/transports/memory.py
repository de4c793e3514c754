"""An in-memory transport for tests (ours and users'): records what would be sent.

With `build=True` it builds each message's complete MIME (`mime_bytes`) as the
outbox and SMTP do, so a message that cannot be built fails here exactly as it
would there: FAILED for that reader, the rest of the batch unaffected (off by
default: building costs milliseconds per message, and most tests only need the
ledger's side). Safe for any number of threads.

`outcomes` scripts what each call returns, to rehearse failures: a callable
given the call number (1-based) and the batch, returning one Outcome for the
whole batch, or None for "accepted".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from newsletter.message import PersonalMessage
from newsletter.message.mime import mime_bytes
from newsletter.transports.base import UNLIMITED, Outcome, Result, SendOptions, unbuildable

Script = Callable[[int, Sequence[PersonalMessage]], Outcome | None]


class MemoryTransport:
    """Keeps every message it accepts (or might have: ambiguous ones too) in `sent`,
    and, with `build=True`, their MIME bytes in `raw`, in the same order."""

    name = "memory"

    def __init__(
        self,
        max_batch: int = 1000,
        outcomes: Script | None = None,
        *,
        max_in_flight: int = UNLIMITED,
        build: bool = False,
    ) -> None:
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self.script = outcomes
        self.build = build
        self.sent: list[PersonalMessage] = []  # what reached the "provider"
        self.raw: list[bytes] = []  # mime_bytes of each message in `sent`
        self.calls = 0
        self._lock = threading.Lock()

    def send(self, messages: Sequence[PersonalMessage], options: SendOptions) -> list[Result]:
        with self._lock:
            self.calls += 1
            call = self.calls
        built: dict[int, bytes] = {}
        results: dict[int, Result] = {}
        for index, message in enumerate(messages):
            try:
                built[index] = mime_bytes(message) if self.build else b""
            except Exception as err:  # this reader only: the others go on
                results[index] = Result(message.recipient, Outcome.FAILED, error=unbuildable(err))
        outcome = (self.script(call, messages) if self.script else None) or Outcome.ACCEPTED
        if outcome in (Outcome.ACCEPTED, Outcome.AMBIGUOUS):
            # An ambiguous batch models "it arrived, the answer was lost".
            with self._lock:
                self.sent.extend(messages[i] for i in built)
                self.raw.extend(built.values() if self.build else ())
        provider_id = f"mem-{call}" if outcome is Outcome.ACCEPTED else None
        error = None if outcome is Outcome.ACCEPTED else f"scripted {outcome.value}"
        for index in built:
            results[index] = Result(messages[index].recipient, outcome, provider_id, error)
        return [results[index] for index in range(len(messages))]

    def close(self) -> None:
        return None

    def recipients(self) -> list[str]:
        with self._lock:
            return [m.recipient.email for m in self.sent]
