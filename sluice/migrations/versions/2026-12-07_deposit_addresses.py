"""deposit addresses: an intent may be paid by a plain transfer to its own deposit address

Revision ID: i18_deposit_addresses
Revises: core_payout_addresses
Create Date: 2026-12-07 21:45:00

`payment_method_types` lists how the payer may pay (`contract_call`, `deposit_address`); intents
created before keep the contract call. `deposit_address` is the intent's counterfactual CREATE2
address (sluice.rails.evm_deposit), unique across intents: the indexer links a transfer to the
intent by it. `stray_deposits` counts the transfers of an asset the intent did not ask for that
reached its deposit address (ledger entries of kind `stray`), so the transitions announce each one
once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "i18_deposit_addresses"
down_revision: str | Sequence[str] | None = "core_payout_addresses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "payment_intents",
        sa.Column(
            "payment_method_types",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'[\"contract_call\"]'::jsonb"),
        ),
    )
    op.add_column("payment_intents", sa.Column("deposit_address", sa.String(64), nullable=True))
    op.add_column(
        "payment_intents",
        sa.Column("stray_deposits", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )
    op.create_index(
        "ix_payment_intents_deposit_address",
        "payment_intents",
        ["deposit_address"],
        unique=True,
        postgresql_where=sa.text("deposit_address IS NOT NULL"),
    )
    # The indexer's watch list: a network's deposit intents by creation time.
    op.create_index(
        "ix_payment_intents_deposit_watch",
        "payment_intents",
        ["network", "created_at"],
        postgresql_where=sa.text("deposit_address IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_payment_intents_deposit_watch", table_name="payment_intents")
    op.drop_index("ix_payment_intents_deposit_address", table_name="payment_intents")
    op.drop_column("payment_intents", "stray_deposits")
    op.drop_column("payment_intents", "deposit_address")
    op.drop_column("payment_intents", "payment_method_types")
