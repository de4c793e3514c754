"""The states of a send and of one delivery, spelled in one place.

Stored in the database as these exact strings (the ``sends.state`` and
``deliveries.state`` columns and their CHECK constraints); a StrEnum compares
equal to its string, so a value read back matches its member.
See docs/dispatch.md for what moves a send or a delivery from one state to another.
"""

from __future__ import annotations

from enum import StrEnum


class SendState(StrEnum):
    """Where one send of an issue to a list stands."""

    RUNNING = "running"  # recipients are being sent to (or the run stopped mid-way)
    PAUSED = "paused"  # stopped after too many failures; `newsletter retry` resumes it
    FINISHED = "finished"  # every recipient has an outcome
    CANCELLED = "cancelled"  # a scheduled send was cancelled at the provider


class DeliveryState(StrEnum):
    """Where one recipient of a send stands."""

    PENDING = "pending"  # not sent yet (or deferred: to try again)
    SENDING = "sending"  # claimed and committed before its request went out
    ACCEPTED = "accepted"  # the provider took it
    FAILED = "failed"  # the provider refused it
    AMBIGUOUS = "ambiguous"  # the answer was lost: it may or may not have gone out
