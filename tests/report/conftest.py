"""The report's fixtures: a project that sent two issues, and the fake events behind it."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter import Newsletter
from newsletter.store import Store
from tests.api.project import SECRET
from tests.report.support import FakeEvents, sent_project


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> FakeEvents:
    """Fake events, reached as every store's `store.events` (as the real repository is)."""
    fake = FakeEvents()
    monkeypatch.setattr(Store, "events", property(lambda store: fake), raising=False)
    return fake


@pytest.fixture
def nl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, events: FakeEvents) -> Newsletter:
    """The API on a project that sent two issues (see `sent_project`)."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    monkeypatch.delenv("NEWSLETTER_DATABASE_URL", raising=False)
    return sent_project(tmp_path)
