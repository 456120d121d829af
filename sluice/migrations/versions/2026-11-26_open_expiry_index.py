"""open expiry index: a partial index for the expiry job instead of one on status

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 08:00:00

The expiry job asks for open intents past their deadline, oldest first; ix_payment_intents_status
made it read every open intent and sort them. A partial index on expires_at for requires_payment rows
serves the query in order and stops at the deadline. It also leaves the indexer's and the API's status
changes alone: a row leaving requires_payment adds no entry, where the index on status took one per
update (one of five index insertions of every intent the indexer moves).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_payment_intents_open_expiry",
        "payment_intents",
        ["expires_at"],
        postgresql_where=sa.text("status = 'requires_payment'"),
    )
    op.drop_index("ix_payment_intents_status", table_name="payment_intents")


def downgrade() -> None:
    op.create_index("ix_payment_intents_status", "payment_intents", ["status"])
    op.drop_index("ix_payment_intents_open_expiry", table_name="payment_intents")
