"""Recipient, PersonalMessage and Result keep their dataclass behaviour with the faster
__init__ of issue 16: frozen, equal by value, hashable, `replace` works."""

from __future__ import annotations

import dataclasses

import pytest

from newsletter.message import PersonalMessage, Recipient
from newsletter.transports import Outcome, Result
from tests.delivery_support import sample_issue


def test_value_objects_stay_frozen_equal_and_replaceable() -> None:
    """Each object has exactly its fields (defaults where not given), refuses assignment,
    compares and hashes by value, and `dataclasses.replace` makes a changed copy."""
    reader = Recipient("a@example.com", "https://x.example/unsubscribe/1.t")
    assert (reader.name, reader.subscriber_id) == (None, None)
    assert reader == Recipient("a@example.com", "https://x.example/unsubscribe/1.t", None, None)
    assert hash(reader) == hash(Recipient("a@example.com", "https://x.example/unsubscribe/1.t"))
    named = dataclasses.replace(reader, name="Ann", subscriber_id=1)
    assert (named.email, named.name, named.subscriber_id) == ("a@example.com", "Ann", 1)
    message = PersonalMessage(sample_issue(), named, "<id@example.com>")
    assert message.recipient is named and message.message_id == "<id@example.com>"
    result = Result(named, Outcome.ACCEPTED)
    assert (result.provider_id, result.error) == (None, None)
    assert result == Result(named, Outcome.ACCEPTED, None, None)
    assert dataclasses.replace(result, error="x").error == "x"
    for value, field in ((reader, "email"), (message, "message_id"), (result, "outcome")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(value, field, None)
        assert dataclasses.fields(value)[0].name in repr(value)
