"""The web endpoint under load on loopback: one-click unsubscribes and a big webhook batch.

Target (issue 6): 500 one-click POSTs from 50 concurrent clients and one signed
webhook request of 10,000 events against `newsletter serve` (uvicorn, in a child
process, on 127.0.0.1, over a SQLite store): no unsubscribe lost, no error
answer. The figures are requests per second, latency percentiles, and the time
to verify, apply and commit the webhook batch (SendGrid waits a few seconds at
most for an answer before it counts a delivery attempt as failed and retries).
"""

from __future__ import annotations

import asyncio
import base64
import json
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import yaml
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.common import Figure, Result, serve_in_child

REPO = Path(__file__).resolve().parent.parent
SECRET = "bench-web-secret-0123456789-abcdefghijklmnop"  # noqa: S105 - a throw-away value
ISSUE = "2025-09-12"
POSTS = 500
CLIENTS = 50
EVENTS = 10_000
P99_LIMIT_MS = 1000.0
WEBHOOK_LIMIT_S = 3.0


@dataclass(frozen=True)
class Setup:
    folder: Path
    config: Path
    url: str
    emails: list[str]
    tokens: list[str]
    key: ec.EllipticCurvePrivateKey


def _public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode("ascii")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass(frozen=True)
class Site:
    """A served site's files: its config (on a free port, with a webhook key) and store."""

    key: ec.EllipticCurvePrivateKey
    url: str
    database: str
    config: Path


def write_site(folder: Path) -> Site:
    """A config.yaml in `folder` for `newsletter serve` on a free loopback port, signed
    webhooks verified with a key pair made here, and a SQLite store beside it."""
    key = ec.generate_private_key(ec.SECP256R1())
    url = f"http://127.0.0.1:{_free_port()}"
    database = f"sqlite:///{folder / 'store.sqlite3'}"
    config = folder / "config.yaml"
    settings = {
        "publication": {"public_base_url": url},
        "paths": {"digests": str(REPO / "digests"), "templates": str(REPO / "templates")},
        "database": {"url": database},
        "webhook": {"sendgrid_public_key": _public_key_b64(key)},
    }
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return Site(key, url, database, config)


def prepare(folder: Path) -> Setup:
    """A config, a store of POSTS + EVENTS readers, and a frozen send of ISSUE to them."""
    from newsletter.csvio import CsvRow
    from newsletter.secrets import Secret
    from newsletter.store import Store

    site = write_site(folder)
    key, url, database, config = site.key, site.url, site.database, site.config
    emails = [f"reader{n:06d}@example.com" for n in range(1, POSTS + EVENTS + 1)]
    secret = Secret("NEWSLETTER_SECRET", SECRET)
    with Store.open(database, create=True) as store:
        rows = [CsvRow(n, email, None, None) for n, email in enumerate(emails, 2)]
        store.subscribers.import_entries(rows, "weekly", origin="bench")
        store.sends.open_send(
            issue_id=ISSUE,
            list_name="weekly",
            content_hash="c" * 64,
            message_hash="m" * 64,
            transport="sendgrid",
        )
        tokens = [store.subscribers.token_for(email, secret) for email in emails[:POSTS]]
    return Setup(folder, config, url, emails, tokens, key)


def start_server(setup: Setup) -> subprocess.Popen[bytes]:
    return serve_in_child(setup.folder, setup.config, setup.url, SECRET)


async def _client(
    client: httpx2.AsyncClient, tokens: list[str], latencies: list[float], statuses: list[int]
) -> None:
    """One client: its share of the POSTs, one after another, as a mail provider sends them."""
    for token in tokens:
        started = time.perf_counter()
        answer = await client.post(
            f"/unsubscribe/{token}",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        latencies.append(time.perf_counter() - started)
        statuses.append(answer.status_code)


async def _one_click_load(setup: Setup) -> tuple[float, list[float], list[int]]:
    latencies: list[float] = []
    statuses: list[int] = []
    shares = [setup.tokens[n::CLIENTS] for n in range(CLIENTS)]
    limits = httpx2.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx2.AsyncClient(base_url=setup.url, timeout=30, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(_client(client, share, latencies, statuses) for share in shares))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, statuses


def _events(setup: Setup) -> bytes:
    """EVENTS delivered events (every tenth a hard bounce) for the readers not unsubscribed."""
    now = int(time.time())
    events: list[dict[str, Any]] = []
    for n, email in enumerate(setup.emails[POSTS:], POSTS + 1):
        bounce = n % 10 == 0
        events.append(
            {
                "email": email,
                "event": "bounce" if bounce else "delivered",
                "type": "bounce" if bounce else None,
                "reason": "550 5.1.1 unknown user" if bounce else None,
                "sg_event_id": f"bench-{n}",
                "sg_message_id": f"msg{n}.filter",
                "timestamp": now - 30,
                "issue": ISSUE,
                "list": "weekly",
                "subscriber_id": str(n),
            }
        )
    return json.dumps(events).encode()


def _post_webhook(setup: Setup, body: bytes) -> tuple[float, int, dict[str, Any]]:
    stamp = str(int(time.time()))
    signature = setup.key.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        "Content-Type": "application/json",
    }
    started = time.perf_counter()
    answer = httpx2.post(
        f"{setup.url}/webhooks/sendgrid", content=body, headers=headers, timeout=60
    )
    elapsed = time.perf_counter() - started
    return elapsed, answer.status_code, answer.json()


def _lost_unsubscribes(setup: Setup) -> int:
    from newsletter.store import Status, Store

    with Store.open(f"sqlite:///{setup.folder / 'store.sqlite3'}", create=True) as store:
        return sum(
            1
            for email in setup.emails[:POSTS]
            if store.subscribers.get(email).status != Status.UNSUBSCRIBED  # type: ignore[union-attr]
        )


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run() -> Result:
    with tempfile.TemporaryDirectory(prefix="newsletter-bench-web-") as tmp:
        setup = prepare(Path(tmp))
        server = start_server(setup)
        try:
            elapsed, latencies, statuses = asyncio.run(_one_click_load(setup))
            body = _events(setup)
            webhook_s, webhook_status, webhook_answer = _post_webhook(setup, body)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        lost = _lost_unsubscribes(setup)
    errors = sum(1 for status in statuses if status != 200) + (webhook_status != 200)
    return Result(
        name="web-load",
        title=f"Web endpoint: {POSTS} one-click unsubscribes, {EVENTS:,}-event webhook",
        description=(
            f"`newsletter serve` (uvicorn, one process) in a child process on 127.0.0.1 over a "
            f"SQLite store of {POSTS + EVENTS:,} readers; {POSTS} RFC 8058 one-click POSTs from "
            f"{CLIENTS} concurrent clients (httpx2, keep-alive), each committed before its "
            f"answer; then one signed SendGrid webhook request of {EVENTS:,} events "
            f"({len(body) / 1e6:.1f} MB; every tenth a hard bounce), verified, de-duplicated "
            f"and applied in one transaction. Webhook answer: `{json.dumps(webhook_answer)}`. "
            "The load-generating client runs on the same cores as the server, so the request "
            "rate is a floor, not the server's ceiling."
        ),
        figures=[
            Figure("one-click POSTs per second", POSTS / elapsed, "req/s"),
            Figure("POST latency, median", _percentile(latencies, 0.5) * 1000, "ms"),
            Figure("POST latency, p99", _percentile(latencies, 0.99) * 1000, "ms", P99_LIMIT_MS),
            Figure(f"webhook batch of {EVENTS:,} events", webhook_s, "s", WEBHOOK_LIMIT_S),
            Figure("error answers", float(errors), "answers", 0),
            Figure("unsubscribes lost", float(lost), "readers", 0),
        ],
    )


if __name__ == "__main__":
    for figure in run().figures:
        print(figure)
    sys.exit(0)
