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

Only AuthenticationError escapes `send`: it stops everything at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from newsletter.errors import (
    AmbiguousDeliveryError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from newsletter.message import PersonalMessage, Recipient

# The delivery errors a transport turns into outcomes; AuthenticationError is not one.
OUTCOME_ERRORS = (PermanentDeliveryError, TransientDeliveryError, AmbiguousDeliveryError)


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
    max_batch: int

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


def outcome_of(error: DeliveryError) -> Outcome:
    """What a classified delivery error means for the messages it concerned."""
    if isinstance(error, AmbiguousDeliveryError):
        return Outcome.AMBIGUOUS
    if isinstance(error, TransientDeliveryError):
        return Outcome.DEFERRED
    return Outcome.FAILED
