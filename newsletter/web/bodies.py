"""Reading request bodies into memory: capped per request, bounded across requests.

Only the webhook reads a body (SendGrid's event batches). It is read only after
the request's headers passed every check that needs no body (newsletter.web.webhook),
into one buffer:

- a declared `Content-Length` over the cap is refused (413) before a byte is read;
  with a Content-Length the buffer is allocated once, at that size, and a body that
  runs past it is refused (400);
- a streamed body (no Content-Length) stops being read at the cap (413);
- all bodies being held at once share a budget of bytes: a body that does not fit
  is refused with 503 and Retry-After (SendGrid retries), so concurrent large
  posts cannot take the server's memory beyond the budget;
- a body must arrive within `read_seconds` (408), so slow senders cannot keep a
  share of the budget for long;
- a client that hangs up before its body is complete is a refusal like the others
  (400, answered to nobody), not an unhandled exception with a traceback in the log.

The budget is counted in the event loop only (no await between a check and its
update), so it needs no lock. A reservation gives its bytes back when the request
is answered, after its events were applied, not when reading ends.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request

MAX_BODY_BYTES = 32 * 1024 * 1024  # 20,000 events (the parser's cap) of a generous size
BUDGET_BYTES = 2 * MAX_BODY_BYTES  # bodies held at once, across all requests
READ_SECONDS = 60.0  # 32 MB at 0.5 MB/s
RETRY_AFTER_SECONDS = 10
_LENGTH = re.compile(r"[0-9]{1,15}")


@dataclass(frozen=True)
class Refusal:
    """Why a body was not (wholly) read: the HTTP status, a message, and Retry-After."""

    status: int
    error: str
    retry_after: int | None = None


class _Reservation:
    """The share of the budget one request holds while its body is in memory."""

    def __init__(self, limits: BodyLimits) -> None:
        self.limits = limits
        self.taken = 0

    def take(self, size: int) -> bool:
        if self.limits.used + size > self.limits.budget:
            return False
        self.limits.used += size
        self.taken += size
        return True

    def release(self) -> None:
        self.limits.used -= self.taken
        self.taken = 0

    async def read(self, request: Request) -> bytearray | Refusal:
        """The whole body, or why it was refused (see the module doc)."""
        try:
            async with asyncio.timeout(self.limits.read_seconds):
                return await self._read(request)
        except TimeoutError:
            return Refusal(408, "request body not received in time")
        except ClientDisconnect:
            return Refusal(400, "the client closed the connection before its body was complete")

    async def _read(self, request: Request) -> bytearray | Refusal:
        declared = request.headers.get("content-length")
        if declared is None:
            return await self._read_streamed(request)
        if not _LENGTH.fullmatch(declared):
            return Refusal(400, "malformed Content-Length")
        size = int(declared)
        if size > self.limits.max_bytes:
            return Refusal(413, "request body too large")
        if not self.take(size):
            return self.limits.busy()
        buffer, filled = bytearray(size), 0
        async for chunk in request.stream():
            end = filled + len(chunk)
            if end > size:
                return Refusal(400, "request body longer than its Content-Length")
            buffer[filled:end] = chunk
            filled = end
        if filled != size:
            return Refusal(400, "request body shorter than its Content-Length")
        return buffer

    async def _read_streamed(self, request: Request) -> bytearray | Refusal:
        buffer = bytearray()
        async for chunk in request.stream():
            if len(buffer) + len(chunk) > self.limits.max_bytes:
                return Refusal(413, "request body too large")
            if not self.take(len(chunk)):
                return self.limits.busy()
            buffer += chunk
        return buffer


class BodyLimits:
    """The per-request cap and the shared budget of the app's request bodies."""

    def __init__(
        self,
        max_bytes: int = MAX_BODY_BYTES,
        budget: int = BUDGET_BYTES,
        read_seconds: float = READ_SECONDS,
    ) -> None:
        self.max_bytes = max_bytes
        self.budget = max(budget, max_bytes)  # one body of the largest size always fits
        self.read_seconds = read_seconds
        self.used = 0

    def busy(self) -> Refusal:
        return Refusal(503, "too many large requests at once; retry later", RETRY_AFTER_SECONDS)

    @contextmanager
    def reservation(self) -> Iterator[_Reservation]:
        """A share of the budget for one request, given back on exit whatever happens."""
        reservation = _Reservation(self)
        try:
            yield reservation
        finally:
            reservation.release()
