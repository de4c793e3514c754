"""One answer for a whole batch: all_results is a plain list of equal results that also
says it is uniform, and the dispatcher records it as one group."""

from __future__ import annotations

from newsletter.transports import Outcome, Result
from newsletter.transports.base import SameResults, all_results
from tests.delivery_support import personal_messages


def test_all_results_is_the_list_of_each_readers_result() -> None:
    """The list equals one Result per message, in order, and carries the shared answer."""
    messages = personal_messages(5)
    results = all_results(messages, Outcome.ACCEPTED, provider_id="sg-1")
    assert isinstance(results, SameResults)
    assert results == [Result(m.recipient, Outcome.ACCEPTED, "sg-1", None) for m in messages]
    assert (results.outcome, results.provider_id, results.error) == (
        Outcome.ACCEPTED,
        "sg-1",
        None,
    )
    assert all_results([], Outcome.FAILED, error="x") == []
