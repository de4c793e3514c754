"""Alembic's environment: always given an open connection by `newsletter.store.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from newsletter.store.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations with `newsletter db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite alters tables by copying them; batch mode does that
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
