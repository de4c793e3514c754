"""Fixtures of the store tests: a fresh, empty store on SQLite and on PostgreSQL.

Every test that takes `store` runs twice. The PostgreSQL run needs a server:
NEWSLETTER_TEST_POSTGRES_URL names a database on it (.ci/run starts one);
without it those runs skip, or fail in CI (NEWSLETTER_REQUIRE_TOOLS=1). Each
test gets its own schema there, dropped afterwards, so tests never see each
other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from newsletter.store import Store
from tests.tools import missing

POSTGRES_ENV = "NEWSLETTER_TEST_POSTGRES_URL"
SECRET = "store-tests-secret-0123456789abcdefghij"  # noqa: S105 - a test secret


def postgres_url() -> URL:
    """The test server's URL, or skip (fail in CI) with how to provide one."""
    raw = os.environ.get(POSTGRES_ENV, "").strip()
    if not raw:
        missing(
            f"set {POSTGRES_ENV} to a PostgreSQL database to run the store tests on it, "
            "e.g. postgresql+psycopg://postgres@127.0.0.1:54329/newsletter_test "
            "(see .ci/run for a throw-away server)"
        )
    url = make_url(raw)
    return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Callable[[], URL]]:
    """Makes fresh schemas on the test server; drops them at the end of the session."""
    made: list[str] = []
    engine = None

    def fresh_schema() -> URL:
        nonlocal engine
        url = postgres_url()
        engine = engine or create_engine(url)
        name = f"t_{uuid.uuid4().hex[:12]}"
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        made.append(name)
        return url.update_query_dict({"options": f"-csearch_path={name}"})

    yield fresh_schema
    if engine is not None:
        # One transaction per schema: dropping them all in one takes a lock per table,
        # index and sequence of every schema at once, past PostgreSQL's lock table
        # (max_locks_per_transaction) once the suite makes a few hundred stores.
        for name in made:
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_admin: Callable[[], URL]
) -> URL:
    """The URL of an empty store: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        return make_url(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    return postgres_admin()


@pytest.fixture
def store(store_url: URL) -> Iterator[Store]:
    """A migrated, empty store (each test twice: SQLite and PostgreSQL)."""
    with Store.open(store_url, create=True) as opened:
        yield opened


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty SQLite store, for what only concerns SQLite."""
    with Store.open(make_url(f"sqlite:///{tmp_path / 'store.sqlite3'}"), create=True) as opened:
        yield opened


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """NEWSLETTER_SECRET set to a test value."""
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    return SECRET


def write_csv(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write CSV text exactly as given (newlines untouched) and return the path."""
    path.write_bytes(text.encode(encoding))
    return path
