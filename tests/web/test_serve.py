"""`newsletter serve` as a process manager runs it: starts, answers, logs no tokens, stops."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
import yaml

from newsletter.redaction import redact
from newsletter.secrets import Secret
from newsletter.store import Store
from tests.conftest import REPO
from tests.transports.harness import free_port
from tests.web.support import SECRET, subscribe


def wait_healthy(url: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if child.poll() is not None:
            pytest.fail(f"serve exited with {child.returncode}")
        try:
            if httpx2.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            time.sleep(0.05)
    pytest.fail("serve did not answer /healthz")


def test_serve_answers_and_keeps_tokens_out_of_the_log(tmp_path: Path) -> None:
    """The CLI serves on the port given; the access log shows /unsubscribe/… without the token;
    SIGTERM stops it cleanly."""
    database = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    port = free_port()
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump(
            {
                "publication": {"public_base_url": f"http://127.0.0.1:{port}"},
                "paths": {"templates": str(REPO / "templates"), "digests": str(REPO / "digests")},
                "database": {"url": database},
            }
        ),
        encoding="utf-8",
    )
    with Store.open(database, create=True) as store:
        (email,) = subscribe(store, 1)
        token = store.subscribers.token_for(email, Secret("NEWSLETTER_SECRET", SECRET))
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "newsletter",
            "--config",
            "config.yaml",
            "serve",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env={"NEWSLETTER_SECRET": SECRET, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, child)
        assert httpx2.get(f"{url}/unsubscribe/{token}").status_code == 200
        assert httpx2.post(f"{url}/unsubscribe/{token}").status_code == 200
    finally:
        child.send_signal(signal.SIGTERM)
        output, _ = child.communicate(timeout=20)
    # uvicorn finishes its requests, then re-raises SIGTERM: systemd counts that as a clean stop.
    assert child.returncode in (0, -signal.SIGTERM)
    log = output.decode()
    assert "Finished server process" in log
    # Every line of uvicorn's own formats through the redacting filter (none lost).
    assert f"Uvicorn running on http://127.0.0.1:{port} (Press CTRL+C to quit)" in log
    assert "Logging error" not in log and "Traceback" not in log
    assert "POST /unsubscribe/… HTTP/1.1" in log
    assert token not in log and token.split(".")[1] not in log
    with Store.open(database, create=True) as store:
        assert store.subscribers.get(email).status == "unsubscribed"  # type: ignore[union-attr]


def test_serve_without_the_secret_stops_with_a_config_error(tmp_path: Path) -> None:
    """Without NEWSLETTER_SECRET no link can be checked: exit 4 before listening."""
    (tmp_path / "config.yaml").write_text(
        yaml.safe_dump({"database": {"url": f"sqlite:///{tmp_path / 's.sqlite3'}"}}),
        encoding="utf-8",
    )
    Store.open(f"sqlite:///{tmp_path / 's.sqlite3'}", create=True).close()
    done = subprocess.run(
        [sys.executable, "-m", "newsletter", "--config", "config.yaml", "serve", "--port", "1"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 4
    assert b"NEWSLETTER_SECRET" in done.stderr


def test_redact_hides_tokens_in_paths() -> None:
    """Token paths lose the token; other paths are untouched."""
    assert redact("/unsubscribe/17.abcDEF_-x?x=1") == "/unsubscribe/…?x=1"
    assert redact("/resubscribe/17.abc") == "/resubscribe/…"
    assert redact("/archive/2025-09-12/") == "/archive/2025-09-12/"
