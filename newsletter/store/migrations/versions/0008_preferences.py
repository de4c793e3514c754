"""Readers' preferences and the right to erasure (issue 14).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

- subscribers.paused_until: a reader who paused their mail from the preference page;
  a send's audience leaves them out while it is in the future. NULL: not paused.
- sends.paused_readers: how many readers a send's audience left out as paused.
- erased_addresses: one keyed hash (HMAC-SHA256 under NEWSLETTER_SECRET, hex) per
  address erased with `subscribers forget`: nothing else of the address is kept, yet a
  later import or sign-up of it is recognised and suppressed.
- address_changes: a reader's pending change of address, until the new address
  confirms it (the link names the row's id).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("paused_until", TIME, nullable=True))
    with op.batch_alter_table("sends") as batch:
        batch.add_column(
            sa.Column("paused_readers", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "erased_addresses",
        sa.Column("address_hmac", sa.String(64), nullable=False),
        sa.Column("erased_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("address_hmac", name="pk_erased_addresses"),
    )
    op.create_table(
        "address_changes",
        sa.Column("id", ID, nullable=False),
        sa.Column("subscriber_id", ID, nullable=False),
        sa.Column("new_email", sa.String(320), nullable=False),
        sa.Column("requested_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_address_changes"),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name="fk_address_changes_subscriber_id_subscribers",
            ondelete="CASCADE",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_address_changes_subscriber_id", "address_changes", ["subscriber_id"])


def downgrade() -> None:
    op.drop_index("ix_address_changes_subscriber_id", table_name="address_changes")
    op.drop_table("address_changes")
    op.drop_table("erased_addresses")
    with op.batch_alter_table("sends") as batch:
        batch.drop_column("paused_readers")
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("paused_until")
