"""Running the sending commands against a throw-away project folder."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from newsletter.cli import cli
from newsletter.csvio import CsvRow
from newsletter.store import Store
from tests.conftest import REPO
from tests.dispatch.support import SECRET

DIGEST = REPO / "digests" / "2025-09-12.json"


@dataclass
class Project:
    """A config.yaml, a SQLite store and an outbox in a temporary folder."""

    folder: Path

    @property
    def config(self) -> Path:
        return self.folder / "config.yaml"

    @property
    def database(self) -> str:
        return f"sqlite:///{self.folder / 'store.sqlite3'}"

    def write_config(self, *, require_approval: bool = False, **delivery: Any) -> None:
        """config.yaml; `dispatch` needs no approval unless `require_approval` (the
        tests of approval itself turn it on: tests/cli/test_approval_commands.py)."""
        settings = {
            "publication": {"public_base_url": "https://news.example.com"},
            "lists": {
                "weekly": {"file": "weekly.csv", "weekly": True},
                "editors": {"file": "editors.csv"},
            },
            "paths": {"digests": str(REPO / "digests"), "templates": str(REPO / "templates")},
            "database": {"url": self.database},
            "delivery": {"retry_base_seconds": 0.01, "outbox": {"folder": "outbox"}, **delivery},
            "approval": {"required_for_dispatch": require_approval},
            # The public URL is on example.com (RFC 2606: never reachable); the check's default
            # deny list would block every send. The check's own tests keep the defaults.
            "check": {"deny_hosts": ["localhost", ".invalid", ".test"]},
        }
        self.config.write_text(yaml.safe_dump(settings), encoding="utf-8")

    def subscribe(self, count: int, list_name: str = "weekly") -> list[str]:
        emails = [f"reader{n:07d}@example.com" for n in range(1, count + 1)]
        with Store.open(self.database, create=True) as store:
            rows = [CsvRow(n, email, None, None) for n, email in enumerate(emails, 2)]
            store.subscribers.import_entries(rows, list_name, origin="test")
        return emails

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        variables = {"NEWSLETTER_SECRET": SECRET, **(env or {})}
        return CliRunner().invoke(cli, ["--config", str(self.config), *args], env=variables)

    def process(self, *args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        """The CLI in a real child process (for kill -9 tests)."""
        variables = {**os.environ, "NEWSLETTER_SECRET": SECRET, **env}
        return subprocess.Popen(
            [sys.executable, "-m", "newsletter", "--config", str(self.config), *args],
            env=variables,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.folder,
        )

    def store(self) -> Store:
        return Store.open(self.database, create=True)
