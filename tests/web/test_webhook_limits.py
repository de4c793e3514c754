"""The webhook refuses before it reads, reads into one capped buffer, and bounds how many
bytes all requests may hold at once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.web.bodies import BodyLimits
from tests.feedback.signing import Signer
from tests.web.asgi import call, run
from tests.web.support import NOW, Site, make_site, sendgrid_event

PATH = "/webhooks/sendgrid"


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer.new()


@pytest.fixture
def site(tmp_path: Path, signer: Signer) -> Iterator[Site]:
    made = make_site(tmp_path, signer, bodies=BodyLimits(max_bytes=1000, budget=1500))
    made.subscribe(1)
    yield made
    made.store.close()


def headers(signed: dict[str, str], length: int | None = None) -> list[tuple[bytes, bytes]]:
    pairs = [(k.lower().encode(), v.encode()) for k, v in signed.items()]
    if length is not None:
        pairs.append((b"content-length", str(length).encode()))
    return pairs


def body_of(size: int) -> bytes:
    """A signed-looking event batch padded to exactly `size` bytes."""
    event = sendgrid_event("reader00001@example.com", "spamreport", "pad", note="")
    base = len(json.dumps([event]).encode())
    event["note"] = "x" * (size - base)
    return json.dumps([event]).encode()


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("no headers", 401),
        ("no timestamp", 401),
        ("old timestamp", 403),
        ("future timestamp", 403),
        ("400-digit timestamp", 403),
        ("timestamp with sign", 403),
        ("signature not base64", 403),
        ("signature of 10 kB", 403),
    ],
)
def test_refused_on_headers_alone_without_reading_the_body(
    site: Site, case: str, status: int
) -> None:
    """Missing headers, a timestamp outside the window or of absurd shape, a signature
    that cannot be one: refused with the body never asked for, and the connection closed."""
    body = body_of(900)
    signed = site.signer.sign(body, NOW)
    stamp = signed["X-Twilio-Email-Event-Webhook-Timestamp"]
    changed = {
        "no headers": {},
        "no timestamp": {"X-Twilio-Email-Event-Webhook-Signature": "c2ln"},
        "old timestamp": site.signer.sign(body, NOW - 301),
        "future timestamp": site.signer.sign(body, NOW + 301),
        "400-digit timestamp": {**signed, "X-Twilio-Email-Event-Webhook-Timestamp": "9" * 400},
        "timestamp with sign": {**signed, "X-Twilio-Email-Event-Webhook-Timestamp": f"+{stamp}"},
        "signature not base64": {**signed, "X-Twilio-Email-Event-Webhook-Signature": "%%%"},
        "signature of 10 kB": {**signed, "X-Twilio-Email-Event-Webhook-Signature": "A" * 10_000},
    }[case]
    reply = run(call(site.client.app, "POST", PATH, headers(changed, len(body)), [body]))
    assert (reply.status, reply.chunks_read) == (status, 0)
    assert reply.headers["connection"] == "close"
    assert site.status("reader00001@example.com") == "subscribed"


def test_without_a_key_nothing_is_read(tmp_path: Path, signer: Signer) -> None:
    """No verification key configured: 503 before reading a byte."""
    site = make_site(tmp_path, signer, sendgrid_public_key=None)
    body = body_of(500)
    reply = run(
        call(site.client.app, "POST", PATH, headers(signer.sign(body, NOW), len(body)), [body])
    )
    assert (reply.status, reply.chunks_read) == (503, 0)
    site.store.close()


def test_declared_length_over_the_cap_is_413_unread(site: Site) -> None:
    """A Content-Length over the cap is refused before the body is read."""
    body = body_of(1001)
    signed = site.signer.sign(body, NOW)
    reply = run(call(site.client.app, "POST", PATH, headers(signed, 1001), [body]))
    assert (reply.status, reply.chunks_read) == (413, 0)


def test_streamed_body_stops_being_read_at_the_cap(site: Site) -> None:
    """Without a Content-Length, reading stops at the first chunk past the cap (413): the
    rest of a long stream is never asked for."""
    chunks = [b"[" + b" " * 299] * 100  # 30 kB offered, the cap is 1000 bytes
    signed = site.signer.sign(b"".join(chunks), NOW)
    reply = run(call(site.client.app, "POST", PATH, headers(signed), chunks))
    assert reply.status == 413
    assert reply.chunks_read == 4  # 3 × 300 bytes fit, the 4th passes the cap


def test_signed_streamed_body_within_the_cap_is_applied(site: Site) -> None:
    """A chunked body under the cap is read whole and applied."""
    body = body_of(900)
    signed = site.signer.sign(body, NOW)
    chunks = [body[:400], body[400:]]
    reply = run(call(site.client.app, "POST", PATH, headers(signed), chunks))
    assert reply.status == 200 and reply.json()["suppressed"] == 1


@pytest.mark.parametrize(("declared", "sent"), [(500, 900), (900, 500), ("12ab", 500)])
def test_body_not_matching_its_length_is_400(site: Site, declared: object, sent: int) -> None:
    """A body longer or shorter than its Content-Length, or a malformed length: 400."""
    body = body_of(sent)
    pairs = [*headers(site.signer.sign(body, NOW)), (b"content-length", str(declared).encode())]
    reply = run(call(site.client.app, "POST", PATH, pairs, [body]))
    assert reply.status == 400


def test_bodies_held_at_once_are_bounded(site: Site) -> None:
    """While one 900-byte body is being received, a second one does not fit the 1500-byte
    budget: 503 with Retry-After, unread. Once the first is answered, the budget is free."""
    first, second = body_of(900), body_of(900)

    async def scenario() -> tuple[int, int, str, int, int]:
        gate = asyncio.Event()
        app = site.client.app
        slow = asyncio.create_task(
            call(app, "POST", PATH, headers(site.signer.sign(first, NOW), 900),
                 [first[:100], first[100:]], gate=gate)
        )  # fmt: skip
        while limits.used == 0:  # the first request has reserved its 900 bytes
            await asyncio.sleep(0)
        signed = headers(site.signer.sign(second, NOW), 900)
        refused = await call(app, "POST", PATH, signed, [second])
        gate.set()
        done = await slow
        again = await call(app, "POST", PATH, signed, [second])
        retry = refused.headers["retry-after"]
        return refused.status, refused.chunks_read, retry, done.status, again.status

    limits = site.bodies
    assert limits is not None
    assert run(scenario()) == (503, 0, "10", 200, 200)
    assert limits.used == 0


def test_slow_body_times_out(tmp_path: Path, signer: Signer) -> None:
    """A body that does not arrive within the read time is refused (408), its share freed."""
    limits = BodyLimits(max_bytes=1000, read_seconds=0.05)
    site = make_site(tmp_path, signer, bodies=limits)
    body = body_of(500)
    reply = run(
        call(site.client.app, "POST", PATH, headers(signer.sign(body, NOW), 500),
             [body[:10], body[10:]], gate=asyncio.Event())
    )  # fmt: skip
    assert reply.status == 408 and limits.used == 0
    site.store.close()


def test_client_hanging_up_mid_body_is_a_refusal_not_a_crash(site: Site) -> None:
    """A sender that closes the connection before its body is complete (ASGI
    `http.disconnect`) is refused like any short body: no unhandled ClientDisconnect (which
    uvicorn logs as a 500 with a traceback), its share of the budget given back."""
    body = body_of(900)
    sent: list[dict[str, object]] = []
    messages = [
        {"type": "http.request", "body": body[:100], "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, object]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "https", "path": PATH, "raw_path": PATH.encode(), "root_path": "",
        "query_string": b"", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 443),
        "headers": [(b"host", b"news.example.com"), *headers(site.signer.sign(body, NOW), 900)],
    }  # fmt: skip
    run(site.client.app(scope, receive, send))  # raised ClientDisconnect before the fix
    assert sent[0]["status"] == 400
    assert site.bodies is not None and site.bodies.used == 0
    assert site.status("reader00001@example.com") == "subscribed"
