"""indexer: onchain_events, indexer_blocks, indexer_state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "onchain_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("network", sa.String(length=40), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("contract_kind", sa.String(length=16), nullable=False),
        sa.Column("contract_address", sa.String(length=42), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("onchain_id", sa.LargeBinary(length=32), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=40), nullable=True),
        sa.Column("merchant_id", sa.String(length=40), nullable=True),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_log_index", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payer", sa.String(length=42), nullable=True),
        sa.Column("merchant", sa.String(length=42), nullable=True),
        sa.Column("token", sa.String(length=42), nullable=True),
        sa.Column("amount", sa.Numeric(precision=78, scale=0), nullable=False),
        sa.Column("merchant_amount", sa.Numeric(precision=78, scale=0), nullable=True),
        sa.Column("fee_amounts", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("total", sa.Numeric(precision=78, scale=0), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_intent_id"],
            ["payment_intents.id"],
            name=op.f("fk_onchain_events_payment_intent_id_payment_intents"),
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_onchain_events_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onchain_events")),
        sa.UniqueConstraint("network", "tx_hash", "tx_log_index", name="uq_onchain_events_network_tx_log"),
    )
    op.create_index(op.f("ix_onchain_events_created_at"), "onchain_events", ["created_at"], unique=False)
    op.create_index("ix_onchain_events_network_block", "onchain_events", ["network", "block_number"])
    op.create_index("ix_onchain_events_onchain_id", "onchain_events", ["onchain_id"])
    op.create_index("ix_onchain_events_payment_intent_id", "onchain_events", ["payment_intent_id"])
    op.create_index("ix_onchain_events_merchant_block_time", "onchain_events", ["merchant_id", "block_time"])
    op.create_table(
        "indexer_blocks",
        sa.Column("network", sa.String(length=40), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.Column("parent_hash", sa.String(length=66), nullable=False),
        sa.PrimaryKeyConstraint("network", "number", name=op.f("pk_indexer_blocks")),
    )
    op.create_table(
        "indexer_state",
        sa.Column("network", sa.String(length=40), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=True),
        sa.Column("last_block", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=66), nullable=True),
        sa.Column("head_block", sa.BigInteger(), nullable=False),
        sa.Column("confirmed_block", sa.BigInteger(), nullable=False),
        sa.Column("halted_reason", sa.String(length=400), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("network", name=op.f("pk_indexer_state")),
    )


def downgrade() -> None:
    op.drop_table("indexer_state")
    op.drop_table("indexer_blocks")
    op.drop_table("onchain_events")
