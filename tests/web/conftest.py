"""Every web test is also a test that no log line carries a token, a secret or a password."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest

from tests.web.support import OTHER_SECRET, SECRET

# What must never be logged: a token's shape (newsletter.tokens), a token left in a link
# path, the signing secrets, a password in a URL.
LEAKS = re.compile(
    r"[0-9]{1,25}\.[A-Za-z0-9_-]{43}"
    r"|(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"  # a token's signature alone
    # `{` is a traceback's source line
    r"|/(?:unsubscribe|resubscribe|preferences|confirm-address|confirm)/[^…/\s\"'?#{]"
    r"|://[^/\s:@]+:(?!\*\*\*@)[^/\s@]+@"
    rf"|{re.escape(SECRET)}|{re.escape(OTHER_SECRET)}"
)
# The tests' own HTTP clients log the URLs they request: not the server's output.
CLIENT_LOGGERS = ("httpx", "httpcore")


def leaks(text: str) -> list[str]:
    """The pieces of `text` that should have been redacted."""
    return [match.group(0) for match in LEAKS.finditer(text)]


@pytest.fixture(autouse=True)
def no_secret_in_any_log(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> Iterator[None]:
    """Collects every log record (the app's, via the root logger) and everything written
    to stdout/stderr (uvicorn's handlers, in-process servers) during the test, and fails
    the test if any of it holds a token, a secret or a URL password."""
    caplog.set_level(logging.INFO)
    yield
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    records = "\n".join(
        formatter.format(record)
        for stage in ("setup", "call")
        for record in caplog.get_records(stage)
        if not record.name.startswith(CLIENT_LOGGERS)
    )
    written = "".join(capfd.readouterr())
    found = leaks(records) + leaks(written)
    assert not found, f"redaction missed: {found}"
