"""Readers' own sign-up: pending double opt-in sign-ups and the consent record.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

- signups: one row per sign-up form posted and not yet purged; the address is kept
  only while the sign-up waits for its confirmation (see schema.signups).
- subscribers.consent_posted_at, consent_confirmed_at, consent_text_hash, consent_ip:
  the consent record of a reader who confirmed a sign-up. Existing subscribers keep
  NULL: they came from an editor's file, whose consent the editor keeps.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "signups",
        sa.Column("id", ID, nullable=False),
        sa.Column("address_hash", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("lists", JSON, nullable=False),
        sa.Column("consent_text_hash", sa.String(64), nullable=False),
        sa.Column("consent_ip", sa.String(45), nullable=True),
        sa.Column("posted_at", TIME, nullable=False),
        sa.Column("confirmation_sent_at", TIME, nullable=True),
        sa.Column("confirmed_at", TIME, nullable=True),
        sa.Column("subscriber_id", ID, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_signups"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_signups_address_hash", "signups", ["address_hash"])
    op.create_index("ix_signups_posted_at", "signups", ["posted_at"])
    pending = sa.text("confirmed_at IS NULL")
    op.create_index(
        "uq_signups_pending_address",
        "signups",
        ["address_hash"],
        unique=True,
        sqlite_where=pending,
        postgresql_where=pending,
    )
    # Plain ALTER TABLE on both databases (no batch copy of `subscribers`: on SQLite that
    # would drop and re-create a table other tables' foreign keys point at).
    op.add_column("subscribers", sa.Column("consent_posted_at", TIME, nullable=True))
    op.add_column("subscribers", sa.Column("consent_confirmed_at", TIME, nullable=True))
    op.add_column("subscribers", sa.Column("consent_text_hash", sa.String(64), nullable=True))
    op.add_column("subscribers", sa.Column("consent_ip", sa.String(45), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN: SQLite 3.35 and later, PostgreSQL (see upgrade).
    for column in ("consent_ip", "consent_text_hash", "consent_confirmed_at", "consent_posted_at"):
        op.drop_column("subscribers", column)
    op.drop_index("uq_signups_pending_address", table_name="signups")
    op.drop_index("ix_signups_posted_at", table_name="signups")
    op.drop_index("ix_signups_address_hash", table_name="signups")
    op.drop_table("signups")
