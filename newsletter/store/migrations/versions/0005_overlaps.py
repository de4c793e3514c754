"""One copy per reader per issue, across lists: who a send left out, and why.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24

- send_overlaps: a member of a send's list who was left out of its frozen
  audience because another send of the same issue already has them, and that
  send (so `status` can say "already sent via weekly"). A new table only: no
  existing table is rewritten.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "send_overlaps",
        sa.Column("send_id", ID, nullable=False),
        sa.Column("subscriber_id", ID, nullable=False),
        sa.Column("via_send_id", ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["send_id"],
            ["sends.id"],
            name="fk_send_overlaps_send_id_sends",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name="fk_send_overlaps_subscriber_id_subscribers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["via_send_id"],
            ["sends.id"],
            name="fk_send_overlaps_via_send_id_sends",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("send_id", "subscriber_id", name="pk_send_overlaps"),
    )


def downgrade() -> None:
    op.drop_table("send_overlaps")
