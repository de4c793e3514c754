"""The public API alone sends an issue: a script with only `from newsletter import Newsletter`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.project import DIGEST, READERS, SECRET, write_project
from tests.conftest import REPO

SCRIPT = f"""
import sys
from newsletter import Newsletter

nl = Newsletter.from_config(sys.argv[1])
digest = nl.validate({str(DIGEST)!r})
rendered = nl.render({str(DIGEST)!r})
synced = nl.sync()
sent = nl.send({str(DIGEST)!r}, "weekly")
[status] = nl.status(digest.date.isoformat())
print(digest.date, len(rendered.files), synced.created_store is not None)
print(sent.outcome, sent.needs_attention, sent.report.counts)
print(status.send.state, status.counts)
print("click" in sys.modules)
"""


def test_a_script_validates_renders_syncs_sends_and_reads_status_without_click(
    tmp_path: Path,
) -> None:
    """In a fresh process on a fresh project: validate, render, sync the list, send the
    issue through the outbox and read its status, using nothing but `Newsletter`; click is
    never imported on that path."""
    config = write_project(tmp_path)
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSLETTER_")}
    env["NEWSLETTER_SECRET"] = SECRET
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(config)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # the library prints nothing, warns nothing
    assert done.stdout.splitlines() == [
        "2025-09-12 3 True",
        f"sent False {{'accepted': {len(READERS)}}}",
        f"finished {{'accepted': {len(READERS)}}}",
        "False",
    ]
    assert sorted(p.name for p in (tmp_path / "build" / "2025-09-12").iterdir()) == [
        "email.html",
        "email.mjml",
        "email.txt",
    ]
    assert len(list((tmp_path / "outbox" / "2025-09-12-weekly" / "new").iterdir())) == len(READERS)


def test_importing_newsletter_stays_cheap() -> None:
    """`import newsletter` (what the CSV reader child process pays) loads neither the API
    nor SQLAlchemy nor click; `newsletter.Newsletter` loads the API on first use."""
    probe = (
        "import sys, newsletter\n"
        "print(sorted(m for m in ('sqlalchemy', 'click', 'newsletter.api') if m in sys.modules))\n"
        "newsletter.Newsletter\n"
        "print('newsletter.api' in sys.modules, 'click' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.splitlines() == ["[]", "True False"]


def _documented_script() -> str:
    """The Python block under "A complete script" in docs/api.md, as a reader copies it."""
    text = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    section = text.split("## A complete script", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("secret", [SECRET, None], ids=["with-secret", "without-secret"])
def test_the_script_in_docs_api_runs_as_written(tmp_path: Path, secret: str | None) -> None:
    """docs/api.md's complete script, copied as it stands, on a fresh project: with
    NEWSLETTER_SECRET it previews, sends and prints each list's status (exit 0); without
    it, the ConfigError (not a NewsletterError) is still caught and reported as one line
    with exit 4, never a traceback."""
    write_project(tmp_path)
    (tmp_path / "digests").mkdir()
    shutil.copy(DIGEST, tmp_path / "digests" / DIGEST.name)
    script = _documented_script()
    env = {key: value for key, value in os.environ.items() if not key.startswith("NEWSLETTER_")}
    if secret:
        env["NEWSLETTER_SECRET"] = secret
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=120,
    )
    assert "Traceback" not in done.stderr
    if secret is None:
        assert (done.returncode, done.stdout) == (4, "")
        assert done.stderr.startswith("NEWSLETTER_SECRET is not set")
        return
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[-1] == f"weekly finished {{'accepted': {len(READERS)}}}"
    assert lines[-2] == f"2025-09-12 → weekly: {len(READERS)} sent"
