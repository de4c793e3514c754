"""Golden files: the exact HTML and text of each sample digest.

Any change to the output shows up as a readable diff. After an intended change,
regenerate with `make golden` (UPDATE_GOLDEN=1) and review the diff in git.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from newsletter.config import load_config
from newsletter.digest import load_digest
from newsletter.render import render_issue
from tests.conftest import REPO, SAMPLE_DIGESTS

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
# Digests that exist only to be rendered here: what the samples lack (item URLs, an
# outlet name too long for one line).
GOLDEN_ONLY = sorted((GOLDEN / "digests").glob("*.json"))
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def normalise_html(html: str) -> str:
    """One tag per line so diffs point at the element that changed."""
    return re.sub(r">\s*<", ">\n<", html).strip() + "\n"


def check_golden(path: Path, actual: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"{path} missing: run `make golden` to create it")
    assert actual == path.read_text(encoding="utf-8"), f"{path} differs: review, then `make golden`"


@pytest.mark.golden
@pytest.mark.parametrize("digest_path", SAMPLE_DIGESTS + GOLDEN_ONLY, ids=lambda p: p.stem)
def test_rendered_output_matches_golden(digest_path: Path) -> None:
    """The sample digest (and each golden-only one) renders to exactly the committed
    HTML and text."""
    issue = render_issue(load_digest(digest_path), load_config(REPO / "config.yaml"))
    check_golden(GOLDEN / digest_path.stem / "email.html", normalise_html(issue.html))
    check_golden(GOLDEN / digest_path.stem / "email.txt", issue.text)
