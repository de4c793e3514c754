"""The web endpoint: provider events on deliveries, and the webhook's seen event ids.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

- deliveries.provider_event / provider_event_at / provider_detail: the last
  event SendGrid reported for the delivery (delivered, deferred, bounce,
  blocked, dropped), when it happened, and its reason.
- webhook_events: the sg_event_id of every event applied, so a retried
  webhook request changes nothing twice; old rows are pruned by the endpoint.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Adding nullable columns only: SQLite does it in place, no table copy.
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("provider_event", sa.String(32), nullable=True))
        batch.add_column(sa.Column("provider_event_at", TIME, nullable=True))
        batch.add_column(sa.Column("provider_detail", sa.Text(), nullable=True))
    op.create_table(
        "webhook_events",
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_webhook_events"),
    )
    op.create_index("ix_webhook_events_received_at", "webhook_events", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_events_received_at", table_name="webhook_events")
    op.drop_table("webhook_events")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("provider_detail")
        batch.drop_column("provider_event_at")
        batch.drop_column("provider_event")
