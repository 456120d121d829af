"""relay transactions: what the relayer key sent per intent and the gas it paid

Revision ID: i21_relay_transactions
Revises: i18_deposit_addresses
Create Date: 2026-12-07 22:00:00

Gasless payments (EIP-3009, Permit2) and escrow operations are sent and paid for by the gateway's
relayer key; each row is one relayed call with the gas its mined version used, so the reports can
show what the operator spent per intent.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i21_relay_transactions"
down_revision: str | Sequence[str] | None = "i18_deposit_addresses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=78, scale=0)


def upgrade() -> None:
    op.create_table(
        "relay_transactions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=40), nullable=False),
        sa.Column("network", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("relayer", sa.String(length=64), nullable=False),
        sa.Column("nonce", MONEY, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("replacements", sa.Integer(), nullable=False),
        sa.Column("gas_used", MONEY, nullable=True),
        sa.Column("effective_gas_price", MONEY, nullable=True),
        sa.Column("fee_paid", MONEY, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_relay_transactions_merchant_id_merchants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payment_intent_id"],
            ["payment_intents.id"],
            name=op.f("fk_relay_transactions_payment_intent_id_payment_intents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_transactions")),
        sa.UniqueConstraint("tx_hash", name=op.f("uq_relay_transactions_tx_hash")),
    )
    op.create_index(op.f("ix_relay_transactions_created_at"), "relay_transactions", ["created_at"])
    op.create_index(op.f("ix_relay_transactions_merchant_id"), "relay_transactions", ["merchant_id"])
    op.create_index(
        op.f("ix_relay_transactions_payment_intent_id"), "relay_transactions", ["payment_intent_id"]
    )


def downgrade() -> None:
    op.drop_table("relay_transactions")
