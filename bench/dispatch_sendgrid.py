"""Dispatching one issue to 1,000,000 subscribers through the `sendgrid` transport.

Target (issue 5): ≤ 1000 requests, ≤ 60 s, ≤ 200 MB peak memory on a 2-core
machine. The real `newsletter send` runs in a child process (its wall time and
peak RSS are measured) against the SendGrid-compatible test server in another
process on 127.0.0.1, which validates every request against SendGrid's OpenAPI
description. The store is filled directly with SQL (not part of the figure).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from bench.common import Figure, Result, newsletter_command, run_child

SUBSCRIBERS = 1_000_000
SECONDS_LIMIT = 60.0
MEMORY_LIMIT_MB = 200.0
REQUESTS_LIMIT = 1000
REPO = Path(__file__).resolve().parent.parent
API_KEY = "SG.bench"
SECRET = "bench-secret-bench-secret-bench-secret-0123"  # noqa: S105 - a throw-away test value
WHEN = "2026-01-01 00:00:00.000000"


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
        "publication": {"public_base_url": "https://newsletter.astanatimes.com"},
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


def run() -> Result:
    with tempfile.TemporaryDirectory(prefix="newsletter-bench-") as tmp:
        folder = Path(tmp)
        url = fill_store(folder, SUBSCRIBERS)
        config = write_config(folder, url)
        server, api = start_server()
        os.environ.update(
            SENDGRID_API_KEY=API_KEY,
            SENDGRID_API_HOST=api,
            NEWSLETTER_SECRET=SECRET,
        )
        try:
            digest = str(REPO / "digests" / "2025-09-12.json")
            send = run_child(
                newsletter_command("--config", str(config), "send", digest, "--list", "weekly"),
                cwd=folder,
            )
        finally:
            requests, accepted = server_requests(server)
        if send.returncode != 0:
            raise SystemExit(f"send failed ({send.returncode}):\n{send.stdout}\n{send.stderr}")
    return Result(
        name="dispatch-sendgrid",
        title=f"Dispatch: one issue to {SUBSCRIBERS:,} subscribers through SendGrid",
        description=(
            "`newsletter send digests/2025-09-12.json --list weekly` with the sendgrid "
            "transport (1000 recipients per request, 4 in flight) against the "
            "SendGrid-compatible test server on 127.0.0.1 (validating every request), "
            "SQLite store, in a child process. The sender is CPU-bound on one core (the "
            "test server takes the other), so a busy machine shows in this figure: the same "
            "code measured 52–53 s on one day and 109–128 s on another.\n\n"
            f"Summary: `{send.stdout.strip().splitlines()[0]}`; the server accepted "
            f"{accepted:,} requests of {requests:,}."
        ),
        figures=[
            Figure("wall time", send.seconds, "s", SECONDS_LIMIT),
            Figure("requests made", float(requests), "", REQUESTS_LIMIT),
            Figure("peak memory (RSS)", send.peak_tree_mb, "MB", MEMORY_LIMIT_MB),
        ],
    )
