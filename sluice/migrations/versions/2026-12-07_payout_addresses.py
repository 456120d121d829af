"""payout addresses per chain family: merchants.payout_address becomes merchants.payout_addresses

Revision ID: core_payout_addresses
Revises: i19_address_widths
Create Date: 2026-12-07 21:45:00

A merchant is paid out on every chain family it sells on (an EVM address, a Solana wallet, a Stacks
principal), so the one EVM column becomes a JSON object keyed by family: `{"evm": "0x…"}`. Existing
addresses move under "evm"; the downgrade moves them back (and drops the other families' addresses,
which the old schema cannot hold).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "core_payout_addresses"
down_revision: str | Sequence[str] | None = "i19_address_widths"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "merchants",
        sa.Column(
            "payout_addresses", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")
        ),
    )
    op.execute(
        "UPDATE merchants SET payout_addresses = jsonb_build_object('evm', payout_address) "
        "WHERE payout_address IS NOT NULL"
    )
    op.drop_column("merchants", "payout_address")


def downgrade() -> None:
    op.add_column("merchants", sa.Column("payout_address", sa.String(64), nullable=True))
    op.execute("UPDATE merchants SET payout_address = payout_addresses->>'evm'")
    op.drop_column("merchants", "payout_addresses")
