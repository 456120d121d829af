"""lean indexes: drop indexes no query uses on the two hottest tables

Revision ID: 0005
Revises: 0003w, 0004r
Create Date: 2026-11-26 06:00:00

Every events insert (the API's create path, the indexer's outbox) and every payment_intents insert
maintained an index on created_at alone, and events one on its identity `seq`; listings filter by
merchant first (the (merchant_id, created_at, id) indexes) and the outbox scan uses the partial
undispatched index. This also merges the webhooks and reports branches.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = ("0003w", "0004r")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_events_created_at", table_name="events")
    op.drop_constraint("uq_events_seq", "events", type_="unique")
    op.drop_index("ix_payment_intents_created_at", table_name="payment_intents")


def downgrade() -> None:
    op.create_index("ix_payment_intents_created_at", "payment_intents", ["created_at"], unique=False)
    op.create_unique_constraint("uq_events_seq", "events", ["seq"])
    op.create_index("ix_events_created_at", "events", ["created_at"], unique=False)
