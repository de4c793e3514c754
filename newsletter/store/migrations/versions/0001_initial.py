"""The first store: subscribers, list memberships, status history, sends, deliveries.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Written out by hand rather than importing newsletter.store.schema, so later
changes to the schema module cannot change what this migration did; a test
checks that migrating to head gives exactly the tables that module describes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TIME = sa.DateTime(timezone=True)
STATUSES = "status IN ('subscribed', 'unsubscribed', 'bounced', 'complained')"
DELIVERY_STATES = "state IN ('pending', 'sending', 'accepted', 'failed', 'ambiguous')"


def upgrade() -> None:
    _subscribers()
    _memberships()
    _status_history()
    _sends()
    _deliveries()


def _subscribers() -> None:
    op.create_table(
        "subscribers",
        sa.Column("id", ID, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("attributes", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_changed_at", TIME, nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint(STATUSES, name="ck_subscribers_status"),
        sa.PrimaryKeyConstraint("id", name="pk_subscribers"),
        sa.UniqueConstraint("email", name="uq_subscribers_email"),
        sqlite_autoincrement=True,
    )


def _memberships() -> None:
    op.create_table(
        "memberships",
        sa.Column("list_name", sa.String(64), nullable=False),
        sa.Column("subscriber_id", ID, nullable=False),
        sa.Column("added_at", TIME, nullable=False),
        sa.Column("removed_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name="fk_memberships_subscriber_id_subscribers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_name", "subscriber_id", name="pk_memberships"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_memberships_subscriber_id", "memberships", ["subscriber_id"])


def _status_history() -> None:
    op.create_table(
        "status_history",
        sa.Column("id", ID, nullable=False),
        sa.Column("subscriber_id", ID, nullable=False),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscribers.id"],
            name="fk_status_history_subscriber_id_subscribers",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_status_history"),
    )
    op.create_index("ix_status_history_subscriber_id", "status_history", ["subscriber_id", "id"])


def _sends() -> None:
    op.create_table(
        "sends",
        sa.Column("id", ID, nullable=False),
        sa.Column("issue_id", sa.String(32), nullable=False),
        sa.Column("list_name", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("message_hash", sa.String(64), nullable=True),
        sa.Column("transport", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("batch_id", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sends"),
        sa.UniqueConstraint("issue_id", "list_name", name="uq_sends_issue_id_list_name"),
    )


def _deliveries() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", ID, nullable=False),
        sa.Column("send_id", ID, nullable=False),
        sa.Column("subscriber_id", ID, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("provider_message_id", sa.String(255), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint(DELIVERY_STATES, name="ck_deliveries_state"),
        sa.ForeignKeyConstraint(
            ["send_id"], ["sends.id"], name="fk_deliveries_send_id_sends", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"], ["subscribers.id"], name="fk_deliveries_subscriber_id_subscribers"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.UniqueConstraint("send_id", "subscriber_id", name="uq_deliveries_send_id_subscriber_id"),
    )
    op.create_index("ix_deliveries_send_id_state", "deliveries", ["send_id", "state"])


def downgrade() -> None:
    for table in ("deliveries", "sends", "status_history", "memberships", "subscribers"):
        op.drop_table(table)
