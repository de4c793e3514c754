"""CLI fixtures: the PostgreSQL admin of the store tests, for commands run on PostgreSQL."""

from __future__ import annotations

from tests.store.conftest import postgres_admin

__all__ = ["postgres_admin"]
