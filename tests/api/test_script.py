"""The public API alone sends an issue: a script with only `from newsletter import Newsletter`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.api.project import DIGEST, READERS, SECRET, write_project

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
