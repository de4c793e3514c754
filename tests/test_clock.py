"""The clock: aware UTC times only, and a fixed clock that tests can set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from newsletter.clock import Clock, FixedClock, SystemClock


def test_system_clock_is_aware_utc() -> None:
    """The system clock gives an aware datetime in UTC (the zone the store keeps)."""
    now = SystemClock().now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)


def test_fixed_clock_keeps_utc_and_moves_only_when_told() -> None:
    """A fixed clock converts its time to UTC, stands still, and moves by set/advance."""
    almaty = timezone(timedelta(hours=5))
    clock: Clock = FixedClock(datetime(2025, 9, 12, 14, 0, tzinfo=almaty))
    assert clock.now() == datetime(2025, 9, 12, 9, 0, tzinfo=UTC)
    assert clock.now().tzinfo == UTC
    assert clock.now() == clock.now()
    assert isinstance(clock, FixedClock)
    clock.advance(timedelta(minutes=5))
    assert clock.now() == datetime(2025, 9, 12, 9, 5, tzinfo=UTC)
    clock.set(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)


def test_fixed_clock_refuses_a_naive_time() -> None:
    """A naive datetime has no zone to convert from: ValueError, not a silent guess."""
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2025, 9, 12, 9, 0))
    clock = FixedClock(datetime(2025, 9, 12, tzinfo=UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2025, 9, 13))
