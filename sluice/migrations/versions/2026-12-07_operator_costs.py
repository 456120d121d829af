"""operator costs: sweeps recorded in relay_transactions; sweep transactions keep every signed version

Revision ID: i18f_operator_costs
Revises: i19_solana_indexer
Create Date: 2026-12-07 23:30:00

One record of the gas the operator's relayer key paid per intent: `relay_transactions` (relays and,
now, each intent's share of a batched sweep, so a sweep transaction has one row per intent: unique on
(tx_hash, payment_intent_id) instead of tx_hash). `deposit_sweeps` loses its own gas columns.
A sweep transaction is sent through the relayer nonce manager, which replaces a stuck one with the
same nonce and a higher fee: `deposit_sweep_txs.versions` lists the hash of every signed version
(the first is the row's `tx_hash`), `raw_tx` is the last one, `unsigned_tx` its fields (to replace it
again after a restart). `refunds.destination`: where a deposit-address refund went (the merchant's
choice).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "i18f_operator_costs"
down_revision: str | Sequence[str] | None = "i19_solana_indexer"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(78, 0)
UQ = "uq_relay_transactions_tx_hash_payment_intent_id"


def upgrade() -> None:
    op.drop_constraint("uq_relay_transactions_tx_hash", "relay_transactions", type_="unique")
    op.create_unique_constraint(
        "uq_relay_transactions_tx_hash_payment_intent_id",
        "relay_transactions",
        ["tx_hash", "payment_intent_id"],
    )
    op.create_index("ix_relay_transactions_tx_hash", "relay_transactions", ["tx_hash"])
    op.add_column(
        "deposit_sweep_txs",
        sa.Column(
            "versions", postgresql.ARRAY(sa.String(66)), nullable=False, server_default=sa.text("'{}'")
        ),
    )
    op.add_column("deposit_sweep_txs", sa.Column("unsigned_tx", postgresql.JSONB(), nullable=True))
    op.execute("UPDATE deposit_sweep_txs SET versions = ARRAY[tx_hash]")
    op.drop_column("deposit_sweeps", "gas_used")
    op.drop_column("deposit_sweeps", "fee_wei")
    op.add_column("refunds", sa.Column("destination", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("refunds", "destination")
    op.add_column("deposit_sweeps", sa.Column("fee_wei", MONEY, nullable=True))
    op.add_column("deposit_sweeps", sa.Column("gas_used", sa.BigInteger(), nullable=True))
    op.drop_column("deposit_sweep_txs", "unsigned_tx")
    op.drop_column("deposit_sweep_txs", "versions")
    op.execute("DELETE FROM relay_transactions WHERE action = 'sweep'")
    op.drop_index("ix_relay_transactions_tx_hash", table_name="relay_transactions")
    op.drop_constraint(
        "uq_relay_transactions_tx_hash_payment_intent_id", "relay_transactions", type_="unique"
    )
    op.create_unique_constraint("uq_relay_transactions_tx_hash", "relay_transactions", ["tx_hash"])
