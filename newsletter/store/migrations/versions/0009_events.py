"""SendGrid's events kept for reporting, and doubt resolved by provider evidence.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-01

- event_counts: per issue, list and kind (processed, delivered, …, open_human,
  open_machine, click_human, click_scanner) how many events, first and last time.
- event_drop_reasons: per issue and list, dropped events by SendGrid's reason.
- event_links: per issue, list and clicked URL (keyed by its SHA-256), human and
  scanner clicks, first and last time.
- event_anomalies: events that disagree with the ledger (not in the ledger, a second
  delivered for one message, a send this store does not hold): kept, never merged.
- reader_engagement: who opened or clicked what; written only when
  `tracking.per_reader` is on (off by default).
- deliveries.delivered_at / evidence_event_id / resolved_at: when SendGrid said the
  message was delivered, the first processed/delivered event id proving it went out,
  and when that evidence settled an ambiguous delivery as accepted; a partial index
  on the settled ones, and one on status_history.at (a week's unsubscribes).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _scope() -> list[sa.Column[str]]:
    return [
        sa.Column("issue_id", sa.String(32), nullable=False),
        sa.Column("list_name", sa.String(64), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "event_counts",
        *_scope(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_at", TIME, nullable=False),
        sa.Column("last_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("issue_id", "list_name", "kind", name="pk_event_counts"),
    )
    op.create_table(
        "event_drop_reasons",
        *_scope(),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("issue_id", "list_name", "reason", name="pk_event_drop_reasons"),
    )
    op.create_table(
        "event_links",
        *_scope(),
        sa.Column("url_key", sa.String(64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("human", sa.BigInteger(), nullable=False),
        sa.Column("scanner", sa.BigInteger(), nullable=False),
        sa.Column("first_at", TIME, nullable=False),
        sa.Column("last_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("issue_id", "list_name", "url_key", name="pk_event_links"),
    )
    op.create_table(
        "event_anomalies",
        sa.Column("id", ID, nullable=False),
        sa.Column("issue_id", sa.String(32), nullable=True),
        sa.Column("list_name", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_event_anomalies"),
    )
    op.create_index("ix_event_anomalies_issue_id", "event_anomalies", ["issue_id", "id"])
    op.create_table(
        "reader_engagement",
        *_scope(),
        sa.Column("subscriber_id", ID, nullable=False),
        sa.Column("what", sa.String(8), nullable=False),
        sa.Column("url_key", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint(
            "issue_id", "list_name", "what", "url_key", "subscriber_id", name="pk_reader_engagement"
        ),
    )
    # Adding nullable columns only: SQLite does it in place, no table copy.
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("delivered_at", TIME, nullable=True))
        batch.add_column(sa.Column("evidence_event_id", sa.String(255), nullable=True))
        batch.add_column(sa.Column("resolved_at", TIME, nullable=True))
    # The report counts a send's settled deliveries without reading the others, and finds
    # the unsubscribes of a week through the history's time.
    resolved = sa.text("resolved_at IS NOT NULL")
    op.create_index(
        "ix_deliveries_resolved",
        "deliveries",
        ["send_id"],
        sqlite_where=resolved,
        postgresql_where=resolved,
    )
    op.create_index("ix_status_history_at", "status_history", ["at"])


def downgrade() -> None:
    op.drop_index("ix_status_history_at", table_name="status_history")
    op.drop_index("ix_deliveries_resolved", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("resolved_at")
        batch.drop_column("evidence_event_id")
        batch.drop_column("delivered_at")
    op.drop_table("reader_engagement")
    op.drop_index("ix_event_anomalies_issue_id", table_name="event_anomalies")
    op.drop_table("event_anomalies")
    op.drop_table("event_links")
    op.drop_table("event_drop_reasons")
    op.drop_table("event_counts")
