"""deposit sweeps: the relayer's sweep transactions of deposit addresses and each intent's share

Revision ID: i18_deposit_sweeps
Revises: i21_relay_transactions
Create Date: 2026-12-07 21:40:00

`deposit_sweep_txs` holds each sweep transaction, signed and recorded before it is sent (so a crash
between sending and recording is reconciled from the chain: the same signed transaction is found or
sent again); `deposit_sweeps` one row per intent in it, with its share of the gas. A partial unique
index keeps at most one live sweep (pending or swept) per intent: the same funds are never swept twice.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i18_deposit_sweeps"
down_revision: str | Sequence[str] | None = "i21_relay_transactions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(78, 0)


def upgrade() -> None:
    op.create_table(
        "deposit_sweep_txs",
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("network", sa.String(40), nullable=False),
        sa.Column("sender", sa.String(42), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("raw_tx", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("gas_price", MONEY, nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("block_hash", sa.String(66), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tx_hash", name=op.f("pk_deposit_sweep_txs")),
    )
    op.create_index("ix_deposit_sweep_txs_network_status", "deposit_sweep_txs", ["network", "status"])
    op.create_table(
        "deposit_sweeps",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("payment_intent_id", sa.String(40), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("network", sa.String(40), nullable=False),
        sa.Column("deposit_address", sa.String(42), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("gas_used", sa.BigInteger(), nullable=True),
        sa.Column("fee_wei", MONEY, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_intent_id"],
            ["payment_intents.id"],
            name=op.f("fk_deposit_sweeps_payment_intent_id_payment_intents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tx_hash"],
            ["deposit_sweep_txs.tx_hash"],
            name=op.f("fk_deposit_sweeps_tx_hash_deposit_sweep_txs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deposit_sweeps")),
    )
    op.create_index(
        "uq_deposit_sweeps_live_intent",
        "deposit_sweeps",
        ["payment_intent_id"],
        unique=True,
        postgresql_where=sa.text("outcome IN ('pending', 'swept')"),
    )
    op.create_index("ix_deposit_sweeps_tx_hash", "deposit_sweeps", ["tx_hash"])


def downgrade() -> None:
    op.drop_index("ix_deposit_sweeps_tx_hash", table_name="deposit_sweeps")
    op.drop_index("uq_deposit_sweeps_live_intent", table_name="deposit_sweeps")
    op.drop_table("deposit_sweeps")
    op.drop_index("ix_deposit_sweep_txs_network_status", table_name="deposit_sweep_txs")
    op.drop_table("deposit_sweep_txs")
