"""Issues kept as sent: once per version, never rewritten, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from newsletter.store import Store
from newsletter.store.snapshots import IssueSnapshot, add_version, keep

PLACEHOLDER = "https://unsubscribe-url.invalid/0123456789abcdef01234567"


def snapshot(issue_id: str = "2025-09-12", body: str = "first") -> IssueSnapshot:
    digest_json = f'{{"title":"{body}"}}'
    return IssueSnapshot(
        issue_id=issue_id,
        subject=f"Subject {body}",
        digest_json=digest_json,
        html=f"<p>{body}</p><a href='{PLACEHOLDER}'>Unsubscribe</a>",
        text=f"{body}\nUnsubscribe: {PLACEHOLDER}",
        unsubscribe_placeholder=PLACEHOLDER,
        content_hash=hashlib.sha256(digest_json.encode()).hexdigest(),
        message_hash=hashlib.sha256(body.encode()).hexdigest(),
    )


def test_an_issue_is_kept_once_per_version(store: Store) -> None:
    """The same message kept again (another list, a resumed run) writes nothing; a
    different one becomes version 2; the first stays exactly as it was."""
    first = store.issues.keep_sent_issue(snapshot())
    again = store.issues.keep_sent_issue(snapshot())
    assert again == first
    assert (first.version, first.origin) == (1, "send")
    changed = store.issues.keep_sent_issue(snapshot(body="edited"))
    assert changed.version == 2
    assert store.issues.sent_issue("2025-09-12") == changed
    assert store.issues.sent_issue_versions("2025-09-12") == [first, changed]
    assert first.html == "<p>first</p><a href='" + PLACEHOLDER + "'>Unsubscribe</a>"
    assert first.first_sent_at.tzinfo is not None


def test_back_to_an_earlier_message_is_a_new_latest_version(store: Store) -> None:
    """A, then B, then A again: the archive's latest is A (what went out last), as version 3."""
    store.issues.keep_sent_issue(snapshot(body="a"))
    store.issues.keep_sent_issue(snapshot(body="b"))
    latest = store.issues.keep_sent_issue(snapshot(body="a"))
    assert latest.version == 3 and latest.html.startswith("<p>a</p>")


def test_issues_are_kept_apart(store: Store) -> None:
    """Versions count per issue; an issue never kept has none."""
    store.issues.keep_sent_issue(snapshot("2025-09-05"))
    assert store.issues.keep_sent_issue(snapshot("2025-09-12")).version == 1
    assert store.issues.sent_issue("2024-01-01") is None


def test_a_version_taken_at_the_same_moment_is_not_overwritten(store: Store) -> None:
    """Two runs adding a version of one issue at once (PostgreSQL's read committed allows
    it): the loser's insert does nothing, its transaction stays usable, and nothing
    already stored changes."""
    first = store.issues.keep_sent_issue(snapshot(body="a"))
    with store.database.write() as conn:
        assert (
            add_version(conn, snapshot(body="b"), 1, now=datetime.now(UTC), origin="send") is None
        )
        assert keep(conn, snapshot(body="b"), now=datetime.now(UTC)) is not None  # still usable
    assert store.issues.sent_issue_versions("2025-09-12")[0] == first
    assert store.issues.sent_issue("2025-09-12").version == 2  # type: ignore[union-attr]


def test_a_recovered_issue_never_lands_on_a_kept_one(store: Store) -> None:
    """Recovery of an old send keeps only a first version: if a send kept the issue in
    the meantime, that version stays the latest."""
    sent = store.issues.keep_sent_issue(snapshot(body="sent"))
    recovered = store.issues.keep_recovered_issue(
        snapshot(body="old file"), origin="recovered", first_sent_at=datetime.now(UTC)
    )
    assert recovered == sent
    assert store.issues.sent_issue_versions("2025-09-12") == [sent]
    other = store.issues.keep_recovered_issue(
        snapshot("2025-09-05"), origin="re-rendered", first_sent_at=datetime(2025, 9, 5, tzinfo=UTC)
    )
    assert (other.version, other.origin, other.first_sent_at.year) == (1, "re-rendered", 2025)
