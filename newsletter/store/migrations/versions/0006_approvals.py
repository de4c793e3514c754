"""Approval bound to content, and forced sends recorded in the ledger.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

- approvals: one row per `newsletter approve`: the issue, the digest file, the
  digest's content hash and the rendered message's hash, who and when. `dispatch`
  sends an issue only while both hashes match its latest approval.
- sends.force_reason, sends.forced_by, sends.forced_at: a send made with
  `send --force --reason` past the pre-send check says why, who and when
  (shown by `status`). Existing sends keep NULL: none was forced that way.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", ID, nullable=False),
        sa.Column("issue_id", sa.String(32), nullable=False),
        sa.Column("digest_path", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("message_hash", sa.String(64), nullable=False),
        sa.Column("approved_by", sa.String(200), nullable=False),
        sa.Column("approved_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_approvals"),
    )
    op.create_index("ix_approvals_issue_id", "approvals", ["issue_id", "id"])
    with op.batch_alter_table("sends") as batch:
        batch.add_column(sa.Column("force_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("forced_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("forced_at", TIME, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sends") as batch:
        batch.drop_column("forced_at")
        batch.drop_column("forced_by")
        batch.drop_column("force_reason")
    op.drop_index("ix_approvals_issue_id", table_name="approvals")
    op.drop_table("approvals")
