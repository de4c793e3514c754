"""The archive: every issue kept as it was sent.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24

- sent_issues: one row per version of an issue that went out: the digest's
  canonical JSON, the HTML and text before personalisation (with the
  unsubscribe placeholder, never a reader's link), the subject, the content and
  message hashes and when it was first sent. The archive, the feed and the
  static copy read only this table.

This migration only creates the table: it cannot know where the digest files
are. Sends recorded before it are recovered from the digest files that still
match their content hash by `newsletter.backfill`, which `newsletter db
upgrade`, `serve` and `archive` run and report on (docs/web.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sent_issues",
        sa.Column("id", ID, nullable=False),
        sa.Column("issue_id", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("message_hash", sa.String(64), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("digest_json", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("unsubscribe_placeholder", sa.String(255), nullable=False),
        sa.Column("first_sent_at", TIME, nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sent_issues"),
        sa.UniqueConstraint("issue_id", "version", name="uq_sent_issues_issue_id_version"),
        sa.CheckConstraint(
            "origin IN ('send', 'recovered', 're-rendered')", name="ck_sent_issues_origin"
        ),
    )


def downgrade() -> None:
    op.drop_table("sent_issues")
