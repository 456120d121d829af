"""reports: reconciliation runs, daily rollups kept by triggers, the report index over onchain_events

Revision ID: 0004r
Revises: 0003
Create Date: 2026-11-26 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004r"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rollups follow onchain_events exactly: one statement-level trigger per change kind folds the
# whole statement's rows (the indexer inserts a batch at once) into one upsert per day and asset.
# Deletes (a reorganisation's rollback) subtract what inserts added, so the sums always equal a
# GROUP BY over the canonical events. Confirmation times are kept per intent in report_confirmations:
# added at its first confirming event (payment_intent.succeeded/.requires_capture), removed again by
# payment_intent.reverted, so they follow the canonical chain too.
#: One batch's rows (transition table {table}) folded into the rollups with sign {sign}. Rendered into
#: static trigger functions (plans cached) for each side: inserts add, deletes subtract, updates both.
FOLD = """
        WITH r AS (SELECT * FROM {table} WHERE merchant_id IS NOT NULL),
        daily AS (
            SELECT merchant_id, network, coalesce(token, '') AS token,
                   (block_time AT TIME ZONE 'UTC')::date AS day,
                   sum(amount) FILTER (WHERE name IN ('Paid', 'Deposited')) AS received,
                   sum(amount) FILTER (WHERE name = 'Deposited') AS deposited,
                   sum(amount) FILTER (WHERE name = 'Captured') AS captured,
                   sum(amount) FILTER (WHERE name IN ('Refunded', 'Voided', 'Reclaimed')) AS returned,
                   sum(amount - coalesce(merchant_amount, 0))
                       FILTER (WHERE name IN ('Paid', 'Captured')) AS fees,
                   sum(coalesce(merchant_amount, 0)) FILTER (WHERE name IN ('Paid', 'Captured')) AS net,
                   count(*) FILTER (WHERE name IN ('Paid', 'Deposited')) AS payments
            FROM r GROUP BY 1, 2, 3, 4
        ),
        fold AS (
            INSERT INTO report_daily AS d (merchant_id, network, token, day, received, deposited, captured,
                                           returned, fees, net, payments, confirmation_seconds, confirmations)
            SELECT merchant_id, network, token, day,
                   {sign} * coalesce(received, 0), {sign} * coalesce(deposited, 0),
                   {sign} * coalesce(captured, 0),
                   {sign} * coalesce(returned, 0), {sign} * coalesce(fees, 0), {sign} * coalesce(net, 0),
                   {sign} * payments, 0, 0
            FROM daily
            ON CONFLICT (merchant_id, network, token, day) DO UPDATE SET
                received = d.received + excluded.received, deposited = d.deposited + excluded.deposited,
                captured = d.captured + excluded.captured, returned = d.returned + excluded.returned,
                fees = d.fees + excluded.fees, net = d.net + excluded.net,
                payments = d.payments + excluded.payments
        )
        INSERT INTO report_daily_fiat AS f (merchant_id, network, day, currency, amount)
        SELECT r.merchant_id, r.network, (r.block_time AT TIME ZONE 'UTC')::date, q.currency,
               {sign} * sum(q.fiat_amount * r.amount / pi.amount)
        FROM r
        JOIN payment_intents pi ON pi.id = r.payment_intent_id
        JOIN quotes q ON q.id = pi.quote_id
        WHERE r.name IN ('Paid', 'Deposited')
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (merchant_id, network, day, currency) DO UPDATE SET amount = f.amount + excluded.amount;
"""


def _rollup_function(name: str, *sides: tuple[str, int]) -> str:
    body = "".join(FOLD.format(table=table, sign=sign) for table, sign in sides)
    return f"""
    CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
    {body}
        RETURN NULL;
    END $$
    """


TRIGGERS = [
    _rollup_function("sluice_onchain_events_rollup_insert", ("new_rows", 1)),
    _rollup_function("sluice_onchain_events_rollup_delete", ("old_rows", -1)),
    _rollup_function("sluice_onchain_events_rollup_update", ("old_rows", -1), ("new_rows", 1)),
    """
    CREATE FUNCTION sluice_events_confirmation() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- Most inserts (payment_intent.created from the API…) concern no confirmation: leave at once.
        PERFORM 1 FROM new_rows
        WHERE type IN ('payment_intent.succeeded', 'payment_intent.requires_capture',
                       'payment_intent.reverted')
        LIMIT 1;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        -- A reorganisation took the payment back: forget its confirmation time.
        WITH gone AS (
            DELETE FROM report_confirmations c
            USING (SELECT DISTINCT object_id FROM new_rows WHERE type = 'payment_intent.reverted') r
            WHERE c.payment_intent_id = r.object_id
            RETURNING c.*
        )
        INSERT INTO report_daily AS d (merchant_id, network, token, day, received, deposited, captured,
                                       returned, fees, net, payments, confirmation_seconds, confirmations)
        SELECT merchant_id, network, token, day, 0, 0, 0, 0, 0, 0, 0, -sum(seconds), -count(*)
        FROM gone GROUP BY 1, 2, 3, 4
        ON CONFLICT (merchant_id, network, token, day) DO UPDATE SET
            confirmation_seconds = d.confirmation_seconds + excluded.confirmation_seconds,
            confirmations = d.confirmations + excluded.confirmations;
        -- First confirmation of a payment (the indexer stores the payment event before it announces
        -- the confirmation, in the same transaction): from its block to the announcing event.
        WITH firsts AS (
            SELECT DISTINCT ON (n.object_id) n.object_id, n.created_at
            FROM new_rows n
            WHERE n.type IN ('payment_intent.succeeded', 'payment_intent.requires_capture')
            ORDER BY n.object_id, n.seq
        ),
        added AS (
            INSERT INTO report_confirmations (payment_intent_id, merchant_id, network, token, day, seconds)
            SELECT f.object_id, p.merchant_id, p.network, coalesce(p.token, ''),
                   (p.block_time AT TIME ZONE 'UTC')::date, extract(epoch FROM f.created_at - p.block_time)
            FROM firsts f
            CROSS JOIN LATERAL (
                SELECT o.merchant_id, o.network, o.token, o.block_time FROM onchain_events o
                WHERE o.payment_intent_id = f.object_id AND o.name IN ('Paid', 'Deposited')
                ORDER BY o.block_time, o.id LIMIT 1
            ) p
            ON CONFLICT (payment_intent_id) DO NOTHING
            RETURNING *
        )
        INSERT INTO report_daily AS d (merchant_id, network, token, day, received, deposited, captured,
                                       returned, fees, net, payments, confirmation_seconds, confirmations)
        SELECT merchant_id, network, token, day, 0, 0, 0, 0, 0, 0, 0, sum(seconds), count(*)
        FROM added GROUP BY 1, 2, 3, 4
        ON CONFLICT (merchant_id, network, token, day) DO UPDATE SET
            confirmation_seconds = d.confirmation_seconds + excluded.confirmation_seconds,
            confirmations = d.confirmations + excluded.confirmations;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER onchain_events_rollup_insert AFTER INSERT ON onchain_events
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_onchain_events_rollup_insert()
    """,
    """
    CREATE TRIGGER onchain_events_rollup_delete AFTER DELETE ON onchain_events
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_onchain_events_rollup_delete()
    """,
    """
    CREATE TRIGGER onchain_events_rollup_update AFTER UPDATE ON onchain_events
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_onchain_events_rollup_update()
    """,
    """
    CREATE TRIGGER events_confirmation AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sluice_events_confirmation()
    """,
]
DROP_TRIGGERS = [
    "DROP TRIGGER IF EXISTS events_confirmation ON events",
    "DROP TRIGGER IF EXISTS onchain_events_rollup_update ON onchain_events",
    "DROP TRIGGER IF EXISTS onchain_events_rollup_delete ON onchain_events",
    "DROP TRIGGER IF EXISTS onchain_events_rollup_insert ON onchain_events",
    "DROP FUNCTION IF EXISTS sluice_events_confirmation()",
    "DROP FUNCTION IF EXISTS sluice_onchain_events_rollup_update()",
    "DROP FUNCTION IF EXISTS sluice_onchain_events_rollup_delete()",
    "DROP FUNCTION IF EXISTS sluice_onchain_events_rollup_insert()",
]


def upgrade() -> None:
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("network", sa.String(length=40), nullable=False),
        sa.Column("from_block", sa.BigInteger(), nullable=False),
        sa.Column("to_block", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("chain_events", sa.Integer(), nullable=False),
        sa.Column("db_events", sa.Integer(), nullable=False),
        sa.Column("totals", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("mismatches", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_runs")),
    )
    op.create_index(
        op.f("ix_reconciliation_runs_created_at"), "reconciliation_runs", ["created_at"], unique=False
    )
    op.create_index(
        "ix_reconciliation_runs_network_created",
        "reconciliation_runs",
        ["network", "created_at"],
        unique=False,
    )
    op.create_table(
        "report_daily",
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("network", sa.String(length=40), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("received", sa.Numeric(precision=78, scale=0), nullable=False),
        sa.Column("deposited", sa.Numeric(precision=78, scale=0), nullable=False),
        sa.Column("captured", sa.Numeric(precision=78, scale=0), nullable=False),
        sa.Column("returned", sa.Numeric(precision=78, scale=0), nullable=False),
        sa.Column("fees", sa.Numeric(precision=78, scale=0), nullable=False),
        sa.Column("net", sa.Numeric(precision=78, scale=0), nullable=False),
        sa.Column("payments", sa.BigInteger(), nullable=False),
        sa.Column("confirmation_seconds", sa.Numeric(), nullable=False),
        sa.Column("confirmations", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("merchant_id", "network", "token", "day", name=op.f("pk_report_daily")),
    )
    op.create_table(
        "report_daily_fiat",
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("network", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.Numeric(), nullable=False),
        sa.PrimaryKeyConstraint(
            "merchant_id", "network", "day", "currency", name=op.f("pk_report_daily_fiat")
        ),
    )
    op.create_table(
        "report_confirmations",
        sa.Column("payment_intent_id", sa.String(length=40), nullable=False),
        sa.Column("merchant_id", sa.String(length=40), nullable=False),
        sa.Column("network", sa.String(length=40), nullable=False),
        sa.Column("token", sa.String(length=42), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("seconds", sa.Numeric(), nullable=False),
        sa.PrimaryKeyConstraint("payment_intent_id", name=op.f("pk_report_confirmations")),
    )
    for statement in TRIGGERS:
        op.execute(statement)
    op.create_index(
        "ix_payment_intents_merchant_status",
        "payment_intents",
        ["merchant_id", "network", "status"],
        unique=False,
        postgresql_include=["created_at", "asset"],
    )
    # Report pages: the merchant's events newest first with the id as tie-breaker (keyset cursor),
    # kinds filtered inside the index; the summary groups by (network, token) over the same range.
    op.create_index(
        "ix_onchain_events_report",
        "onchain_events",
        ["merchant_id", "block_time", "id"],
        unique=False,
        postgresql_include=["name", "network", "token", "amount", "merchant_amount", "payment_intent_id"],
    )


def downgrade() -> None:
    for statement in DROP_TRIGGERS:
        op.execute(statement)
    op.drop_table("report_confirmations")
    op.drop_table("report_daily_fiat")
    op.drop_table("report_daily")
    op.drop_index("ix_onchain_events_report", table_name="onchain_events")
    op.drop_index("ix_payment_intents_merchant_status", table_name="payment_intents")
    op.drop_table("reconciliation_runs")
