"""A throw-away project for the workbench: its own digest file and templates to edit,
the editors list synced, the outbox transport; and the workbench served in a thread."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from newsletter import Newsletter
from newsletter.api import Workbench
from newsletter.web.server import workbench_server, workbench_socket
from tests.api.project import DIGEST, SECRET, write_project
from tests.conftest import REPO

HEADLINE = "EU weighs strategy as Kazakhstan deepens partnership with China"


def workbench_project(folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Newsletter, Path]:
    """The API over a project in `folder` whose templates are a copy (so a test can edit
    them), with the editors list synced; and a copy of the sample digest to edit."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    config_path = write_project(folder)
    shutil.copytree(REPO / "templates", folder / "templates")
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(
        text.replace(str(REPO / "templates"), str(folder / "templates")), encoding="utf-8"
    )
    api = Newsletter.from_config(config_path)
    api.sync("editors")
    digest = folder / "digests" / DIGEST.name
    digest.parent.mkdir()
    shutil.copy(DIGEST, digest)
    return api, digest


def edit_headline(digest: Path, headline: str) -> None:
    """Rewrite the digest file with its first item's headline replaced."""
    data: dict[str, Any] = json.loads(digest.read_text(encoding="utf-8"))
    data["items"][0]["headline"] = headline
    digest.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def outbox_previews(folder: Path) -> list[bytes]:
    """Every message the outbox transport wrote under `folder`/outbox."""
    return [p.read_bytes() for p in sorted((folder / "outbox").rglob("*")) if p.is_file()]


@contextmanager
def served_workbench(workbench: Workbench) -> Iterator[str]:
    """The workbench app under uvicorn on 127.0.0.1 (a free port), in a thread; its URL.
    Stopped on exit: its live-update streams end, then the server."""
    sock = workbench_socket(0)
    server = workbench_server(workbench, sock, log_level="warning")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the workbench did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        workbench.close()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
