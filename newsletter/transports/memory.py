"""An in-memory transport for tests (ours and users'): records what would be sent.

It keeps the transport contract (newsletter.transports.base) exactly, so a test
of code that sends can rehearse every outcome a real provider gives without a
network:

- accepted: the default; each accepted batch's results carry the id `mem-N`
  (N: the 1-based number of the `send` call);
- failed, deferred, ambiguous for one reader: `answer(email, outcome, error)`
  scripts what every later message to that address gets (as SendGrid's 400
  naming one personalization, an SMTP 550 or 451, or a lost answer to DATA);
  `forget(email)` lifts it;
- failed, deferred, ambiguous for a whole batch: `outcomes`, a callable given
  the call number (1-based) and the batch, returning one Outcome for the batch
  (as a SendGrid 400, 429/5xx, or a cut connection), or None for "accepted";
- refused options: it honours `preview` only; `send_at` and `batch_id` raise
  UnsupportedFeatureError, as the outbox and SMTP do (it is not a Scheduler).

What "arrived" is kept in `sent` (accepted and ambiguous messages alike: an
ambiguous one models "it arrived, the answer was lost"); failed and deferred
ones are not. The error of a scripted result is the `error` given, else
"scripted <outcome>".

With `build=True` it builds each message's complete MIME (`mime_bytes`) as the
outbox and SMTP do, so a message that cannot be built fails here exactly as it
would there: FAILED for that reader, the rest of the batch unaffected (off by
default: building costs milliseconds per message, and most tests only need the
ledger's side); the bytes are kept in `raw`. Safe for any number of threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from newsletter.message import PersonalMessage
from newsletter.message.mime import mime_bytes
from newsletter.transports.base import (
    UNLIMITED,
    Outcome,
    Result,
    SendOptions,
    check_options,
    unbuildable,
)

Script = Callable[[int, Sequence[PersonalMessage]], Outcome | None]


class MemoryTransport:
    """Keeps every message it accepts (or might have: ambiguous ones too) in `sent`,
    and, with `build=True`, their MIME bytes in `raw`, in the same order."""

    name = "memory"
    supports = frozenset({"preview"})

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
        self.answers: dict[str, tuple[Outcome, str]] = {}  # lower-cased address → scripted
        self._lock = threading.Lock()

    def answer(self, email: str, outcome: Outcome, error: str | None = None) -> None:
        """From now on every message to `email` gets `outcome` (with `error`, else
        "scripted <outcome>"), whatever the batch's own outcome."""
        with self._lock:
            self.answers[email.lower()] = (outcome, error or f"scripted {outcome.value}")

    def forget(self, email: str) -> None:
        """Undo `answer` for `email`: its messages are treated like the others again."""
        with self._lock:
            self.answers.pop(email.lower(), None)

    def send(self, messages: Sequence[PersonalMessage], options: SendOptions) -> list[Result]:
        """One Result per message, in order; UnsupportedFeatureError for send_at or
        batch_id (check_options), before anything is recorded."""
        check_options(self, options)
        with self._lock:
            self.calls += 1
            call = self.calls
            answers = dict(self.answers)
        built: dict[int, bytes] = {}
        results: dict[int, Result] = {}
        for index, message in enumerate(messages):
            try:
                built[index] = mime_bytes(message) if self.build else b""
            except Exception as err:  # this reader only: the others go on
                results[index] = Result(message.recipient, Outcome.FAILED, error=unbuildable(err))
        batch = (self.script(call, messages) if self.script else None) or Outcome.ACCEPTED
        for index in built:
            recipient = messages[index].recipient
            outcome, error = answers.get(recipient.email.lower(), (batch, None))
            if error is None and outcome is not Outcome.ACCEPTED:
                error = f"scripted {outcome.value}"
            provider_id = f"mem-{call}" if outcome is Outcome.ACCEPTED else None
            results[index] = Result(recipient, outcome, provider_id, error)
        arrived = [i for i in built if results[i].outcome in (Outcome.ACCEPTED, Outcome.AMBIGUOUS)]
        with self._lock:
            self.sent.extend(messages[i] for i in arrived)
            self.raw.extend(built[i] for i in arrived if self.build)
        return [results[index] for index in range(len(messages))]

    def close(self) -> None:
        return None

    def recipients(self) -> list[str]:
        with self._lock:
            return [m.recipient.email for m in self.sent]
