"""A throw-away project for the API tests: config.yaml (outbox transport), a list CSV."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import REPO

DIGEST = REPO / "digests" / "2025-09-12.json"
SECRET = "api-tests-secret-0123456789abcdefghijkl"  # noqa: S105 - a test secret
READERS = ["ann@example.com", "bob@example.org", "cy@example.net"]


def write_project(folder: Path, *, require_approval: bool = False) -> Path:
    """config.yaml in `folder` (SQLite store and outbox there), weekly.csv with READERS,
    an editors list with one editor; returns the config's path. `dispatch` needs no
    approval unless `require_approval` (tests/api/test_approval.py turns it on)."""
    (folder / "weekly.csv").write_text(
        "email,name\n" + "".join(f"{email},Reader {n}\n" for n, email in enumerate(READERS)),
        encoding="utf-8",
    )
    (folder / "editors.csv").write_text("email\ned@example.com\n", encoding="utf-8")
    settings = {
        "publication": {"public_base_url": "https://news.example.com"},
        "lists": {
            "weekly": {"file": "weekly.csv", "weekly": True},
            "editors": {"file": "editors.csv"},
        },
        "paths": {
            "digests": str(REPO / "digests"),
            "templates": str(REPO / "templates"),
            "build": str(folder / "build"),
        },
        "database": {"url": f"sqlite:///{folder / 'store.sqlite3'}"},
        "delivery": {
            "transport": "outbox",
            "retry_base_seconds": 0.01,
            "outbox": {"folder": str(folder / "outbox")},
        },
        "approval": {"required_for_dispatch": require_approval},
        # The public URL is on example.com (RFC 2606: never reachable); the check's default
        # deny list would block every send. The check's own tests keep the defaults.
        "check": {"deny_hosts": ["localhost", ".invalid", ".test"]},
    }
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return config
