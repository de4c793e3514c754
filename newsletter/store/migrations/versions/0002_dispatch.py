"""The dispatch ledger: scheduling and notes on sends, batch numbers, the run lock.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

- sends.send_at: when a scheduled send goes out (SendGrid send_at), if scheduled.
- sends.note: what the last run said about the send (paused, why).
- sends.removed: recipients taken out of the frozen audience because they
  unsubscribed, bounced or complained before their turn came.
- deliveries.batch: the batch a delivery went out in, so an interrupted batch
  is reported as one.
- locks: the lock in the store that lets one run at a time send an issue.
- The claim index covers (send_id, state, id), the order batches are taken in.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sends") as batch:
        batch.add_column(sa.Column("send_at", TIME, nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("removed", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("batch", sa.Integer(), nullable=True))
    op.drop_index("ix_deliveries_send_id_state", table_name="deliveries")
    op.create_index("ix_deliveries_send_id_state", "deliveries", ["send_id", "state", "id"])
    op.create_table(
        "locks",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("acquired_at", TIME, nullable=False),
        sa.Column("heartbeat_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_locks"),
    )


def downgrade() -> None:
    op.drop_table("locks")
    op.drop_index("ix_deliveries_send_id_state", table_name="deliveries")
    op.create_index("ix_deliveries_send_id_state", "deliveries", ["send_id", "state"])
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("batch")
    with op.batch_alter_table("sends") as batch:
        batch.drop_column("removed")
        batch.drop_column("note")
        batch.drop_column("send_at")
