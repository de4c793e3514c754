"""A closed pipe on stdout (`newsletter … | head -1`) is not reported as a bug."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_a_reader_closing_the_pipe_is_a_quiet_exit(tmp_path: Path) -> None:
    """`newsletter signup-form` (many lines) into a pipe nobody reads stops with
    exit 141 (SIGPIPE's shell code) and no 'unexpected error' or traceback on stderr."""
    script = (
        f"{sys.executable} -m newsletter signup-form | head -1 >/dev/null; exit ${{PIPESTATUS[0]}}"
    )
    done = subprocess.run(
        ["bash", "-c", script], cwd=Path(__file__).resolve().parents[2], capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert "unexpected error" not in done.stderr and "Traceback" not in done.stderr
    assert done.returncode in (0, 141)
