"""The pacer: a messages-per-second limit and a shared pause after a 429."""

from __future__ import annotations

from newsletter.transports.pacing import Pacer


class FakeClock:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_unlimited_never_waits() -> None:
    """Without a rate, requests go at once."""
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    for _ in range(5):
        pacer.acquire(1000)
    assert clock.slept == []


def test_rate_spaces_requests_by_their_size() -> None:
    """At 500 messages/s, batches of 1000 go out two seconds apart."""
    clock = FakeClock()
    pacer = Pacer(500, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        pacer.acquire(1000)
    assert clock.slept == [2.0, 2.0]


def test_hold_pauses_every_caller() -> None:
    """After a 429 asks for 5 s, the next request (from any thread) waits 5 s."""
    clock = FakeClock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    pacer.hold(5)
    pacer.acquire(1)
    assert clock.slept == [5.0]
    assert pacer.held_seconds == 5.0
