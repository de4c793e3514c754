"""SendGrid's Event Webhook: verify, parse, de-duplicate, apply; answer with a status.

Synchronous and free of HTTP: the app hands over the two signature headers
first (`admit`), and only if they pass does it read the body and hand that over
(`receive`). Order matters: nothing is read before the key, the headers and their
age have been checked; nothing is parsed, let alone stored, before the signature.

| request | answer | body | store |
|---|---|---|---|
| no webhook key in config.yaml | 503 (SendGrid keeps retrying) | not read | untouched |
| signature headers missing | 401 | not read | untouched |
| malformed headers, old or future timestamp | 403 | not read | untouched |
| bad signature, other key | 403 | read, not parsed | untouched |
| signed, but not a JSON array of events | 400 | read | untouched |
| signed events | 200 | read | applied once each, committed before the answer |
| the store failing | 503 (SendGrid retries) | read | rolled back |

Events that suppress nobody but an operator should hear of (a drop for a fault of
the message, a reason we do not know) are counted in the answer and logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from newsletter.errors import MalformedEventsError, SignatureError, StoreError
from newsletter.redaction import redacting_logger
from newsletter.store import EventsReport, ProviderEvent, Source, Store
from newsletter.web.events import Event, Verdict, classify, delivery_update, parse_events
from newsletter.web.signature import (
    MAX_AGE_SECONDS,
    Buffer,
    SignedHeaders,
    check_headers,
    verify_body,
)

log = redacting_logger("newsletter.web")
MAX_LOGGED_REASONS = 5


@dataclass(frozen=True)
class Answer:
    """The HTTP status and JSON body to send back."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)


def to_provider_event(event: Event, verdict: Verdict | None = None) -> ProviderEvent:
    """What one SendGrid event changes in the store (see newsletter.web.events)."""
    return ProviderEvent(
        event_id=event.sg_event_id,
        event=event.event,
        suppression=(verdict or classify(event)).suppression,
        delivery=delivery_update(event),
    )


@dataclass(frozen=True)
class Noted:
    """Events of one request that suppress nobody but are reported to the operator."""

    message_faults: list[Event]
    unclassified: list[Event]


def _reasons(events: list[Event]) -> str:
    counts: dict[str, int] = {}
    for event in events:
        label = " ".join(f"{event.event} {event.kind or ''} {event.reason or '-'}".split())
        counts[label] = counts.get(label, 0) + 1
    shown = sorted(counts.items(), key=lambda item: -item[1])[:MAX_LOGGED_REASONS]
    return "; ".join(f"{label!r} ×{count}" for label, count in shown)


def _log_noted(noted: Noted) -> None:
    if noted.message_faults:
        log.warning(
            "SendGrid dropped %d messages for a fault of the message (nobody suppressed): %s",
            len(noted.message_faults),
            _reasons(noted.message_faults),
        )
    if noted.unclassified:
        log.warning(
            "SendGrid events with a reason we do not classify (nobody suppressed): %s",
            _reasons(noted.unclassified),
        )


def _report(report: EventsReport, noted: Noted) -> dict[str, Any]:
    return {
        "received": report.received,
        "duplicates": report.duplicates,
        "suppressed": report.suppressions.suppressed,
        "deliveries_updated": report.deliveries_updated,
        "message_faults": len(noted.message_faults),
        "unclassified": len(noted.unclassified),
    }


class SendGridWebhook:
    """Receives SendGrid's signed event batches for one store."""

    def __init__(
        self,
        store: Store,
        key: ec.EllipticCurvePublicKey | None,
        *,
        max_age: int = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.time,
        writes: AbstractContextManager[object] | None = None,
    ) -> None:
        self.store = store
        self.key = key
        self.max_age = max_age
        self.clock = clock
        self.writes = writes or nullcontext()

    def admit(self, signature: str | None, timestamp: str | None) -> SignedHeaders | Answer:
        """The checks made before the body is read: the headers to verify it against, or
        the refusal to send without reading it."""
        if self.key is None:
            return Answer(503, {"error": "webhook.sendgrid_public_key is not configured"})
        if not signature or not timestamp:
            return Answer(401, {"error": "unsigned request"})
        try:
            return check_headers(signature, timestamp, now=self.clock(), max_age=self.max_age)
        except SignatureError as err:
            return Answer(403, {"error": err.message})

    def receive(self, headers: SignedHeaders, body: Buffer) -> Answer:
        """Verify an admitted request's body, parse it and apply its events."""
        if self.key is None:
            return Answer(503, {"error": "webhook.sendgrid_public_key is not configured"})
        try:
            verify_body(self.key, headers, body)
            parsed = [(event, classify(event)) for event in parse_events(body)]
            events = [to_provider_event(event, verdict) for event, verdict in parsed]
        except SignatureError as err:
            return Answer(403, {"error": err.message})
        except MalformedEventsError as err:
            return Answer(400, {"error": err.message})
        noted = Noted(
            [event for event, verdict in parsed if verdict.message_fault],
            [event for event, verdict in parsed if verdict.unclassified],
        )
        try:
            with self.writes:
                report = self.store.feedback.apply_provider_events(events, source=Source.WEBHOOK)
        except StoreError as err:
            # The operator must hear why (SendGrid only retries for 24 hours); the log's
            # redaction hides any password the store's message names.
            log.error("sendgrid webhook: events not applied, SendGrid will retry: %s", err)
            return Answer(503, {"error": "the store is unavailable; retry later"})
        _log_noted(noted)
        return Answer(200, _report(report, noted))

    def handle(self, body: Buffer, signature: str | None, timestamp: str | None) -> Answer:
        """`admit`, then `receive`: one request whose body is already in memory."""
        admitted = self.admit(signature, timestamp)
        if isinstance(admitted, Answer):
            return admitted
        return self.receive(admitted, body)
