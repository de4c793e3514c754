"""Sign-up with double opt-in under load on loopback: 1,000 sign-ups, 1,000 confirmations.

Target (issue 14): 1,000 sign-up POSTs from 50 concurrent clients against
`newsletter serve` (uvicorn, in a child process, on 127.0.0.1, over a SQLite store,
the outbox transport), then the 1,000 confirmations (each: the Confirm page, then its
button's POST), 50 clients again: no error answer, no sign-up lost (every address
subscribed at the end), and exactly one confirmation email per address. Each client
shows the form (GET, for its form token) before each POST, as a browser does; the
figures are the POSTs' latencies and rates.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path

import httpx2
import yaml

from bench.common import Figure, Result, newsletter_command, serve_in_child

REPO = Path(__file__).resolve().parent.parent
SECRET = "bench-signup-secret-0123456789-abcdefghijkl"  # noqa: S105 - a throw-away value
SIGNUPS = 1000
CLIENTS = 50
_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
_LINK = re.compile(r"/confirm/[0-9]+\.[0-9]+\.[A-Za-z0-9_-]{43}")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def write_site(folder: Path) -> tuple[Path, str]:
    """config.yaml for `serve` on a free port: SQLite store, outbox in `folder`, the
    fill-time guard off and the per-IP limit raised (every client here is 127.0.0.1)."""
    url = f"http://127.0.0.1:{_free_port()}"
    config = folder / "config.yaml"
    settings = {
        "publication": {"public_base_url": url},
        "paths": {"digests": str(REPO / "digests"), "templates": str(REPO / "templates")},
        "database": {"url": f"sqlite:///{folder / 'store.sqlite3'}"},
        "delivery": {"transport": "outbox", "outbox": {"folder": str(folder / "outbox")}},
        "signup": {"min_fill_seconds": 0, "rate_limit_per_ip_per_hour": 100_000},
    }
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return config, url


def start_server(folder: Path, config: Path, url: str) -> subprocess.Popen[bytes]:
    subprocess.run(
        newsletter_command("--config", str(config), "db", "init"),
        cwd=folder,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return serve_in_child(folder, config, url, SECRET)


async def _sign_up(
    client: httpx2.AsyncClient, emails: list[str], latencies: list[float], statuses: list[int]
) -> None:
    for address in emails:
        page = await client.get("/subscribe")
        found = _TOKEN.search(page.text)
        token = found.group(1) if found else ""
        started = time.perf_counter()
        answer = await client.post(
            "/subscribe",
            data={"email": address, "lists": "weekly", "consent": "yes", "form_token": token},
            headers={"Origin": str(client.base_url).rstrip("/")},
        )
        latencies.append(time.perf_counter() - started)
        statuses.append(answer.status_code if "Check your inbox" in answer.text else 599)


async def _confirm(
    client: httpx2.AsyncClient, paths: list[str], latencies: list[float], statuses: list[int]
) -> None:
    for path in paths:
        page = await client.get(path)
        found = _TOKEN.search(page.text)
        started = time.perf_counter()
        answer = await client.post(path, data={"form_token": found.group(1) if found else ""})
        latencies.append(time.perf_counter() - started)
        statuses.append(answer.status_code if "You are subscribed" in answer.text else 599)


async def _load(url: str, work: list[str], step: str) -> tuple[float, list[float], list[int]]:
    latencies: list[float] = []
    statuses: list[int] = []
    shares = [work[n::CLIENTS] for n in range(CLIENTS)]
    limits = httpx2.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    action = _sign_up if step == "sign-up" else _confirm
    async with httpx2.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(action(client, share, latencies, statuses) for share in shares))
        elapsed = time.perf_counter() - started
    return elapsed, latencies, statuses


def _confirmations(folder: Path) -> tuple[list[str], Counter[str]]:
    """The confirmation links in the outbox and how many emails each address got."""
    links: list[str] = []
    per_address: Counter[str] = Counter()
    for path in (folder / "outbox").rglob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        per_address[str(message["To"])] += 1
        text = message.get_body(("plain",))
        found = _LINK.search(text.get_content()) if text is not None else None
        if found:
            links.append(found.group(0))
    return links, per_address


def _subscribed(folder: Path, emails: list[str]) -> int:
    from newsletter.store import Status, Store

    with Store.open(f"sqlite:///{folder / 'store.sqlite3'}") as store:
        return sum(
            1
            for address in emails
            if (found := store.subscribers.get(address)) and found.status == Status.SUBSCRIBED
        )


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run() -> Result:
    emails = [f"signup{n:05d}@example.com" for n in range(1, SIGNUPS + 1)]
    with tempfile.TemporaryDirectory(prefix="newsletter-bench-signup-") as tmp:
        folder = Path(tmp)
        config, url = write_site(folder)
        server = start_server(folder, config, url)
        try:
            signup_s, signup_lat, signup_status = asyncio.run(_load(url, emails, "sign-up"))
            links, per_address = _confirmations(folder)
            confirm_s, confirm_lat, confirm_status = asyncio.run(_load(url, links, "confirm"))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        subscribed = _subscribed(folder, emails)
    errors = sum(1 for s in signup_status + confirm_status if s != 200)
    not_once = sum(1 for address in emails if per_address[address] != 1)
    return Result(
        name="signup-load",
        title=f"Sign-up load: {SIGNUPS:,} sign-ups from {CLIENTS} clients, then confirmations",
        description=(
            f"`newsletter serve` (uvicorn, one process) in a child process on 127.0.0.1 over a "
            f"SQLite store, outbox transport. {SIGNUPS:,} sign-up POSTs from {CLIENTS} "
            "concurrent clients (httpx2, keep-alive), each after a GET of the form for its "
            "form token, each stored and its confirmation email written before the answer; "
            f"then the {SIGNUPS:,} confirmations (GET of the Confirm page, then its POST), "
            f"{CLIENTS} clients. Latencies are of the POSTs, queueing included: one process "
            "does some 40 ms of work per sign-up (a SQLite write transaction, the notice, "
            "its MIME bytes and outbox file), so with 50 clients waiting a POST waits for "
            "the others. The load-generating client runs on the same 2 shared cores as the "
            "server, so the rates are floors."
        ),
        figures=[
            Figure("sign-ups per second (form GET + POST)", SIGNUPS / signup_s, "sign-ups/s"),
            Figure("confirmations per second (page GET + POST)", SIGNUPS / confirm_s, "confirms/s"),
            Figure("sign-up POST latency, median", _percentile(signup_lat, 0.5) * 1000, "ms"),
            Figure("sign-up POST latency, p99", _percentile(signup_lat, 0.99) * 1000, "ms"),
            Figure("confirm POST latency, median", _percentile(confirm_lat, 0.5) * 1000, "ms"),
            Figure("confirm POST latency, p99", _percentile(confirm_lat, 0.99) * 1000, "ms"),
            Figure("error answers", float(errors), "answers", 0),
            Figure("sign-ups lost", float(SIGNUPS - subscribed), "readers", 0),
            Figure("addresses without exactly one email", float(not_once), "addresses", 0),
        ],
    )


if __name__ == "__main__":
    for figure in run().figures:
        print(figure)
    sys.exit(0)
