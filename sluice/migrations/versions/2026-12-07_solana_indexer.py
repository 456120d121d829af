"""solana indexer: the rail's verdict on ledger entries, the Solana indexer's cursors

Revision ID: i19_solana_indexer
Revises: i20_stacks_indexer
Create Date: 2026-12-07 21:30:00

`ledger_entries.verdict` and `.late` record what a rail that judges payments (Solana: by the balance
changes, docs/solana.md) decided, so a rejected payment (credited 0) is announced as what it is.
`solana_cursors` holds, per network and followed account, the newest signature read: committed in
the same transaction as the entries it led to, so a killed indexer resumes without loss.
`ix_payment_intents_watched` (partial: intents of the non-EVM rails) serves its reads of the intents
changed since its last step.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i19_solana_indexer"
down_revision: str | Sequence[str] | None = "i20_stacks_indexer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ledger_entries", sa.Column("verdict", sa.String(32), nullable=True))
    op.add_column("ledger_entries", sa.Column("late", sa.Boolean(), nullable=True))
    op.create_table(
        "solana_cursors",
        sa.Column("network", sa.String(40), primary_key=True),
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("signature", sa.String(100), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_payment_intents_watched",
        "payment_intents",
        ["network", "updated_at"],
        postgresql_where=sa.text("rail <> 'evm-contract'"),
    )


def downgrade() -> None:
    op.drop_index("ix_payment_intents_watched", table_name="payment_intents")
    op.drop_table("solana_cursors")
    op.drop_column("ledger_entries", "late")
    op.drop_column("ledger_entries", "verdict")
