"""SendGrid Event Webhook payloads: parsed, checked, and turned into what to do.

Pure: no I/O. The web endpoint verifies the signature first, then hands the
raw body here; the store applies the resulting actions.

What each event means for us:

| event | suppress the address | delivery record |
|---|---|---|
| bounce (type bounce) | bounced | bounce |
| bounce (type blocked) | — (a temporary block by the receiver) | blocked |
| dropped, for an invalid or bounced address | bounced | dropped |
| dropped, other reasons | — | dropped |
| spamreport | complained | — |
| unsubscribe, group_unsubscribe | unsubscribed | — |
| delivered, deferred | — | delivered / deferred |
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from newsletter.errors import MalformedEventsError
from newsletter.store.feedback import DeliveryEvent, Suppression
from newsletter.store.models import Status

MAX_EVENTS = 20_000  # SendGrid posts batches of at most a few thousand
MAX_ID = 2**63 - 1  # a BIGINT; anything larger cannot name one of our subscribers
SUPPRESSING_DROPS = ("invalid", "bounced address", "unsubscribed address", "spam reporting")
DELIVERY_EVENTS = {"delivered", "deferred", "bounce", "dropped"}


@dataclass(frozen=True)
class Event:
    """The fields of one SendGrid event that we act on."""

    sg_event_id: str
    event: str
    email: str
    timestamp: int
    kind: str | None  # bounce: "bounce" or "blocked"
    reason: str | None
    issue: str | None  # our custom_args, echoed back by SendGrid
    list_name: str | None
    subscriber_id: int | None


def _text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return str(value) if value is not None and not isinstance(value, dict | list) else None


def _event(raw: Any, index: int) -> Event:
    if not isinstance(raw, dict):
        raise MalformedEventsError(f"event [{index}] is not an object")
    missing = [k for k in ("sg_event_id", "event", "email", "timestamp") if not raw.get(k)]
    if missing:
        raise MalformedEventsError(f"event [{index}] lacks {', '.join(missing)}")
    try:
        timestamp = int(raw["timestamp"])
        subscriber = raw.get("subscriber_id")
        subscriber_id = int(subscriber) if subscriber not in (None, "") else None
    except (TypeError, ValueError) as err:
        raise MalformedEventsError(f"event [{index}] has a malformed number") from err
    return Event(
        sg_event_id=str(raw["sg_event_id"]),
        event=str(raw["event"]),
        email=str(raw["email"]).strip().lower(),
        timestamp=timestamp,
        kind=_text(raw, "type"),
        reason=_text(raw, "reason") or _text(raw, "response"),
        issue=_text(raw, "issue"),
        list_name=_text(raw, "list"),
        subscriber_id=subscriber_id,
    )


def parse_events(body: bytes) -> list[Event]:
    """The events of a webhook body; MalformedEventsError if it is not SendGrid's shape."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise MalformedEventsError("body is not UTF-8 JSON") from err
    if not isinstance(data, list):
        raise MalformedEventsError("body is not a JSON array of events")
    if len(data) > MAX_EVENTS:
        raise MalformedEventsError(f"more than {MAX_EVENTS} events in one request")
    return [_event(raw, index) for index, raw in enumerate(data)]


def suppression(event: Event) -> Suppression | None:
    """Whether (and why) this event means we must stop mailing the address."""
    reason = event.reason or event.event
    if event.event == "bounce" and (event.kind or "bounce") == "bounce":
        return Suppression(event.email, Status.BOUNCED, f"bounce: {reason}")
    if event.event == "dropped" and any(
        word in (event.reason or "").lower() for word in SUPPRESSING_DROPS
    ):
        return Suppression(event.email, Status.BOUNCED, f"dropped: {reason}")
    if event.event == "spamreport":
        return Suppression(event.email, Status.COMPLAINED, "spam report")
    if event.event in {"unsubscribe", "group_unsubscribe"}:
        return Suppression(event.email, Status.UNSUBSCRIBED, f"{event.event} at SendGrid")
    return None


def _when(timestamp: int) -> datetime:
    try:
        return datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError) as err:
        raise MalformedEventsError(f"event timestamp {timestamp} is out of range") from err


def delivery_update(event: Event) -> DeliveryEvent | None:
    """The delivery-record change this event carries, if it names one of our sends."""
    if event.event not in DELIVERY_EVENTS or not event.issue or not event.list_name:
        return None
    name = "blocked" if event.event == "bounce" and event.kind == "blocked" else event.event
    subscriber_id = event.subscriber_id
    return DeliveryEvent(
        issue_id=event.issue[:32],
        list_name=event.list_name[:64],
        subscriber_id=subscriber_id if subscriber_id and 0 < subscriber_id <= MAX_ID else None,
        email=event.email,
        event=name,
        detail=event.reason,
        at=_when(event.timestamp),
    )
