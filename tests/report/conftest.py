"""The report's fixtures: a project that sent two issues, and the fake events behind it."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter import Newsletter
from newsletter.store import store as store_module
from tests.api.project import SECRET
from tests.report.support import ANOMALY, COUNTS, ISSUE, LINKS, FakeEvents, sent_project, totals
from tests.store.conftest import postgres_admin


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> FakeEvents:
    """Fake events, reached as every store's `store.events` (as the real repository is)."""
    fake = FakeEvents()
    # Every Store makes its repository in __init__ (`EventRepository(database)`): each
    # Store the API opens during the test gets the fake instead.
    monkeypatch.setattr(store_module, "EventRepository", lambda database: fake)
    return fake


@pytest.fixture
def nl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, events: FakeEvents) -> Newsletter:
    """The API on a project that sent two issues (see `sent_project`)."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    return sent_project(tmp_path)


@pytest.fixture
def heard(events: FakeEvents) -> FakeEvents:
    """SendGrid's events for 2025-09-12 on every list, and 1 unsubscribe attributed to it."""
    events.by_issue[(ISSUE, None)] = totals(
        counts=COUNTS,
        links=LINKS,
        dropped_by_reason={"Bounced Address": 1, "Unsubscribed Address": 1},
        resolved_by_evidence=2,
        anomalies=(ANOMALY,),
    )
    events.unsubscribes[(ISSUE, None)] = 1
    return events


__all__ = ["events", "heard", "nl", "postgres_admin"]
