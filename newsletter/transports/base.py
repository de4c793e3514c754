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
once (as a ConfigError would: either means nothing of the batch was handed
over, and the dispatcher keeps its readers pending), and DeliveryHaltedError,
raised by a transport that cannot go on (the outbox's disk is full): it carries
the results of the batch so far, and the send pauses with its message.

A message that cannot be built (an exception from `mime_bytes`) is FAILED for
its reader only, with the reason; the rest of the batch goes on.

Options a transport cannot honour are refused, never ignored: each transport
declares the SendOptions fields it honours in `supports`, and `send` calls
`check_options` first, which raises UnsupportedFeatureError (an input error,
exit 3) for any other field set away from its default, before anything is sent.
A new SendOptions field is therefore refused by every transport until one
declares it. Abilities beyond `send` are declared by protocols, not probed with
getattr: a transport that can schedule and cancel sends is a `Scheduler`
(`scheduler_of` finds it or says why not).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Final, Literal, Protocol, overload, runtime_checkable

from newsletter.errors import (
    AmbiguousDeliveryError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UnsupportedFeatureError,
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


@dataclass(frozen=True, init=False)
class Result:
    """What happened to one recipient's message."""

    recipient: Recipient
    outcome: Outcome
    provider_id: str | None = None
    error: str | None = None

    def __init__(
        self,
        recipient: Recipient,
        outcome: Outcome,
        provider_id: str | None = None,
        error: str | None = None,
    ) -> None:
        # Not the frozen dataclass's __init__ (object.__setattr__ per field, four times
        # the cost): one Result per reader, a million per large send.
        fields = self.__dict__
        fields["recipient"] = recipient
        fields["outcome"] = outcome
        fields["provider_id"] = provider_id
        fields["error"] = error


@dataclass(frozen=True)
class SendOptions:
    """Per-send settings a transport may support; a transport refuses (with
    UnsupportedFeatureError) every field set away from its default that it does not
    list in its `supports`."""

    send_at: int | None = None  # epoch seconds (SendGrid scheduling, at most 72 h ahead)
    batch_id: str | None = None  # SendGrid batch, to cancel a scheduled send
    preview: bool = False  # an editors' preview: marked, and sendable again and again


class Transport(Protocol):
    """Delivers batches of personal messages of one issue."""

    name: str
    max_batch: int  # messages per `send` call, at most
    # Concurrent `send` calls it can carry: the dispatcher claims no more batches at once
    # (the outbox writes one batch at a time: 1; SMTP and SendGrid: UNLIMITED).
    max_in_flight: int
    # The SendOptions field names it honours; `send` refuses the others (check_options).
    supports: frozenset[str]

    def send(self, messages: Sequence[PersonalMessage], options: SendOptions) -> Sequence[Result]:
        """Deliver `messages`; one Result per message, in the same order."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


@runtime_checkable
class Scheduler(Protocol):
    """A transport that can schedule a send for later and cancel it before it leaves
    (SendGrid: `send_at` with a `batch_id`, cancelled through the batch)."""

    def create_batch(self) -> str:
        """A new batch id, to pass as SendOptions.batch_id with send_at."""
        ...

    def cancel_scheduled(self, batch_id: str) -> None:
        """Cancel every message scheduled under `batch_id` that has not gone out."""
        ...


@runtime_checkable
class Preparer(Protocol):
    """A transport whose `send` splits into building (CPU, no I/O) and posting.

    `prepare(messages, options)` does everything `send` does before anything leaves
    (checking the options, building the request) and raises what `send` would raise
    there; the callable it returns posts and answers exactly as `send` would, so
    `send(m, o) == prepare(m, o)()`. The dispatcher builds on its own thread and
    posts on the sending threads: with the GIL, CPU work on several threads only
    queues for it, and a thread that wants it back after each SQLite step or socket
    read waits up to a switch interval (5 ms) behind a builder, batch after batch."""

    def prepare(
        self, messages: Sequence[PersonalMessage], options: SendOptions
    ) -> Callable[[], Sequence[Result]]:
        """The built batch, ready to post: call it to send."""
        ...


# What each option asks of a transport, in the words of the refusal.
_ASKS = {
    "send_at": "schedule a send (send_at)",
    "batch_id": "group a send under a batch id (batch_id)",
    "preview": "send a preview (preview)",
}


def requested_options(options: SendOptions) -> list[str]:
    """The names of the fields of `options` set away from their defaults, in order."""
    return [f.name for f in fields(options) if getattr(options, f.name) != f.default]


def check_options(transport: Transport, options: SendOptions) -> None:
    """Refuse options `transport` cannot honour: UnsupportedFeatureError (exit 3)
    naming the transport and each option, before anything is sent. Every transport's
    `send` calls this first; the dispatcher calls it before claiming anyone."""
    refused = [name for name in requested_options(options) if name not in transport.supports]
    if refused:
        asks = " or ".join(_ASKS.get(name, f"honour the option {name}") for name in refused)
        raise UnsupportedFeatureError(
            f"the {transport.name} transport cannot {asks}",
            hint="scheduling needs the sendgrid transport" if "send_at" in refused else None,
        )


def scheduler_of(
    transport: Transport, purpose: Literal["schedule", "cancel"] = "schedule"
) -> Scheduler:
    """`transport` as a Scheduler, or UnsupportedFeatureError (exit 3) saying it cannot
    `purpose`: schedule a send (`--at`) or cancel a scheduled one."""
    if isinstance(transport, Scheduler):
        return transport
    if purpose == "cancel":
        raise UnsupportedFeatureError(f"the {transport.name} transport cannot cancel sends")
    raise UnsupportedFeatureError(
        f"--at needs the sendgrid transport; {transport.name} cannot schedule a send"
    )


class SameResults(Sequence[Result]):
    """Results that are all alike (one request, one answer), one per message in order,
    which also say so (`outcome`, `provider_id`, `error`): the dispatcher records such a
    batch without reading a thousand results, and each Result is made only when read.
    Equal to a list of the same results."""

    def __init__(
        self,
        messages: Sequence[PersonalMessage],
        outcome: Outcome,
        provider_id: str | None,
        error: str | None,
    ) -> None:
        self.messages = messages
        self.outcome = outcome
        self.provider_id = provider_id
        self.error = error

    def __len__(self) -> int:
        return len(self.messages)

    @overload
    def __getitem__(self, index: int) -> Result: ...

    @overload
    def __getitem__(self, index: slice) -> list[Result]: ...

    def __getitem__(self, index: int | slice) -> Result | list[Result]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        message = self.messages[index]
        return Result(message.recipient, self.outcome, self.provider_id, self.error)

    def __iter__(self) -> Iterator[Result]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # a mutable-looking sequence, like list

    def __repr__(self) -> str:
        return f"SameResults({list(self)!r})"


def all_results(
    messages: Sequence[PersonalMessage],
    outcome: Outcome,
    *,
    provider_id: str | None = None,
    error: str | None = None,
) -> Sequence[Result]:
    """The same outcome for every message of a batch (one request, one answer), as
    SameResults."""
    return SameResults(messages, outcome, provider_id, error)


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
