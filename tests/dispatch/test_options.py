"""The dispatcher refuses a send option its transport cannot honour before claiming
anyone (newsletter.transports.base.check_options)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newsletter.dispatch.engine import SendRequest
from newsletter.errors import UnsupportedFeatureError
from newsletter.transports.memory import MemoryTransport
from tests.dispatch.support import World


def test_a_scheduled_send_through_a_transport_that_cannot_schedule_claims_nobody(
    world: World,
) -> None:
    """A send recorded with send_at and a batch id (as SendGrid schedules it) run
    through a transport that cannot schedule stops with UnsupportedFeatureError
    (exit 3) before any batch is claimed: every reader stays pending, nothing is
    handed to the transport (before, the memory transport sent at once, ignoring
    send_at, and outbox or SMTP failed every reader with a delivery error)."""
    world.subscribe(30)
    memory = MemoryTransport()
    when = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    request = SendRequest(world.issue, "weekly", "memory", send_at=when, batch_id="b1")
    with pytest.raises(UnsupportedFeatureError, match="the memory transport cannot schedule"):
        world.dispatcher(memory).send(request)
    assert memory.calls == 0
    record = world.store.sends.find_send(world.issue.issue_id, "weekly")
    assert record is not None
    assert world.store.sends.send_counts(record.id) == {"pending": 30}
