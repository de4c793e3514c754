"""Send and delivery states: one spelling, the strings the database stores."""

from __future__ import annotations

from newsletter.states import DeliveryState, SendState


def test_states_are_the_stored_strings() -> None:
    """Each state equals the exact string stored in sends.state / deliveries.state, so
    rows written before the enums read back as members and print as before."""
    assert [s.value for s in SendState] == ["running", "paused", "finished", "cancelled"]
    assert [s.value for s in DeliveryState] == [
        "pending",
        "sending",
        "accepted",
        "failed",
        "ambiguous",
    ]
    assert SendState("finished") is SendState.FINISHED
    assert DeliveryState.AMBIGUOUS == "ambiguous"
    assert f"{DeliveryState.FAILED} {SendState.PAUSED}" == "failed paused"
