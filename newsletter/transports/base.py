"""The one small interface every transport implements, and what a send returns.

A transport takes a batch of personal messages and reports, per recipient, one
of four outcomes. The dispatcher's ledger is built on these meanings, so every
transport must keep them exactly:

- ACCEPTED: the provider took the message (with its id when it gives one).
- FAILED: refused for good; sending the same again would fail the same way.
- DEFERRED: not sent, and provably not accepted (429, 5xx, no connection):
  safe to send again later.
- AMBIGUOUS: the request left but no answer came back; it may have been
  accepted. Never resent without a human asking for it.

Only two errors escape `send`: AuthenticationError, which stops everything at
once, and DeliveryHaltedError, raised by a transport that cannot go on (the
outbox's disk is full): it carries the results of the batch so far, and the
send pauses with its message.

A message that cannot be built (an exception from `mime_bytes`) is FAILED for
its reader only, with the reason; the rest of the batch goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol

from newsletter.errors import (
    AmbiguousDeliveryError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from newsletter.message import PersonalMessage, Recipient

# The delivery errors a transport turns into outcomes; AuthenticationError is not one.
OUTCOME_ERRORS = (PermanentDeliveryError, TransientDeliveryError, AmbiguousDeliveryError)
# `max_in_flight` of a transport that any number of concurrent `send` calls may use.
UNLIMITED: Final = 1 << 30


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    FAILED = "failed"
    DEFERRED = "deferred"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class Result:
    """What happened to one recipient's message."""

    recipient: Recipient
    outcome: Outcome
    provider_id: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class SendOptions:
    """Per-send settings a transport may support; unsupported ones are refused."""

    send_at: int | None = None  # epoch seconds (SendGrid scheduling)
    batch_id: str | None = None  # SendGrid batch, to cancel a scheduled send
    preview: bool = False


class Transport(Protocol):
    """Delivers batches of personal messages of one issue."""

    name: str
    max_batch: int  # messages per `send` call, at most
    # Concurrent `send` calls it can carry: the dispatcher claims no more batches at once
    # (the outbox writes one batch at a time: 1; SMTP and SendGrid: UNLIMITED).
    max_in_flight: int

    def send(self, messages: Sequence[PersonalMessage], options: SendOptions) -> list[Result]:
        """Deliver `messages`; one Result per message, in the same order."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


def all_results(
    messages: Sequence[PersonalMessage],
    outcome: Outcome,
    *,
    provider_id: str | None = None,
    error: str | None = None,
) -> list[Result]:
    """The same outcome for every message of a batch (one request, one answer)."""
    return [Result(m.recipient, outcome, provider_id, error) for m in messages]


def unbuildable(error: Exception) -> str:
    """The reason recorded for a reader whose message could not be built."""
    return f"the message could not be built: {type(error).__name__}: {error}"


def outcome_of(error: DeliveryError) -> Outcome:
    """What a classified delivery error means for the messages it concerned."""
    if isinstance(error, AmbiguousDeliveryError):
        return Outcome.AMBIGUOUS
    if isinstance(error, TransientDeliveryError):
        return Outcome.DEFERRED
    return Outcome.FAILED
