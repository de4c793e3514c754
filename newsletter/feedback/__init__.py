"""Provider feedback: what SendGrid tells us back about the mail we sent.

Everything about that feedback that is neither HTTP nor storage lives here; the web
endpoint (newsletter.web.webhook) and the CLI (`suppressions pull`, `dispatch`) call it,
and the store (`Store.suppress`, `Store.apply_provider_events`) keeps what it yields.

- **Signature** (`signature`): SendGrid's Signed Event Webhook, ECDSA P-256 / SHA-256
  over the timestamp header followed by the raw body, refused outside a window of
  `MAX_AGE_SECONDS`. `load_public_key(text)` reads the key from config.yaml
  (ConfigError); `check_headers(signature, timestamp, now=…)` checks what can be checked
  before the body is read; `verify_body(key, headers, body)` checks the body against
  them; `verify(…)` does both. Every refusal is a SignatureError.
- **Events** (`events`): `read_events(body)` parses a verified webhook body
  (MalformedEventsError unless it is SendGrid's shape) and classifies each event:
  the suppression it asks for (hard bounce, address-level drop, spam report,
  unsubscribe), the delivery-record update it carries, and the events that suppress
  nobody but an operator should hear of (a drop for a fault of the message, a reason we
  do not know), and what the report counts of it (`tracked`: its kind, with bounces
  hard/soft and machine opens apart, tied to issue, list and subscriber by our custom
  args). `parse_events`, `classify`, `suppression`, `delivery_update`, `tracked` and
  `to_provider_event` are its steps.
- **Suppression pull** (`suppressions`): `Puller` reads SendGrid's bounce, spam-report,
  global-unsubscribe and invalid-email lists (paged) and an unsubscribe group's members
  into the store; it only ever suppresses. `pull_suppressions(config)` runs one with the
  configured settings; `pull_before_dispatch(config, transport)` is the pull a dispatch
  through SendGrid makes first, answered as `PullSkipped`, `Pulled` or `PullFailed`.
- **Provider text** (`text`): `provider_text(value, limit)` makes a remote server's
  words inert (no control or format characters, capped) before they are stored.

Nothing here prints; sendgrid-python is reached only through the SendGrid transport.
"""

from __future__ import annotations

from newsletter.feedback.events import (
    Event,
    EventBatch,
    Verdict,
    classify,
    delivery_update,
    parse_events,
    read_events,
    reason_summary,
    suppression,
    to_provider_event,
    tracked,
)
from newsletter.feedback.signature import (
    MAX_AGE_SECONDS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Buffer,
    PublicKey,
    SignedHeaders,
    check_headers,
    load_public_key,
    verify,
    verify_body,
)
from newsletter.feedback.suppressions import (
    ApiClient,
    ListPulled,
    Pulled,
    Puller,
    PullFailed,
    PullOutcome,
    PullReport,
    PullSkipped,
    SuppressionList,
    pull_before_dispatch,
    pull_suppressions,
)
from newsletter.feedback.text import MAX_ADDRESS, MAX_REASON, provider_text

__all__ = [
    "MAX_ADDRESS",
    "MAX_AGE_SECONDS",
    "MAX_REASON",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "ApiClient",
    "Buffer",
    "Event",
    "EventBatch",
    "ListPulled",
    "PublicKey",
    "PullFailed",
    "PullOutcome",
    "PullReport",
    "PullSkipped",
    "Pulled",
    "Puller",
    "SignedHeaders",
    "SuppressionList",
    "Verdict",
    "check_headers",
    "classify",
    "delivery_update",
    "load_public_key",
    "parse_events",
    "provider_text",
    "pull_before_dispatch",
    "pull_suppressions",
    "read_events",
    "reason_summary",
    "suppression",
    "to_provider_event",
    "tracked",
    "verify",
    "verify_body",
]
