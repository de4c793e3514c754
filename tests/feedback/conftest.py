"""The feedback tests keep the web tests' log check (they lived in tests/web until issue 11):
no log line or output of theirs may carry a token, a secret or a URL password."""

from __future__ import annotations

from tests.web.conftest import no_secret_in_any_log

__all__ = ["no_secret_in_any_log"]  # an autouse fixture: importing it applies it here
