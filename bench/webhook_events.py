"""SendGrid's event stream for a 1,000,000-recipient issue, applied through the webhook.

Target (issue 15): 1,000,000 events (every kind: processed, delivered, deferred, hard
and soft bounces, drops, spam reports, unsubscribes, human and machine opens, clicks)
for a 1,000,000-recipient issue, posted as signed batches of 1,000 to 10,000 events,
are applied with 0 lost and 0 double-counted (every twentieth batch is posted twice,
as SendGrid's retries do); `Newsletter.report` on that data takes ≤ 2 s on
SQLite. Each batch goes through `SendGridWebhook.handle`, the code behind
POST /webhooks/sendgrid: signature check, parsing, de-duplication, suppressions,
delivery records, report counts, in one transaction per batch.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.common import Figure, Result

RECIPIENTS = 1_000_000
EVENTS = 1_000_000
ISSUE, LIST = "2025-09-12", "weekly"
REPORT_LIMIT_S = 2.0
LINKS = [f"https://news{n}.example.com/story/{n}?utm_source=digest#top" for n in range(12)]
# (kind as posted, extra fields, how many): sums to EVENTS.
MIX: list[tuple[str, dict[str, Any], int]] = [
    ("processed", {}, 300_000),
    ("delivered", {}, 450_000),
    ("deferred", {"response": "421 try later"}, 10_000),
    ("bounce", {"type": "bounce", "reason": "550 5.1.1 no such user"}, 6_000),
    ("bounce", {"type": "blocked", "reason": "421 blocked"}, 4_000),
    ("dropped", {"reason": "Bounced Address"}, 2_000),
    ("dropped", {"reason": "Spam Content"}, 1_000),
    ("spamreport", {}, 1_000),
    ("unsubscribe", {}, 1_500),
    ("group_unsubscribe", {"asm_group_id": 42}, 500),
    ("open", {"sg_machine_open": True}, 100_000),
    ("open", {"sg_machine_open": False}, 84_000),
    ("click", {}, 40_000),
]
EXPECTED_KEY = {
    ("bounce", "bounce"): "bounce_hard",
    ("bounce", "blocked"): "bounce_soft",
    ("open", True): "open_machine",
    ("open", False): "open_human",
}


def _setup(database: str) -> int:
    """A store with RECIPIENTS subscribers on LIST and a send of ISSUE to all of them,
    every delivery accepted (claimed and answered in batches of 50,000); the send's id."""
    from newsletter.csvio import CsvRow
    from newsletter.store import Store

    chunk = 50_000
    with Store.open(database, create=True) as store:
        for start in range(1, RECIPIENTS + 1, chunk):
            rows = [
                CsvRow(n, f"reader{n:07d}@example.com", None, None)
                for n in range(start, min(start + chunk, RECIPIENTS + 1))
            ]
            store.subscribers.import_entries(rows, LIST, origin="bench")
        record = store.sends.open_send(
            issue_id=ISSUE,
            list_name=LIST,
            content_hash="c" * 64,
            message_hash="m" * 64,
            transport="sendgrid",
        )
        after, number = 0, 0
        while batch := store.sends.claim_batch(record.id, after, chunk, number + 1):
            number, after = number + 1, batch.last_id
            ids = [claimed.delivery_id for claimed in batch.claimed]
            store.sends.record_outcomes(record.id, number, {("accepted", None, None): ids})
        return record.id


def _stream(seed: int = 15) -> tuple[list[tuple[int, int, int, int]], Counter[str]]:
    """EVENTS events in the order SendGrid might post them, compactly (mix index, reader,
    number, timestamp), and the counts they must give."""
    rng = random.Random(seed)
    base = int(time.time()) - 7200
    events: list[tuple[int, int, int, int]] = []
    expected: Counter[str] = Counter()
    number = 0
    for index, (kind, fields, count) in enumerate(MIX):
        for _ in range(count):
            number += 1
            reader = rng.randrange(1, RECIPIENTS + 1)
            if kind == "delivered":  # one delivered per message: a second is an anomaly
                reader = (number % RECIPIENTS) + 1
            at = base + rng.randrange(0, 3600) + (3600 if kind == "click" else 0)
            events.append((index, reader, number, at))
            key = EXPECTED_KEY.get((kind, fields.get("type", fields.get("sg_machine_open"))), kind)
            expected[key] += 1
    rng.shuffle(events)  # out of order: delivered before processed, clicks anywhere
    return events, expected


def _event(index: int, reader: int, number: int, at: int) -> dict[str, Any]:
    kind, fields, _ = MIX[index]
    event = {
        "email": f"reader{reader:07d}@example.com",
        "event": kind,
        "sg_event_id": f"ev-{number}",
        "sg_message_id": f"msg-{reader}.filter",
        "timestamp": at,
        "issue": ISSUE,
        "list": LIST,
        "subscriber_id": str(reader),
        **fields,
    }
    if kind == "click":
        event["url"] = LINKS[number % len(LINKS)]
    return event


def _batches(events: list[tuple[int, int, int, int]], seed: int = 16) -> Iterator[bytes]:
    """The JSON bodies of batches of 1,000 to 10,000 events, made one at a time."""
    rng = random.Random(seed)
    start = 0
    while start < len(events):
        size = rng.randint(1_000, 10_000)
        yield json.dumps([_event(*item) for item in events[start : start + size]]).encode()
        start += size


def run(recipients: int = RECIPIENTS) -> Result:
    global RECIPIENTS
    RECIPIENTS = recipients
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from newsletter import Newsletter
    from newsletter.feedback import load_public_key
    from newsletter.store import Store
    from newsletter.web.webhook import SendGridWebhook

    logging.getLogger("newsletter.web").setLevel(logging.ERROR)  # the drops' warnings
    private = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    with tempfile.TemporaryDirectory(prefix="bench-events-") as folder:
        database = f"sqlite:///{Path(folder) / 'store.sqlite3'}"
        _setup(database)
        events, expected = _stream()
        with Store.open(database) as store:
            now = int(time.time())
            webhook = SendGridWebhook(store, load_public_key(public), clock=lambda: now)
            posted = counted = duplicates = anomalies = batches = 0
            making = 0.0  # building the JSON bodies is the bench's work, not the webhook's
            started = time.perf_counter()
            bodies = _batches(events)
            while True:
                made = time.perf_counter()
                body = next(bodies, None)
                making += time.perf_counter() - made
                if body is None:
                    break
                index, batches = batches, batches + 1
                signature = base64.b64encode(
                    private.sign(str(now).encode() + body, ec.ECDSA(hashes.SHA256()))
                ).decode()
                for _ in range(2 if index % 20 == 0 else 1):  # SendGrid's retry of a batch
                    answer = webhook.handle(body, signature, str(now))
                    if answer.status != 200:
                        raise RuntimeError(f"batch {index}: {answer.status} {answer.body}")
                    posted += answer.body["received"]
                    counted += answer.body["counted"]
                    duplicates += answer.body["duplicates"]
                    anomalies += answer.body["anomalies"]
            applying = time.perf_counter() - started - making
            totals = store.events.totals(ISSUE)
        config = Path(folder) / "config.yaml"
        config.write_text(
            f"database:\n  url: {database}\nlists:\n  {LIST}:\n    file: {LIST}.csv\n",
            encoding="utf-8",
        )
        newsletter = Newsletter.from_config(config)
        started = time.perf_counter()
        report = newsletter.report(ISSUE).issue  # the whole report, as `newsletter report`
        reporting = time.perf_counter() - started
        if report is None or report.summary.delivered != totals.counts["delivered"]:
            raise RuntimeError(f"the report does not show the stored counts: {report}")
        got = Counter({kind: n for kind, n in totals.counts.items() if n})
        # Clicks are judged human or scanner on arrival; together they are every click.
        scanner = got["click_scanner"]
        got["click"] = got.pop("click_human", 0) + got.pop("click_scanner", 0)
        lost = sum((expected - got).values())
        doubled = sum((got - expected).values()) + (counted - len(events))
        if lost or doubled or anomalies:
            raise RuntimeError(f"lost {lost}, double-counted {doubled}, anomalies {anomalies}")
    return Result(
        name="webhook-events",
        title="SendGrid events for a 1,000,000-recipient issue",
        description=(
            f"{len(events):,} signed events ({batches:,} batches of 1,000-10,000, every "
            f"twentieth posted twice: {duplicates:,} duplicates refused) for a "
            f"{recipients:,}-recipient issue on SQLite, applied through the webhook's code "
            f"in one process: 0 lost, 0 double-counted, 0 anomalies ({scanner:,} of the "
            f"random clicks judged a scanner's). The report's time is "
            "`Newsletter.report(ISSUE)` on that store: the ledger's counts, every event "
            "count, clicks per link, the unsubscribes attributed, the history line."
        ),
        figures=[
            Figure("events applied per second", len(events) / applying, "events/s"),
            Figure("applying all events", applying, "s"),
            Figure("Newsletter.report on that data", reporting, "s", REPORT_LIMIT_S),
        ],
    )
