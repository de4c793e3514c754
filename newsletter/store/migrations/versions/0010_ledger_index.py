"""The ledger's index no longer holds the delivery state (issue 16).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

`ix_deliveries_send_id_state` (send_id, state, id) moved every delivery's index entry
twice per send (pending → sending → accepted): about half of SQLite's work per reader
in a large send. `ix_deliveries_send_id` (send_id, id) never changes after the audience
is frozen: claims scan it from their cursor, and a batch's outcome finds its rows by
their id range. Counting a send's deliveries by state now reads its rows (about 0.25 s
for a million on SQLite).
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_deliveries_send_id", "deliveries", ["send_id", "id"])
    op.drop_index("ix_deliveries_send_id_state", table_name="deliveries")


def downgrade() -> None:
    op.create_index("ix_deliveries_send_id_state", "deliveries", ["send_id", "state", "id"])
    op.drop_index("ix_deliveries_send_id", table_name="deliveries")
