"""outbox json: events.data as json, four indexes nothing reads on events and onchain_events

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 07:00:00

Every outbox row (the API's create path, the indexer's transitions) carries a ~2.5 KB payload that
is written once, read whole and never queried inside: as jsonb, PostgreSQL parsed it into its binary
form on every insert (measured: half of the indexer's outbox INSERT, ~40 µs a row) and printed it back
to text for every delivery. As json it is validated and kept as the text it was given (key order
included). events also loses its index on object_id (no query looks events up by object alone), and
onchain_events loses three of its eight indexes, each maintained on every stored event:
created_at and onchain_id (no query filters or sorts on them: events reach their intent through
payment_intent_id) and (merchant_id, block_time), a prefix of ix_onchain_events_report.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column(
        "events",
        "data",
        type_=postgresql.JSON(astext_type=sa.Text()),
        existing_type=postgresql.JSONB(astext_type=sa.Text()),
        existing_nullable=False,
        postgresql_using="data::json",
    )
    op.drop_index("ix_events_object_id", table_name="events")
    op.drop_index("ix_onchain_events_created_at", table_name="onchain_events")
    op.drop_index("ix_onchain_events_merchant_block_time", table_name="onchain_events")
    op.drop_index("ix_onchain_events_onchain_id", table_name="onchain_events")


def downgrade() -> None:
    op.create_index("ix_onchain_events_onchain_id", "onchain_events", ["onchain_id"])
    op.create_index("ix_onchain_events_merchant_block_time", "onchain_events", ["merchant_id", "block_time"])
    op.create_index("ix_onchain_events_created_at", "onchain_events", ["created_at"])
    op.create_index("ix_events_object_id", "events", ["object_id"])
    op.alter_column(
        "events",
        "data",
        type_=postgresql.JSONB(astext_type=sa.Text()),
        existing_type=postgresql.JSON(astext_type=sa.Text()),
        existing_nullable=False,
        postgresql_using="data::jsonb",
    )
