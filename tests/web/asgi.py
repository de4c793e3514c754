"""Calling the ASGI app directly: any method, path, header bytes and body chunks, and a
record of how much of the body the app asked for."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

Receive = Callable[[], Awaitable[dict[str, Any]]]
T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` in a thread of its own: the browser tests' Playwright keeps an event
    loop running in the main thread for the whole session."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@dataclass
class Reply:
    """What the app answered, and how many body chunks it read."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks_read: int = 0

    def json(self) -> Any:
        return json.loads(self.body)


def feeder(chunks: list[bytes], reply: Reply, gate: asyncio.Event | None = None) -> Receive:
    """An ASGI `receive` giving `chunks` one by one (the last with more_body False);
    with a `gate`, it waits for it before the last chunk (a slow sender)."""
    queue = list(chunks) or [b""]

    async def receive() -> dict[str, Any]:
        if not queue:
            await asyncio.Event().wait()  # a disconnect would come here; never in these tests
        if gate is not None and len(queue) == 1:
            await gate.wait()
        reply.chunks_read += 1
        chunk = queue.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(queue)}

    return receive


async def call(
    app: Any,
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]] | None = None,
    chunks: list[bytes] | None = None,
    *,
    host: bytes = b"news.example.com",
    gate: asyncio.Event | None = None,
) -> Reply:
    """One request straight into the app; a crash of the app is answered 500, as the
    server would."""
    reply = Reply()
    all_headers = [(b"host", host), *(headers or [])]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "root_path": "",
        "query_string": b"",
        "headers": all_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 443),
    }

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            reply.status = message["status"]
            reply.headers = {
                k.decode("latin-1"): v.decode("latin-1") for k, v in message["headers"]
            }
        elif message["type"] == "http.response.body":
            reply.body += message.get("body", b"")

    try:
        await app(scope, feeder(chunks or [], reply, gate), send)
    except Exception:
        reply.status = reply.status or 500
        if reply.status < 500:
            raise
        reply.status = 500
    return reply
