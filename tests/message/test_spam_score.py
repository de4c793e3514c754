"""What leaves must not look like spam: SpamAssassin's local tests score it ≤ 1.0."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
from pathlib import Path

from newsletter.message.mime import mime_bytes
from tests.delivery_support import personal_messages
from tests.tools import find_tool

MAX_SCORE = 1.0


def spam_status(raw: bytes, home: Path) -> str:
    spamassassin = find_tool("NEWSLETTER_SPAMASSASSIN", "spamassassin")
    result = subprocess.run(
        [str(spamassassin), "-L", "-t", "-x", "--cf", "use_bayes 0", "--cf", "bayes_auto_learn 0"],
        input=raw,
        capture_output=True,
        timeout=120,
        check=True,
        env={**os.environ, "HOME": str(home)},  # it writes into $HOME otherwise
    )
    checked = email.message_from_bytes(result.stdout, policy=email.policy.default)
    return str(checked["X-Spam-Status"])


def score_of(status: str) -> float:
    return float(status.split("score=", 1)[1].split()[0])


def test_newsletter_scores_at_most_one(tmp_path: Path) -> None:
    """The finished MIME message scores ≤ 1.0 in SpamAssassin's local tests."""
    raw = mime_bytes(personal_messages(1)[0])
    status = spam_status(raw, tmp_path)
    assert score_of(status) <= MAX_SCORE, status
