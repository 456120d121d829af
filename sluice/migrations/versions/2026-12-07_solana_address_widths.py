"""solana address widths: merchants' and intents' address columns fit base58 keys

Revision ID: i19_address_widths
Revises: i22_users
Create Date: 2026-12-07 19:10:00

A Solana public key is 32 to 44 base58 characters (most are 43 or 44), the USDC mint 44, an
associated token account (an intent's `contract_address`, the account the Solana rail follows) 44:
the EVM widths of 42 refuse them. Widening a varchar is a catalogue change in PostgreSQL (no table
rewrite); narrowing back fails if a longer value was stored, which is the point.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i19_address_widths"
down_revision: str | Sequence[str] | None = "i22_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, column, nullable)
COLUMNS = (
    ("merchants", "payout_address", True),
    ("payment_intents", "token_address", True),
    ("payment_intents", "contract_address", False),
    ("payment_intents", "payer", True),
    ("payment_intents", "payout_address", False),
)
EVM_WIDTH, WIDE = 42, 64


def upgrade() -> None:
    for table, column, nullable in COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.String(WIDE),
            existing_type=sa.String(EVM_WIDTH),
            existing_nullable=nullable,
        )


def downgrade() -> None:
    for table, column, nullable in COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.String(EVM_WIDTH),
            existing_type=sa.String(WIDE),
            existing_nullable=nullable,
        )
