"""The shared parts of every transport (newsletter/transports/base.py): options are
refused the same way everywhere, and scheduling is an ability declared by a protocol."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from newsletter.errors import UnsupportedFeatureError
from newsletter.transports import Outcome, Scheduler, SendOptions, check_options, scheduler_of
from newsletter.transports.base import requested_options
from newsletter.transports.memory import MemoryTransport
from tests.delivery_support import personal_messages


@dataclass(frozen=True)
class FutureOptions(SendOptions):
    """SendOptions as a later version might grow it: a field no transport declares yet."""

    ip_pool: str | None = None


def test_a_new_option_is_refused_until_a_transport_declares_it() -> None:
    """check_options works on the fields of SendOptions, not on a list of known names:
    a field set away from its default that the transport does not list in `supports`
    is refused by name, so a new option can never be ignored silently."""
    memory = MemoryTransport()
    assert requested_options(FutureOptions(ip_pool="marketing")) == ["ip_pool"]
    with pytest.raises(UnsupportedFeatureError) as refused:
        check_options(memory, FutureOptions(ip_pool="marketing"))
    assert refused.value.message == "the memory transport cannot honour the option ip_pool"
    assert refused.value.exit_code == 3
    check_options(memory, FutureOptions())  # left at its default: nothing asked
    memory.supports = frozenset({"preview", "ip_pool"})
    check_options(memory, FutureOptions(ip_pool="marketing"))


def test_every_refused_option_is_named_at_once() -> None:
    """send_at and batch_id together are refused in one error naming both, with a hint
    pointing at the transport that can schedule."""
    with pytest.raises(UnsupportedFeatureError) as refused:
        check_options(MemoryTransport(), SendOptions(send_at=1, batch_id="b"))
    assert refused.value.lines() == [
        "the memory transport cannot schedule a send (send_at) or group a send under a "
        "batch id (batch_id)",
        "hint: scheduling needs the sendgrid transport",
    ]


def test_the_memory_transport_refuses_send_at_instead_of_ignoring_it() -> None:
    """The in-memory transport used to accept send_at and "send" at once; it now refuses
    it as the outbox and SMTP do, recording nothing."""
    memory = MemoryTransport()
    with pytest.raises(UnsupportedFeatureError, match="cannot schedule a send"):
        memory.send(personal_messages(2), SendOptions(send_at=1_900_000_000))
    assert (memory.sent, memory.calls) == ([], 0)


def test_the_memory_transport_scripts_one_readers_outcome() -> None:
    """`answer` scripts one reader's outcome (with the given words) whatever the batch's:
    failed and deferred readers are not recorded as sent, ambiguous ones are (their
    message arrived, the answer was lost); `forget` lifts it."""
    memory = MemoryTransport()
    one, two, three = personal_messages(3)
    memory.answer(two.recipient.email, Outcome.FAILED, "550 5.1.1 No such user")
    memory.answer(three.recipient.email, Outcome.AMBIGUOUS)
    results = memory.send([one, two, three], SendOptions())
    assert [(r.outcome, r.error) for r in results] == [
        (Outcome.ACCEPTED, None),
        (Outcome.FAILED, "550 5.1.1 No such user"),
        (Outcome.AMBIGUOUS, "scripted ambiguous"),
    ]
    assert memory.recipients() == [one.recipient.email, three.recipient.email]
    memory.forget(two.recipient.email)
    assert memory.send([two], SendOptions())[0].outcome is Outcome.ACCEPTED


def test_only_a_scheduler_is_found_by_scheduler_of() -> None:
    """Scheduling is a declared ability: an object with create_batch and
    cancel_scheduled is a Scheduler (runtime-checkable protocol) and scheduler_of
    returns it; the memory transport is not one."""

    class Scheduling(MemoryTransport):
        def create_batch(self) -> str:
            return "batch-1"

        def cancel_scheduled(self, batch_id: str) -> None:
            return None

    scheduling = Scheduling()
    assert isinstance(scheduling, Scheduler)
    assert scheduler_of(scheduling) is scheduling
    assert scheduler_of(scheduling, "cancel").create_batch() == "batch-1"
    assert not isinstance(MemoryTransport(), Scheduler)
