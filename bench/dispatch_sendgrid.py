"""Dispatch through the `sendgrid` transport, as a ratio to the bare-client floor (issue 16).

At 100,000, 300,000 and 1,000,000 recipients, in the same run, on the same machine
and against the same kind of server: first the bare-client floor
(bench/sendgrid_floor.py: the same Mail Send bodies built and posted with
sendgrid-python, 4 in flight, no store), then the real `newsletter send` (store,
ledger, exactly once). Each runs in a child process whose wall time and peak memory
are measured, against a fresh SendGrid-compatible test server in another process on
127.0.0.1 that checks every request against SendGrid's OpenAPI description.

Targets: at 1,000,000 the product takes ≤ 1.5× the floor's time and ≤ 150 MB; its
time per recipient at each size is within 15% of the others' (it grows linearly)
and its peak memory stays flat. Correctness at scale is checked here too: every
recipient ends `accepted`, each in exactly one accepted request, and the server
accepted every request. The store is filled directly with SQL (not timed).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bench.common import ChildRun, Figure, Result, newsletter_command, run_child

# BENCH_DISPATCH_SIZES=20000,50000 for a quick look; the targets are judged at the sizes given.
SIZES = tuple(
    int(n) for n in os.environ.get("BENCH_DISPATCH_SIZES", "100000,300000,1000000").split(",")
)
RATIO_LIMIT = 1.5
MEMORY_LIMIT_MB = 150.0
LINEARITY_LIMIT = 15.0  # % spread of the time per recipient across sizes
FLATNESS_LIMIT = 1.3  # peak memory at the largest size / at the smallest
REPO = Path(__file__).resolve().parent.parent
DIGEST = REPO / "digests" / "2025-09-12.json"
API_KEY = "SG.bench"
SECRET = "bench-secret-bench-secret-bench-secret-0123"  # noqa: S105 - a throw-away test value
WHEN = "2026-01-01 00:00:00.000000"
PUBLIC_URL = "https://newsletter.astanatimes.com"


def fill_store(folder: Path, count: int) -> str:
    """A migrated SQLite store with `count` subscribed members of the weekly list."""
    from newsletter.store import Store

    url = f"sqlite:///{folder / 'store.sqlite3'}"
    Store.open(url, create=True).close()  # creates and migrates the schema
    with sqlite3.connect(folder / "store.sqlite3") as db:
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO subscribers (id, email, name, attributes, status, status_changed_at, "
            "status_reason, created_at, updated_at) "
            "SELECT i, printf('reader%07d@example.com', i), printf('Reader %d', i), '{}', "
            "'subscribed', ?, 'bench', ?, ? FROM n",
            (count, WHEN, WHEN, WHEN),
        )
        db.execute(
            "INSERT INTO memberships (list_name, subscriber_id, added_at) "
            "SELECT 'weekly', id, ? FROM subscribers",
            (WHEN,),
        )
    return url


def write_config(folder: Path, url: str) -> Path:
    config = {
        "publication": {"public_base_url": PUBLIC_URL},
        "lists": {"weekly": {"file": "weekly.csv", "weekly": True}},
        "paths": {"digests": str(REPO / "digests"), "templates": str(REPO / "templates")},
        "database": {"url": url},
        "delivery": {
            "transport": "sendgrid",
            "concurrency": 4,
            "sendgrid": {"batch_size": 1000, "timeout_seconds": 60},
        },
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def write_shared(folder: Path, config_path: Path) -> Path:
    """What every request of the send shares, taken from the product's own request body
    for the same rendered issue, for the floor script to send the same bodies."""
    from newsletter.api.sending import prepare
    from newsletter.config import SendGridSettings, load_config
    from newsletter.message import Recipient
    from newsletter.transports.base import SendOptions
    from newsletter.transports.sendgrid import prepare_payload

    config = load_config(config_path)
    issue = prepare(config, DIGEST, "weekly").message
    base = f"{PUBLIC_URL}/unsubscribe/"
    one = issue.personalise(Recipient("reader0000001@example.com", base + "1.x", "Reader 1", 1))
    payload = prepare_payload([one], SendGridSettings(), SendOptions()).payload
    assert payload is not None
    request: dict[str, Any] = {k: v for k, v in payload.items() if k != "personalizations"}
    shared = {
        "request": request,
        "placeholder": issue.unsubscribe_placeholder,
        "unsubscribe_base": base,
        "issue": issue.issue_id,
        "domain": issue.message_id_domain,
    }
    path = folder / "shared.json"
    path.write_text(json.dumps(shared), encoding="utf-8")
    return path


def start_server() -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.sendgrid_server", "--no-bodies", "--api-key", API_KEY],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    if not url.startswith("http"):
        server.kill()
        reason = server.stderr.read() if server.stderr else ""
        raise SystemExit(f"the test server did not start: {reason}")
    return server, url


def server_requests(server: subprocess.Popen[str]) -> tuple[int, int]:
    """Stop the server; (requests seen, accepted) from its closing line."""
    server.terminate()
    _, err = server.communicate(timeout=30)
    line = next(line for line in err.splitlines() if line.startswith("requests="))
    fields = dict(part.split("=") for part in line.split())
    return int(fields["requests"]), int(fields["accepted"])


def against_server(args: list[str], cwd: Path) -> tuple[ChildRun, int, int]:
    """Run `args` against a fresh test server: the run, requests seen, accepted."""
    server, api = start_server()
    os.environ.update(SENDGRID_API_KEY=API_KEY, SENDGRID_API_HOST=api, NEWSLETTER_SECRET=SECRET)
    try:
        run = run_child(args, cwd=cwd)
    finally:
        requests, accepted = server_requests(server)
    if run.returncode != 0:
        raise SystemExit(f"{args} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    return run, requests, accepted


def check_ledger(store: Path, count: int) -> None:
    """Exactly once at scale: every recipient accepted once, in one claimed batch."""
    with sqlite3.connect(store) as db:
        states = dict(
            db.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall()
        )
        distinct = db.execute("SELECT count(DISTINCT subscriber_id) FROM deliveries").fetchone()[0]
    if states != {"accepted": count} or distinct != count:
        raise SystemExit(f"ledger after the send: {states}, {distinct:,} distinct readers")


def one_size(count: int) -> tuple[ChildRun, ChildRun, str]:
    """The floor's run, then the product's, for `count` recipients; the product's summary."""
    with tempfile.TemporaryDirectory(prefix="newsletter-bench-") as tmp:
        folder = Path(tmp)
        url = fill_store(folder, count)
        config = write_config(folder, url)
        shared = write_shared(folder, config)
        floor_args = [sys.executable, "-m", "bench.sendgrid_floor", str(shared), str(count)]
        floor, requests, accepted = against_server(floor_args, REPO)
        if accepted != requests or requests != -(-count // 1000):
            raise SystemExit(f"floor: {accepted} of {requests} requests accepted")
        send_args = newsletter_command(
            "--config", str(config), "send", str(DIGEST), "--list", "weekly"
        )
        product, requests, accepted = against_server(send_args, folder)
        if accepted != requests or requests != -(-count // 1000):
            raise SystemExit(f"send: {accepted} of {requests} requests accepted")
        check_ledger(folder / "store.sqlite3", count)
        summary = product.stdout.strip().splitlines()[0]
    # Each size as it finishes: the three sizes take a while on a busy machine.
    print(
        f"  {count:,}: floor {floor.seconds:.1f} s ({floor.cpu_seconds:.1f} s CPU), "
        f"send {product.seconds:.1f} s ({product.cpu_seconds:.1f} s CPU, "
        f"{product.peak_tree_mb:.0f} MB), ratio {product.seconds / floor.seconds:.2f}; {summary}",
        flush=True,
    )
    return floor, product, summary


def loop_seconds(summary: str) -> float:
    """The dispatch loop's own time, from the send's summary ("… sent in 12.3 s, …"):
    the wall time less the fixed start (imports, render, opening the store, freezing
    the audience), which would make small sends look dearer per recipient."""
    found = re.search(r"sent in ([0-9.]+) s", summary)
    if found is None:
        raise SystemExit(f"no send time in the summary: {summary}")
    return float(found.group(1))


def run() -> Result:
    runs = {count: one_size(count) for count in SIZES}
    largest, smallest = max(SIZES), min(SIZES)
    floor, product, summary = runs[largest]
    per_recipient = {n: loop_seconds(runs[n][2]) / n * 1e6 for n in SIZES}  # µs
    spread = (max(per_recipient.values()) / min(per_recipient.values()) - 1) * 100
    memory = {n: runs[n][1].peak_tree_mb for n in SIZES}
    figures = [
        Figure(
            f"{largest:,}: send / bare-client floor",
            product.seconds / floor.seconds,
            "×",
            RATIO_LIMIT,
        ),
        Figure(f"{largest:,}: send, wall time", product.seconds, "s"),
        Figure(f"{largest:,}: bare-client floor, wall time", floor.seconds, "s"),
        Figure(
            f"{largest:,}: send / floor in CPU time", product.cpu_seconds / floor.cpu_seconds, "×"
        ),
        Figure(f"{largest:,}: send, CPU time", product.cpu_seconds, "s"),
        Figure(f"{largest:,}: floor, CPU time", floor.cpu_seconds, "s"),
        Figure(
            f"{largest:,}: send, peak memory (RSS)", product.peak_tree_mb, "MB", MEMORY_LIMIT_MB
        ),
        Figure(f"{largest:,}: floor, peak memory (RSS)", floor.peak_tree_mb, "MB"),
    ]
    for n in SIZES:
        if n != largest:
            ratio = runs[n][1].seconds / runs[n][0].seconds
            figures.append(Figure(f"{n:,}: send / floor", ratio, "×"))
            figures.append(Figure(f"{n:,}: send, wall time", runs[n][1].seconds, "s"))
            figures.append(Figure(f"{n:,}: floor, wall time", runs[n][0].seconds, "s"))
    for n in SIZES:
        figures.append(Figure(f"{n:,}: send loop, time per recipient", per_recipient[n], "µs"))
    figures.append(
        Figure("spread of the time per recipient across sizes", spread, "%", LINEARITY_LIMIT)
    )
    for n in SIZES:
        figures.append(Figure(f"{n:,}: send, peak memory", memory[n], "MB"))
    figures.append(
        Figure(
            f"peak memory at {largest:,} / at {smallest:,}",
            memory[largest] / memory[smallest],
            "×",
            FLATNESS_LIMIT,
        )
    )
    return Result(
        name="dispatch-sendgrid",
        title="Dispatch through SendGrid, as a ratio to the bare-client floor",
        description=(
            f"At {', '.join(f'{n:,}' for n in SIZES)} recipients: `newsletter send "
            "digests/2025-09-12.json --list weekly` with the sendgrid transport (1000 "
            "recipients per request, 4 in flight, SQLite store: every batch committed "
            "`sending` before its request and `accepted` after) against the bare-client "
            "floor, `bench/sendgrid_floor.py`: the same 1000-personalization Mail Send "
            "bodies (address, name, one substitution with the reader's HMAC-signed "
            "unsubscribe URL, Message-ID and List-Unsubscribe headers, custom args) built "
            "and posted with sendgrid-python, 4 in flight, no store. Both in child "
            "processes, in the same run, each against a fresh SendGrid-compatible test "
            "server on 127.0.0.1 checking every request against SendGrid's OpenAPI "
            "description. After each send the benchmark checks the ledger: every reader "
            "`accepted`, exactly once. The time per recipient is the send loop's own "
            "(from the summary: without the fixed start of imports, render and freezing "
            "the audience); CPU times are the child's user + system time.\n\n"
            f"Summary at {largest:,}: `{summary}`."
        ),
        figures=figures,
    )
