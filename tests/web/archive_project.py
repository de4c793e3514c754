"""A throw-away project folder for the archive's end-to-end tests: config, digests, CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner, Result

from newsletter.cli import cli
from newsletter.config import Config, load_config
from newsletter.csvio import CsvRow
from newsletter.store import Store
from tests.conftest import REPO
from tests.web.support import SECRET

SAMPLES = REPO / "digests"


@dataclass
class ArchiveProject:
    """config.yaml, digests/, a private copy of the templates and an outbox in `folder`."""

    folder: Path
    database: str
    base_url: str = "https://news.example.com"

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "digests").mkdir(exist_ok=True)
        templates = self.folder / "templates"
        if not templates.exists():
            shutil.copytree(REPO / "templates", templates)
        settings: dict[str, Any] = {
            "publication": {"public_base_url": self.base_url},
            # The public URL is on example.com (RFC 2606: never reachable); the check's default
            # deny list would block every send. The check's own tests keep the defaults.
            "check": {"deny_hosts": ["localhost", ".invalid", ".test"]},
            "lists": {"weekly": {"file": "weekly.csv", "weekly": True}},
            "paths": {"digests": "digests", "templates": "templates"},
            "database": {"url": self.database},
            "delivery": {"transport": "outbox", "outbox": {"folder": "outbox"}},
        }
        (self.folder / "config.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")

    def digest(self, sample: str, into: str = "digests", name: str | None = None) -> Path:
        """Copy a sample digest into the project (under another name if given)."""
        target = self.folder / into / (name or f"{sample}.json")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES / f"{sample}.json", target)
        return target

    def config(self) -> Config:
        return load_config(self.folder / "config.yaml")

    def subscribe(self, count: int) -> None:
        with Store.open(self.database, create=True) as store:
            rows = [CsvRow(n, f"reader{n:05d}@example.com", None, None) for n in range(count)]
            store.subscribers.import_entries(rows, "weekly", origin="test")

    def run(self, *args: str) -> Result:
        """The CLI in this process, with this project's config."""
        config = str(self.folder / "config.yaml")
        return CliRunner().invoke(
            cli, ["--config", config, *args], env={"NEWSLETTER_SECRET": SECRET}
        )

    def process(self, *args: str, **options: Any) -> subprocess.Popen[bytes]:
        """The CLI as a separate process started in this folder (another host, in effect)."""
        return subprocess.Popen(
            [sys.executable, "-m", "newsletter", "--config", "config.yaml", *args],
            cwd=self.folder,
            env={"NEWSLETTER_SECRET": SECRET, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            **options,
        )

    def send(self, digest: Path) -> str:
        """`newsletter send DIGEST --list weekly` in its own process; its output."""
        child = self.process("send", str(digest), "--list", "weekly")
        output, _ = child.communicate(timeout=120)
        text = output.decode()
        assert child.returncode == 0, text
        return text
