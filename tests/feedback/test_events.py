"""Parsing SendGrid events and deciding what each one means."""

from __future__ import annotations

import json
from typing import Any

import pytest

from newsletter.errors import MalformedEventsError
from newsletter.feedback.events import classify, delivery_update, parse_events, suppression
from newsletter.store import DeliveryEvent, Status, Suppression


def event(**fields: Any) -> dict[str, Any]:
    base = {
        "email": "Reader@Example.com",
        "timestamp": 1757700000,
        "sg_event_id": "ev-1",
        "sg_message_id": "msg.1",
        "issue": "2025-09-12",
        "list": "weekly",
        "subscriber_id": "17",
    }
    return {**base, **fields}


def one(**fields: Any) -> Any:
    (parsed,) = parse_events(json.dumps([event(**fields)]).encode())
    return parsed


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"event": "bounce", "type": "bounce", "reason": "550 no such user"},
         Suppression("reader@example.com", Status.BOUNCED, "bounce: 550 no such user")),
        ({"event": "bounce", "type": "blocked", "reason": "421 try later"}, None),
        ({"event": "dropped", "reason": "Invalid"},
         Suppression("reader@example.com", Status.BOUNCED, "dropped: Invalid")),
        ({"event": "dropped", "reason": "Bounced Address"},
         Suppression("reader@example.com", Status.BOUNCED, "dropped: Bounced Address")),
        ({"event": "dropped", "reason": "Spam Content"}, None),
        ({"event": "spamreport"},
         Suppression("reader@example.com", Status.COMPLAINED, "spam report")),
        ({"event": "unsubscribe"},
         Suppression("reader@example.com", Status.UNSUBSCRIBED, "unsubscribe at SendGrid")),
        ({"event": "group_unsubscribe", "asm_group_id": 42},
         Suppression("reader@example.com", Status.UNSUBSCRIBED, "group_unsubscribe at SendGrid")),
        ({"event": "delivered"}, None),
        ({"event": "open"}, None),
    ],
)  # fmt: skip
def test_which_events_suppress(fields: dict[str, Any], expected: Suppression | None) -> None:
    """Hard bounces, invalid drops, spam reports and unsubscribes suppress; nothing else."""
    assert suppression(one(**fields)) == expected


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"event": "delivered"}, "delivered"),
        ({"event": "deferred", "response": "421 busy"}, "deferred"),
        ({"event": "bounce", "type": "bounce"}, "bounce"),
        ({"event": "bounce", "type": "blocked"}, "blocked"),
        ({"event": "dropped", "reason": "Invalid"}, "dropped"),
    ],
)
def test_delivery_events_name_their_delivery(fields: dict[str, Any], name: str) -> None:
    """delivered, deferred, bounce and dropped update the delivery our custom_args name."""
    update = delivery_update(one(**fields))
    assert isinstance(update, DeliveryEvent)
    assert (update.issue_id, update.list_name, update.subscriber_id, update.event) == (
        "2025-09-12",
        "weekly",
        17,
        name,
    )


def test_events_without_our_custom_args_update_nothing() -> None:
    """An event for mail we did not send (no issue/list args) touches no delivery."""
    assert delivery_update(one(event="delivered", issue=None, list=None)) is None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b'{"event": "delivered"}',
        b"[1, 2]",
        b'[{"event": "delivered"}]',
        b'[{"event": "delivered", "email": "a@x", "sg_event_id": "e", "timestamp": "soon"}]',
    ],
)
def test_malformed_bodies(body: bytes) -> None:
    """Anything but an array of events with the required fields is MalformedEventsError."""
    with pytest.raises(MalformedEventsError):
        parse_events(body)


def test_addresses_are_normalised() -> None:
    """Addresses are compared case-insensitively, like the store does."""
    assert one(event="delivered").email == "reader@example.com"


# SendGrid's documented drop reasons (Event Webhook reference, "dropped"; glossary "Drops").
@pytest.mark.parametrize(
    ("reason", "status", "message_fault"),
    [
        ("Invalid", Status.BOUNCED, False),
        ("Bounced Address", Status.BOUNCED, False),
        ("Unsubscribed Address", Status.UNSUBSCRIBED, False),
        ("Spam Reporting Address", Status.COMPLAINED, False),
        ("Invalid SMTPAPI header", None, True),
        ("Spam Content (if spam checker app enabled)", None, True),
        ("Spam Content (if Spam Checker app is enabled)", None, True),
        ("Spam Content", None, True),
        ("Recipient List over Package Quota", None, True),
        ("Duplicate message", None, True),
        ("  bounced   ADDRESS ", Status.BOUNCED, False),
    ],
)
def test_every_documented_drop_reason(
    reason: str, status: Status | None, message_fault: bool
) -> None:
    """Address-level drops suppress with the status their list means; message-level drops
    suppress nobody and are reported as faults of the message. Reasons match whole phrases
    (case and spacing aside), never substrings."""
    verdict = classify(one(event="dropped", reason=reason))
    assert (verdict.suppression.status if verdict.suppression else None) == status
    assert (verdict.message_fault, verdict.unclassified) == (message_fault, False)


@pytest.mark.parametrize(
    "reason",
    ["Invalid address format in SMTPAPI", "invalid-ish", "Unsubscribed Group", "", "Bounced"],
)
def test_unknown_drop_reasons_suppress_nobody_and_are_reported(reason: str) -> None:
    """A reason that is not one of SendGrid's phrases (even one containing 'invalid' or
    'bounced') suppresses nobody and is reported as unclassified."""
    verdict = classify(one(event="dropped", reason=reason))
    assert (verdict.suppression, verdict.unclassified) == (None, True)


@pytest.mark.parametrize(
    ("kind", "suppressed", "unclassified"),
    [("bounce", True, False), ("blocked", False, False), (None, False, True),
     ("expired", False, True)],
)  # fmt: skip
def test_bounce_types(kind: str | None, suppressed: bool, unclassified: bool) -> None:
    """type bounce is a hard bounce (suppress); blocked a soft one (no suppression); a bounce
    with no or another type suppresses nobody and is reported."""
    fields = {"event": "bounce", "reason": "550 5.1.1 unknown user"}
    if kind is not None:
        fields["type"] = kind
    verdict = classify(one(**fields))
    assert (verdict.suppression is not None, verdict.unclassified) == (suppressed, unclassified)
