"""`newsletter preview DIGEST --web`: says its URL, serves the workbench on 127.0.0.1, stops
on SIGTERM; a port in use is a clear exit 4."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from tests.api.project import DIGEST, SECRET, write_project

pytestmark = pytest.mark.timeout(90)


def workbench_command(config: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "newsletter", "--config", str(config), "preview", str(DIGEST),
            "--web", "--port", str(port)]  # fmt: skip


def test_preview_web_says_its_url_serves_and_stops(tmp_path: Path) -> None:
    """With --port 0 it picks a free port on 127.0.0.1 and prints the URL first; the page
    answers with the digest's subject; SIGTERM ends it without a traceback."""
    child = subprocess.Popen(
        workbench_command(write_project(tmp_path), 0),
        env={"NEWSLETTER_SECRET": SECRET, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert child.stdout is not None
        first = child.stdout.readline().decode()
        assert first.startswith("workbench: http://127.0.0.1:"), first
        url = first.split()[1]
        page = httpx2.get(url, timeout=30)
        assert page.status_code == 200
        assert "Foreign Media on Kazakhstan" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
    finally:
        child.send_signal(signal.SIGTERM)
        output, _ = child.communicate(timeout=20)
    assert child.returncode in (0, -signal.SIGTERM)
    assert b"Traceback" not in output


def test_a_port_in_use_is_exit_4(tmp_path: Path) -> None:
    """Another program holds the port: one line naming it and a hint, exit 4."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            workbench_command(write_project(tmp_path), port),
            env={"NEWSLETTER_SECRET": SECRET, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 4, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}".encode() in done.stderr
    assert b"--port" in done.stderr and b"Traceback" not in done.stderr
