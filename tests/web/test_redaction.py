"""No token, secret or URL password reaches a log line: redact() and the server's logs."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx2
import pytest

from newsletter.errors import StoreError
from newsletter.redaction import RedactingFilter, redact, redacting_logger
from newsletter.secrets import Secret
from newsletter.store import Store
from newsletter.web.server import log_config
from tests.web.conftest import CLIENT_LOGGERS, leaks
from tests.web.support import SECRET, local_site_config, served, subscribe

TOKEN = "17." + "A" * 40 + "b_-"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"/unsubscribe/{TOKEN}?x=1", "/unsubscribe/…?x=1"),
        ("/resubscribe/17.abc", "/resubscribe/…"),
        (f"GET /preferences/{TOKEN}/erase HTTP/1.1", "GET /preferences/… HTTP/1.1"),
        ("POST /confirm-address/5.1790000000.abc HTTP/1.1", "POST /confirm-address/… HTTP/1.1"),
        (f"POST /unsubscribe/{TOKEN} HTTP/1.1", "POST /unsubscribe/… HTTP/1.1"),
        ("GET /unsubscribe/ HTTP/1.1", "GET /unsubscribe/ HTTP/1.1"),
        ("/archive/2025-09-12/", "/archive/2025-09-12/"),
        (f"/x?token={TOKEN}&page=2", "/x?token=…&page=2"),
        ("/x?API_KEY=SG.abc;q=1", "/x?API_KEY=…;q=1"),
        (f"lookup failed for {TOKEN}.", "lookup failed for …."),
        (f"/unsubscribe/{TOKEN.replace('.', '/')} HTTP/1.1", "/unsubscribe/… HTTP/1.1"),
        (f"/resubscribe/{TOKEN}/x/?q=1", "/resubscribe/…?q=1"),
        (f"/other/{TOKEN.replace('.', '%2E')}", "/other/…"),
        (f"/other?x={TOKEN.replace('.', '%2e')}&y=2", "/other?x=…&y=2"),
        (f"/other/{TOKEN.split('.')[1]}/", "/other/…/"),
        (f"signature {TOKEN.split('.')[1]}", "signature …"),
        ("sha256 " + "a" * 64, "sha256 " + "a" * 64),
        ("postgresql://user:PASSWORD@db.example.com/news", "postgresql://user:***@db.example.com/news"),
        ("postgresql://user:p@ss@db/news", "postgresql://user:***@db/news"),
        ("postgresql://user:pa/ss@db:5432/news", "postgresql://user:***@db:5432/news"),
        ("postgresql://user:PASSWORD/db", "postgresql://user:***/db"),
        ("https://ghp_secret@github.com/x", "https://***@github.com/x"),
        ("http://127.0.0.1:8000/healthz", "http://127.0.0.1:8000/healthz"),
        ("http://[::1]:8000/", "http://[::1]:8000/"),
        ("sqlite:////var/lib/news/store.sqlite3", "sqlite:////var/lib/news/store.sqlite3"),
    ],
)  # fmt: skip
def test_redact(text: str, expected: str) -> None:
    """Tokens in paths, secret query values, bare tokens and URL passwords are hidden;
    everything else is left as it was."""
    assert redact(text) == expected


def test_filter_redacts_message_arguments_and_traceback() -> None:
    """A record's message, its arguments and its formatted traceback are all redacted, and
    arguments keep their types (uvicorn's access formatter unpacks them)."""
    try:
        raise RuntimeError(f"failed on /unsubscribe/{TOKEN}")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "%s %s %d", ("POST", f"/unsubscribe/{TOKEN}", 503),
            sys.exc_info(),
        )  # fmt: skip
    RedactingFilter().filter(record)
    assert record.args == ("POST", "/unsubscribe/…", 503)
    text = logging.Formatter().format(record)
    assert TOKEN not in text and "RuntimeError: failed on /unsubscribe/…" in text


def formatted(msg: str, *args: object, name: str = "uvicorn.error", **extra: object) -> str:
    """A record as a logger makes it, through the filter, then formatted as a handler would."""
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    assert RedactingFilter().filter(record)
    assert "color_message" not in record.__dict__
    return logging.Formatter().format(record)


def test_format_placeholders_survive_and_messages_still_format() -> None:
    """A format string is redacted around its placeholders: uvicorn's start-up line
    `Uvicorn running on %s://%s:%d` (whose `:%d` once read as a URL password, so the line
    was lost with a `--- Logging error ---` traceback) prints whole; a URL password in the
    format string itself is still hidden."""
    startup = "Uvicorn running on %s://%s:%d (Press CTRL+C to quit)"
    line = formatted(startup, "http", "127.0.0.1", 80)
    assert line == "Uvicorn running on http://127.0.0.1:80 (Press CTRL+C to quit)"
    assert formatted("%(n)s at postgresql://u:pw@db/x, %d%%", name="x") == (
        "%(n)s at postgresql://u:***@db/x, %d%%"
    )  # no arguments: not a format string
    assert formatted("connect postgresql://u:pw@db/%s failed", "news") == (
        "connect postgresql://u:***@db/news failed"
    )


def test_a_token_assembled_from_arguments_is_hidden() -> None:
    """A token or password that only takes shape once the message is formatted (an id and
    a signature passed apart, a URL built from its parts) is hidden in the line."""
    subscriber, signature = TOKEN.split(".")
    line = formatted("link %s.%s failed", subscriber, signature, name="newsletter.x")
    assert line == "link 17.… failed"  # the signature alone is hidden as an argument
    halves = (signature[:20], signature[20:])
    line = formatted("link %s.%s%s failed", subscriber, *halves, name="newsletter.x")
    assert line == "link … failed"
    assert formatted("%s://%s:%s@%s/db", "postgresql", "u", "pw", "h") == (
        "postgresql://u:***@h/db"
    )


def test_uvicorns_coloured_copy_of_a_message_is_dropped() -> None:
    """uvicorn prints `color_message` instead of the message on a terminal; it was never
    redacted, so the filter drops it (checked in `formatted`)."""
    line = formatted("%s", f"/unsubscribe/{TOKEN}", color_message=f"/unsubscribe/{TOKEN}")
    assert line == "/unsubscribe/…"


def test_redacting_logger_filters_before_any_handler(caplog: pytest.LogCaptureFixture) -> None:
    """Records from a redacting logger are redacted before pytest's (or any) handler sees them."""
    caplog.set_level(logging.INFO)
    redacting_logger("newsletter.test").info("answering %s", f"/unsubscribe/{TOKEN}")
    assert caplog.records[-1].getMessage() == "answering /unsubscribe/…"


def test_live_server_logs_hold_no_token(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Against the real uvicorn server: a locked store (503), a token in a query, an
    unhandled error whose message holds the token: the access log, the app's error line
    and uvicorn's traceback all show `/unsubscribe/…`, never the token."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    config, port = local_site_config()
    store = Store.open(f"sqlite:///{tmp_path / 'store.sqlite3'}", create=True)
    (email,) = subscribe(store, 1)
    token = store.subscribers.token_for(email, Secret("NEWSLETTER_SECRET", SECRET))

    def locked(*_: object, **__: object) -> None:
        raise StoreError(f"database is locked (while unsubscribing via /unsubscribe/{token})")

    def crash(*_: object, **__: object) -> None:
        raise RuntimeError(f"unexpected failure for /unsubscribe/{token}")

    with served(config, store, port, log_level="info") as url:
        monkeypatch.setattr(store.subscribers, "unsubscribe", locked)
        assert httpx2.post(f"{url}/unsubscribe/{token}").status_code == 503
        assert httpx2.get(f"{url}/healthz?token={token}").status_code == 200
        # Links mangled on their way: the token split over two segments, a slash added,
        # its dot percent-encoded in a query. Each still carries the signature.
        subscriber_id, signature = token.split(".")
        assert httpx2.get(f"{url}/unsubscribe/{subscriber_id}/{signature}").status_code == 404
        assert httpx2.get(f"{url}/resubscribe/{token}/x").status_code == 404
        assert httpx2.get(f"{url}/healthz?u={subscriber_id}%2E{signature}").status_code == 200
        assert httpx2.get(f"{url}/{signature}").status_code == 404
        monkeypatch.setattr(store.subscribers, "get_by_id", crash)
        assert httpx2.get(f"{url}/unsubscribe/{token}").status_code == 500
    store.close()
    out, err = capfd.readouterr()
    app_log = "\n".join(
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith(CLIENT_LOGGERS)
    )
    log = out + err + app_log
    assert "store error while answering POST /unsubscribe/…" in app_log
    assert '"POST /unsubscribe/… HTTP/1.1" 503' in log
    assert "RuntimeError: unexpected failure for /unsubscribe/…" in log
    assert '"GET /unsubscribe/… HTTP/1.1" 404' in log
    assert token not in log and token.split(".")[1] not in log
    assert not leaks(log)


def test_serve_writes_the_apps_lines_through_the_redacting_handler() -> None:
    """`newsletter serve` sends the package's own log lines to uvicorn's handler, and every
    handler of its logging configuration carries the redacting filter."""
    config = log_config(app_logs=True)
    assert config["loggers"]["newsletter"]["handlers"] == ["default"]
    assert all(h["filters"] == ["redact"] for h in config["handlers"].values())
    assert config["filters"]["redact"]["()"] == "newsletter.redaction.RedactingFilter"
