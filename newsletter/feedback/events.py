"""SendGrid Event Webhook payloads: parsed, checked, and turned into what to do.

Pure: no I/O. The web endpoint verifies the signature first (newsletter.feedback.signature),
then hands the raw body to `read_events`; the store applies the resulting changes
(`Store.apply_provider_events`).

What each event means for us (reasons are matched whole, ignoring case and
spacing, never as substrings: "Invalid SMTPAPI header" is not "Invalid"):

| event | suppress the address | delivery record |
|---|---|---|
| bounce, `type` bounce (a hard bounce) | bounced | bounce |
| bounce, `type` blocked (a soft bounce: refused for now) | — | blocked |
| bounce, any other or no `type` | — (reported as unclassified) | bounce |
| dropped, "Invalid" or "Bounced Address" | bounced | dropped |
| dropped, "Unsubscribed Address" | unsubscribed | dropped |
| dropped, "Spam Reporting Address" | complained | dropped |
| dropped, a fault of the message ("Invalid SMTPAPI header", …) | — (reported) | dropped |
| dropped, any other reason | — (reported as unclassified) | dropped |
| spamreport | complained | — |
| unsubscribe, group_unsubscribe | unsubscribed | — |
| delivered, deferred | — | delivered / deferred |

The drop reasons are SendGrid's fixed phrases, listed in its Event Webhook
reference ("dropped") and its glossary entry "Drops": the address-level ones
name the suppression list the address is on; the others are about the message
or the account and say nothing about the reader.

Every text taken from an event is made inert (newsletter.feedback.text): no
control characters, capped lengths. Numbers must be integers: a float that is
not a whole number, NaN, Infinity or `1e400` is a malformed event (400), never a
server error; so is JSON nested deeper than Python's parser allows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from math import isfinite
from typing import Any, Final, NoReturn

from newsletter.errors import MalformedEventsError
from newsletter.feedback.text import MAX_ADDRESS, MAX_REASON, provider_text
from newsletter.store import DeliveryEvent, ProviderEvent, Status, Suppression, TrackedEvent

MAX_EVENTS = 20_000  # SendGrid posts batches of at most a few thousand
MAX_ID = 2**63 - 1  # a BIGINT; anything larger cannot name one of our subscribers
DELIVERY_EVENTS = {"delivered", "deferred", "bounce", "dropped"}
MAX_NAME = 64  # event names, issue ids, list names: ours are far shorter
MAX_EVENT_ID = 1000  # the store keeps longer ids as a digest (store.feedback.event_key)
MAX_URL = 2048  # a clicked link as reported; longer ones are cut (counted, never refused)
# The kinds the report counts (newsletter.store.events); others (group_resubscribe, …) not.
REPORTED = frozenset(
    {
        "processed",
        "delivered",
        "deferred",
        "bounce",
        "dropped",
        "spamreport",
        "unsubscribe",
        "group_unsubscribe",
        "open",
        "click",
    }
)
MAX_LISTED_REASONS = 5  # distinct reasons named in one operator summary

# SendGrid's drop reasons that name a suppression list the address is on.
ADDRESS_DROPS: Final[Mapping[str, Status]] = {
    "invalid": Status.BOUNCED,
    "bounced address": Status.BOUNCED,
    "unsubscribed address": Status.UNSUBSCRIBED,
    "spam reporting address": Status.COMPLAINED,
}
# SendGrid's drop reasons that are about the message or the account, not the reader.
MESSAGE_DROPS: Final = frozenset(
    {
        "invalid smtpapi header",
        "spam content",
        "spam content (if spam checker app enabled)",
        "spam content (if spam checker app is enabled)",
        "recipient list over package quota",
        "duplicate message",
    }
)
HARD_BOUNCE, SOFT_BOUNCE = "bounce", "blocked"  # a bounce event's `type`
_DIGITS = re.compile(r"-?[0-9]{1,19}")


@dataclass(frozen=True)
class Event:
    """The fields of one SendGrid event that we act on (all text already inert)."""

    sg_event_id: str
    event: str
    email: str
    timestamp: int
    kind: str | None  # bounce: "bounce" or "blocked"
    reason: str | None
    issue: str | None  # our custom_args, echoed back by SendGrid
    list_name: str | None
    subscriber_id: int | None
    url: str | None = None  # click: the link clicked
    machine_open: bool = False  # open: SendGrid's `sg_machine_open` (a prefetch, no reader)
    preview: bool = False  # custom_args `preview`: a preview send, not an issue's send


@dataclass(frozen=True)
class Verdict:
    """What an event means for the address, and whether an operator should hear of it."""

    suppression: Suppression | None = None
    message_fault: bool = False  # SendGrid refused the message, not the address
    unclassified: bool = False  # a reason or bounce type we do not know: nobody suppressed


def _text(raw: Mapping[str, Any], key: str, limit: int = MAX_NAME) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, dict | list):
        return None
    return provider_text(value, limit) or None


def _malformed(index: int, what: str) -> NoReturn:
    raise MalformedEventsError(f"event [{index}] has a malformed {what}")


def _integer(value: Any, index: int, what: str) -> int:
    """A JSON integer, a whole finite float, or a string of digits; MalformedEventsError
    for anything else (NaN, Infinity, 1e400, 1.5, true, "soon")."""
    if isinstance(value, bool):
        _malformed(index, what)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value)
    _malformed(index, what)


def _event(raw: Any, index: int) -> Event:
    if not isinstance(raw, dict):
        raise MalformedEventsError(f"event [{index}] is not an object")
    missing = [k for k in ("sg_event_id", "event", "email", "timestamp") if not raw.get(k)]
    if missing:
        raise MalformedEventsError(f"event [{index}] lacks {', '.join(missing)}")
    subscriber = raw.get("subscriber_id")
    return Event(
        sg_event_id=provider_text(raw["sg_event_id"], MAX_EVENT_ID),
        event=provider_text(raw["event"], MAX_NAME),
        email=provider_text(raw["email"], MAX_ADDRESS).lower(),
        timestamp=_integer(raw["timestamp"], index, "timestamp"),
        kind=_text(raw, "type"),
        reason=_text(raw, "reason", MAX_REASON) or _text(raw, "response", MAX_REASON),
        issue=_text(raw, "issue"),
        list_name=_text(raw, "list"),
        subscriber_id=(
            None if subscriber in (None, "") else _integer(subscriber, index, "subscriber_id")
        ),
        url=_text(raw, "url", MAX_URL),
        machine_open=_flag(raw.get("sg_machine_open")),
        preview=_flag(raw.get("preview")),
    )


def _flag(value: Any) -> bool:
    """A JSON true, or a custom arg's string "true" (custom args are always strings)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_events(body: bytes | bytearray) -> list[Event]:
    """The events of a webhook body; MalformedEventsError if it is not SendGrid's shape
    (not UTF-8, not JSON, NaN/Infinity, nested too deep, not an array of events)."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as err:
        raise MalformedEventsError("body is not UTF-8 JSON") from err
    except RecursionError as err:
        raise MalformedEventsError("body is JSON nested too deep") from err
    if not isinstance(data, list):
        raise MalformedEventsError("body is not a JSON array of events")
    if len(data) > MAX_EVENTS:
        raise MalformedEventsError(f"more than {MAX_EVENTS} events in one request")
    return [_event(raw, index) for index, raw in enumerate(data)]


def _phrase(reason: str | None) -> str:
    return " ".join((reason or "").split()).lower()


def _bounce(event: Event) -> Verdict:
    if event.kind == HARD_BOUNCE:
        reason = event.reason or event.event
        return Verdict(Suppression(event.email, Status.BOUNCED, f"bounce: {reason}"))
    if event.kind == SOFT_BOUNCE:
        return Verdict()  # refused for now; SendGrid says so again if it lasts
    return Verdict(unclassified=True)


def _drop(event: Event) -> Verdict:
    phrase = _phrase(event.reason)
    status = ADDRESS_DROPS.get(phrase)
    if status is not None:
        return Verdict(Suppression(event.email, status, f"dropped: {event.reason}"))
    if phrase in MESSAGE_DROPS:
        return Verdict(message_fault=True)
    return Verdict(unclassified=True)


def classify(event: Event) -> Verdict:
    """Whether (and why) this event means we must stop mailing the address, and whether
    it is a fault of the message or a reason we do not know (both suppress nobody)."""
    if event.event == "bounce":
        return _bounce(event)
    if event.event == "dropped":
        return _drop(event)
    if event.event == "spamreport":
        return Verdict(Suppression(event.email, Status.COMPLAINED, "spam report"))
    if event.event in {"unsubscribe", "group_unsubscribe"}:
        reason = f"{event.event} at SendGrid"
        return Verdict(Suppression(event.email, Status.UNSUBSCRIBED, reason))
    return Verdict()


def suppression(event: Event) -> Suppression | None:
    """The suppression this event asks for, if any (see `classify`)."""
    return classify(event).suppression


def _when(timestamp: int) -> datetime:
    try:
        return datetime.fromtimestamp(timestamp, UTC)
    except (OverflowError, OSError, ValueError) as err:
        raise MalformedEventsError(f"event timestamp {timestamp} is out of range") from err


def delivery_update(event: Event) -> DeliveryEvent | None:
    """The delivery-record change this event carries, if it names one of our sends."""
    if event.event not in DELIVERY_EVENTS or not event.issue or not event.list_name:
        return None
    name = "blocked" if event.event == "bounce" and event.kind == SOFT_BOUNCE else event.event
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


def _report_kind(event: Event) -> str:
    if event.event == "bounce":
        # "blocked" is SendGrid's soft bounce; a bounce of no known type is counted hard,
        # as the delivery record calls it a bounce (it suppresses nobody: see `classify`).
        return "bounce_soft" if event.kind == SOFT_BOUNCE else "bounce_hard"
    return event.event


def tracked(event: Event) -> TrackedEvent | None:
    """What the report counts of this event (newsletter.store.events), if anything: None
    for kinds it does not count and for a preview send's events."""
    if event.event not in REPORTED or event.preview:
        return None
    subscriber_id = event.subscriber_id
    return TrackedEvent(
        event_id=event.sg_event_id,
        kind=_report_kind(event),
        email=event.email,
        at=_when(event.timestamp),
        issue_id=event.issue and event.issue[:32],
        list_name=event.list_name and event.list_name[:64],
        subscriber_id=subscriber_id if subscriber_id and 0 < subscriber_id <= MAX_ID else None,
        reason=event.reason if event.event == "dropped" else None,
        url=event.url if event.event == "click" else None,
        machine=event.machine_open,
    )


def to_provider_event(event: Event, verdict: Verdict | None = None) -> ProviderEvent:
    """What one SendGrid event changes in the store: its id (applied once), the suppression
    `classify` asks for, the delivery-record update `delivery_update` carries and what
    the report counts of it (`tracked`)."""
    return ProviderEvent(
        event_id=event.sg_event_id,
        event=event.event,
        suppression=(verdict or classify(event)).suppression,
        delivery=delivery_update(event),
        tracked=tracked(event),
    )


@dataclass(frozen=True)
class EventBatch:
    """One webhook body, read: what each event changes in the store, in the order sent, and
    the events that suppress nobody but an operator should hear of."""

    changes: list[ProviderEvent]
    message_faults: list[Event]  # dropped for a fault of the message (see `MESSAGE_DROPS`)
    unclassified: list[Event]  # a drop reason or bounce type we do not know


def read_events(body: bytes | bytearray) -> EventBatch:
    """Parse and classify a (verified) webhook body. MalformedEventsError as `parse_events`."""
    parsed = [(event, classify(event)) for event in parse_events(body)]
    return EventBatch(
        changes=[to_provider_event(event, verdict) for event, verdict in parsed],
        message_faults=[event for event, verdict in parsed if verdict.message_fault],
        unclassified=[event for event, verdict in parsed if verdict.unclassified],
    )


def reason_summary(events: list[Event], limit: int = MAX_LISTED_REASONS) -> str:
    """The commonest `event type reason` labels among `events`, for one log line, e.g.
    `'dropped Spam Content' ×3; 'bounce blocked 421 try later' ×1`: at most `limit`
    labels, commonest first; every text in it is already inert."""
    counts: dict[str, int] = {}
    for event in events:
        label = " ".join(f"{event.event} {event.kind or ''} {event.reason or '-'}".split())
        counts[label] = counts.get(label, 0) + 1
    shown = sorted(counts.items(), key=lambda item: -item[1])[:limit]
    return "; ".join(f"{label!r} ×{count}" for label, count in shown)
