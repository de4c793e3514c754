"""Migrations: an empty store upgrades to the schema the code describes, and back."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL

from newsletter.errors import StoreError
from newsletter.store import Store, migrate
from newsletter.store.schema import metadata

TABLES = {"subscribers", "memberships", "status_history", "sends", "deliveries"}


def table_names(store: Store) -> set[str]:
    with store.database.read() as conn:
        return set(inspect(conn).get_table_names())


def test_head_constant_matches_the_migration_scripts() -> None:
    """migrate.HEAD names the newest script (update it when adding a migration)."""
    assert migrate.script_head() == migrate.HEAD


def test_upgrade_of_an_empty_store_creates_every_table(store_url: URL) -> None:
    """Opening an empty store migrates it to head: all tables exist, the version is HEAD."""
    with Store.open(store_url, upgrade=False, create=True) as empty:
        assert empty.schema_state().current is None
        before = empty.upgrade()
        assert before.current is None
        assert empty.schema_state().up_to_date
        assert table_names(empty) >= TABLES


def test_migrated_schema_matches_the_schema_module(store: Store) -> None:
    """What the migrations build is exactly what schema.py describes (no drift)."""
    with store.database.read() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_downgrade_to_base_and_up_again_round_trips(store: Store) -> None:
    """Every migration can be undone and redone; the store works afterwards."""
    store.subscribers.add("a@example.com", "weekly")
    store.downgrade("base")
    assert not (TABLES & table_names(store))
    store.upgrade()
    assert store.schema_state().up_to_date
    assert store.subscribers.get("a@example.com") is None  # base means empty
    store.subscribers.add("a@example.com", "weekly")


def test_a_store_newer_than_the_code_is_refused(store: Store) -> None:
    """A schema revision this code does not know stops with a clear StoreError."""
    with store.database.write() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match="newer than this version"):
        store.upgrade()
