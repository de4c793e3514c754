"""Dispatch fixtures: a World on SQLite, and on PostgreSQL where the ledger must hold there too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from tests.dispatch.support import World, make_world
from tests.store.conftest import postgres_admin

__all__ = ["postgres_admin"]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A project with a SQLite store."""
    made = make_world(tmp_path, monkeypatch)
    yield made
    made.store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_admin: Callable[[], URL],
) -> Iterator[World]:
    """The same test on SQLite and on PostgreSQL."""
    url = None if request.param == "sqlite" else postgres_admin()
    made = make_world(tmp_path, monkeypatch, url)
    yield made
    made.store.close()
