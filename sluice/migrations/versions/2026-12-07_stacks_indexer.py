"""stacks indexer: indexer_state.cursor, where a transaction-paging follower stands

Revision ID: i20_stacks_indexer
Revises: i18_deposit_sweeps
Create Date: 2026-12-07 21:40:00

The Stacks follower (indexer/stacks.py) walks the contract's events newest first back to the
newest transaction it has stored; that transaction id is its cursor, committed with the entries
and the checkpoint in one transaction. A nullable column is a catalogue change (no rewrite).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i20_stacks_indexer"
down_revision: str | Sequence[str] | None = "i18_deposit_sweeps"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("indexer_state", sa.Column("cursor", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_column("indexer_state", "cursor")
