"""SpamAssassin's local tests on the finished message (no network tests, no Bayes).

`spamassassin -L -t -x` with HOME set to a throw-away folder (it has no option for its
own folder and writes into the home otherwise); the score is read from the
X-Spam-Status header of its output. Any score above 0 blocks: a newsletter that
starts out positive has nothing left for the recipient's own rules to add.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import subprocess
import tempfile

from newsletter.check.findings import Finding, blocking
from newsletter.check.tools import SPAMASSASSIN_ENV, spamassassin

MAX_SCORE = 0.0
TIMEOUT_SECONDS = 120
_SCORE = re.compile(r"score=(-?[0-9.]+)")
_TESTS = re.compile(r"tests=([^ ]*)")


def spam_check(raw_message: bytes) -> tuple[tuple[Finding, ...], tuple[str, ...]]:
    """Findings and skip notes for one MIME message."""
    program = spamassassin()
    if program is None:
        return (), (
            f"spam score: skipped, spamassassin is not installed (or set {SPAMASSASSIN_ENV})",
        )
    command = [str(program), "-L", "-t", "-x", "--cf", "use_bayes 0", "--cf", "bayes_auto_learn 0"]
    try:
        with tempfile.TemporaryDirectory(prefix="newsletter-spam-") as home:
            result = subprocess.run(  # noqa: S603 - a fixed command line, the message on stdin
                command,
                input=raw_message,
                capture_output=True,
                timeout=TIMEOUT_SECONDS,
                check=True,
                env={**os.environ, "HOME": home},
            )
    except (OSError, subprocess.SubprocessError) as err:
        return (), (f"spam score: skipped, spamassassin failed: {err}",)
    status = email.message_from_bytes(result.stdout, policy=email.policy.default)
    # Folded over lines after a comma in the test list: unfold and close the gaps.
    header = re.sub(r",\s+", ",", " ".join(str(status.get("X-Spam-Status", "")).split()))
    score = _SCORE.search(header)
    if score is None:
        return (), ("spam score: skipped, spamassassin gave no X-Spam-Status score",)
    if float(score.group(1)) <= MAX_SCORE:
        return (), ()
    tests = _TESTS.search(header)
    return (
        blocking(
            "spam-score",
            "",
            f"SpamAssassin's local tests score the message {score.group(1)} (above "
            f"{MAX_SCORE:g}); tests: {tests.group(1) if tests else '?'}",
            "look up each test at https://spamassassin.apache.org/tests.html and change "
            "the wording or markup that triggers it",
        ),
    ), ()
