"""SendGrid's Event Webhook: verify, parse, de-duplicate, apply; answer with a status.

The HTTP side of provider feedback: what each check and each event means lives in
newsletter.feedback (signature, parsing, classification), what is stored in the store;
this module orders the steps and picks each answer's status. Synchronous and free of
the web framework: the app hands over the two signature headers first (`admit`), and
only if they pass does it read the body and hand that over (`receive`). Order matters:
nothing is read before the key, the headers and their age have been checked; nothing is
parsed, let alone stored, before the signature.

| request | answer | body | store |
|---|---|---|---|
| no webhook key in config.yaml | 503 (SendGrid keeps retrying) | not read | untouched |
| signature headers missing | 401 | not read | untouched |
| malformed headers, old or future timestamp | 403 | not read | untouched |
| bad signature, other key | 403 | read, not parsed | untouched |
| signed, but not a JSON array of events | 400 | read | untouched |
| signed events | 200 | read | applied once each, committed before the answer |
| the store failing | 503 (SendGrid retries) | read | rolled back |

Applying an event means: the suppression it asks for, its delivery record, its count
for the report, and the evidence it gives that an ambiguous delivery went out
(newsletter.store.events). Events that suppress nobody but an operator should hear
of (a drop for a fault of the message, a reason we do not know) are counted in the
answer and logged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from newsletter.errors import MalformedEventsError, SignatureError, StoreError
from newsletter.feedback import (
    MAX_AGE_SECONDS,
    Buffer,
    EventBatch,
    PublicKey,
    SignedHeaders,
    check_headers,
    read_events,
    reason_summary,
    verify_body,
)
from newsletter.redaction import redacting_logger
from newsletter.store import EventsReport, Source, Store

log = redacting_logger("newsletter.web")


@dataclass(frozen=True)
class Answer:
    """The HTTP status and JSON body to send back."""

    status: int
    body: dict[str, Any] = field(default_factory=dict)


def _log_noted(batch: EventBatch) -> None:
    if batch.message_faults:
        log.warning(
            "SendGrid dropped %d messages for a fault of the message (nobody suppressed): %s",
            len(batch.message_faults),
            reason_summary(batch.message_faults),
        )
    if batch.unclassified:
        log.warning(
            "SendGrid events with a reason we do not classify (nobody suppressed): %s",
            reason_summary(batch.unclassified),
        )


def _report(report: EventsReport, batch: EventBatch) -> dict[str, Any]:
    return {
        "received": report.received,
        "duplicates": report.duplicates,
        "suppressed": report.suppressions.suppressed,
        "deliveries_updated": report.deliveries_updated,
        "counted": report.counted,
        "anomalies": report.anomalies,
        "resolved_by_evidence": report.resolved,
        "message_faults": len(batch.message_faults),
        "unclassified": len(batch.unclassified),
    }


class SendGridWebhook:
    """Receives SendGrid's signed event batches for one store."""

    def __init__(
        self,
        store: Store,
        key: PublicKey | None,
        *,
        max_age: int = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.time,
        writes: AbstractContextManager[object] | None = None,
        per_reader: bool = False,
    ) -> None:
        self.store = store
        self.per_reader = per_reader  # config `tracking.per_reader`
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
            batch = read_events(body)
        except SignatureError as err:
            return Answer(403, {"error": err.message})
        except MalformedEventsError as err:
            return Answer(400, {"error": err.message})
        try:
            with self.writes:
                report = self.store.feedback.apply_provider_events(
                    batch.changes, source=Source.WEBHOOK, per_reader=self.per_reader
                )
        except StoreError as err:
            # The operator must hear why (SendGrid only retries for 24 hours); the log's
            # redaction hides any password the store's message names.
            log.error("sendgrid webhook: events not applied, SendGrid will retry: %s", err)
            return Answer(503, {"error": "the store is unavailable; retry later"})
        _log_noted(batch)
        return Answer(200, _report(report, batch))

    def handle(self, body: Buffer, signature: str | None, timestamp: str | None) -> Answer:
        """`admit`, then `receive`: one request whose body is already in memory."""
        admitted = self.admit(signature, timestamp)
        if isinstance(admitted, Answer):
            return admitted
        return self.receive(admitted, body)
