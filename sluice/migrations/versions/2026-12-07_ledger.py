"""ledger: onchain_events becomes ledger_entries, chain-neutral rows of observed payments

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 18:40:00

Every rail (the EVM contract call today; deposit addresses, Solana and Stacks next) stores what it
observed as the same entries: a kind (received, escrow_deposited, captured, refunded, released, with
the release's reason), the rail, the chain's own transaction id and position (height, index in the
block, index among the transaction's entries), the asset and the parties. The EVM event name and
contract kind are replaced by the kind and the rail; identifiers widen to fit base58 signatures,
Solana mints and Stacks contract principals. The report roll-up triggers fold kinds instead of event
names (same sums: Paid → received, Deposited → escrow_deposited, Voided/Reclaimed → released).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Column renames, old → new.
RENAMES = (
    ("onchain_id", "intent_ref"),
    ("tx_hash", "tx_id"),
    ("log_index", "block_index"),
    ("tx_log_index", "tx_index"),
    ("block_number", "height"),
    ("block_hash", "block_id"),
    ("token", "asset"),
    ("contract_address", "source"),
)
#: Widened for non-EVM identifiers (base58 signatures are up to 88 characters, Stacks contract
#: principals up to 169).
WIDE = (("tx_id", 66), ("block_id", 66), ("asset", 42), ("source", 42), ("payer", 42), ("merchant", 42))

#: The report roll-up over one statement's rows; {received}, {settled}… are the filters of each side.
FOLD = """
        WITH r AS (SELECT * FROM {table} WHERE merchant_id IS NOT NULL),
        daily AS (
            SELECT merchant_id, network, coalesce({asset}, '') AS token,
                   (block_time AT TIME ZONE 'UTC')::date AS day,
                   sum(amount) FILTER (WHERE {received}) AS received,
                   sum(amount) FILTER (WHERE {deposited}) AS deposited,
                   sum(amount) FILTER (WHERE {captured}) AS captured,
                   sum(amount) FILTER (WHERE {returned}) AS returned,
                   sum(amount - coalesce(merchant_amount, 0)) FILTER (WHERE {settled}) AS fees,
                   sum(coalesce(merchant_amount, 0)) FILTER (WHERE {settled}) AS net,
                   count(*) FILTER (WHERE {received}) AS payments
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
        WHERE {received}
        GROUP BY 1, 2, 3, 4
        ON CONFLICT (merchant_id, network, day, currency) DO UPDATE SET amount = f.amount + excluded.amount;
"""

#: The filters over ledger kinds, and over the EVM event names they replace (for the downgrade).
KIND_FILTERS = {
    "asset": "asset",
    "received": "kind IN ('received', 'escrow_deposited')",
    "deposited": "kind = 'escrow_deposited'",
    "captured": "kind = 'captured'",
    "returned": "kind IN ('refunded', 'released')",
    "settled": "kind IN ('received', 'captured')",
}
NAME_FILTERS = {
    "asset": "token",
    "received": "name IN ('Paid', 'Deposited')",
    "deposited": "name = 'Deposited'",
    "captured": "name = 'Captured'",
    "returned": "name IN ('Refunded', 'Voided', 'Reclaimed')",
    "settled": "name IN ('Paid', 'Captured')",
}

#: The first confirmation's start: the intent's first payment entry (or event).
CONFIRMATION = """
    CREATE OR REPLACE FUNCTION sluice_events_confirmation() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM 1 FROM new_rows
        WHERE type IN ('payment_intent.succeeded', 'payment_intent.requires_capture',
                       'payment_intent.reverted')
        LIMIT 1;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
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
        WITH firsts AS (
            SELECT DISTINCT ON (n.object_id) n.object_id, n.created_at
            FROM new_rows n
            WHERE n.type IN ('payment_intent.succeeded', 'payment_intent.requires_capture')
            ORDER BY n.object_id, n.seq
        ),
        added AS (
            INSERT INTO report_confirmations (payment_intent_id, merchant_id, network, token, day, seconds)
            SELECT f.object_id, p.merchant_id, p.network, coalesce(p.asset, ''),
                   (p.block_time AT TIME ZONE 'UTC')::date, extract(epoch FROM f.created_at - p.block_time)
            FROM firsts f
            CROSS JOIN LATERAL (
                SELECT o.merchant_id, o.network, o.{asset} AS asset, o.block_time FROM {table} o
                WHERE o.payment_intent_id = f.object_id AND o.{received}
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
"""


def _rollups(table: str, prefix: str, filters: dict[str, str]) -> list[str]:
    statements = []
    for side, sources in (
        ("insert", (("new_rows", 1),)),
        ("delete", (("old_rows", -1),)),
        ("update", (("old_rows", -1), ("new_rows", 1))),
    ):
        body = "".join(FOLD.format(table=t, sign=s, **filters) for t, s in sources)
        statements.append(
            f"CREATE FUNCTION {prefix}_rollup_{side}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n{body}\n    RETURN NULL;\nEND $$"
        )
    statements += [
        f"CREATE TRIGGER {prefix.removeprefix('sluice_')}_rollup_insert AFTER INSERT ON {table} "
        f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {prefix}_rollup_insert()",
        f"CREATE TRIGGER {prefix.removeprefix('sluice_')}_rollup_delete AFTER DELETE ON {table} "
        f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {prefix}_rollup_delete()",
        f"CREATE TRIGGER {prefix.removeprefix('sluice_')}_rollup_update AFTER UPDATE ON {table} "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {prefix}_rollup_update()",
        CONFIRMATION.format(table=table, asset=filters["asset"], received=filters["received"]),
    ]
    return statements


def _drop_rollups(table: str, prefix: str) -> list[str]:
    short = prefix.removeprefix("sluice_")
    return [
        *(
            f"DROP TRIGGER IF EXISTS {short}_rollup_{side} ON {table}"
            for side in ("insert", "delete", "update")
        ),
        *(f"DROP FUNCTION IF EXISTS {prefix}_rollup_{side}()" for side in ("insert", "delete", "update")),
    ]


def upgrade() -> None:
    for statement in _drop_rollups("onchain_events", "sluice_onchain_events"):
        op.execute(statement)
    op.drop_index("ix_onchain_events_report", table_name="onchain_events")
    op.rename_table("onchain_events", "ledger_entries")
    for old, new in RENAMES:
        op.alter_column("ledger_entries", old, new_column_name=new)
    for column, _ in WIDE:
        op.alter_column("ledger_entries", column, type_=sa.String(200))
    op.add_column("ledger_entries", sa.Column("kind", sa.String(24), nullable=True))
    op.add_column("ledger_entries", sa.Column("reason", sa.String(16), nullable=True))
    op.add_column("ledger_entries", sa.Column("rail", sa.String(32), nullable=True))
    op.execute(
        "UPDATE ledger_entries SET rail = 'evm-contract', kind = CASE name "
        "WHEN 'Paid' THEN 'received' WHEN 'Deposited' THEN 'escrow_deposited' "
        "WHEN 'Captured' THEN 'captured' "
        "WHEN 'Refunded' THEN 'refunded' ELSE 'released' END, reason = CASE name "
        "WHEN 'Voided' THEN 'void' WHEN 'Reclaimed' THEN 'reclaimed' END"
    )
    op.alter_column("ledger_entries", "kind", nullable=False)
    op.alter_column("ledger_entries", "rail", nullable=False)
    op.drop_column("ledger_entries", "name")
    op.drop_column("ledger_entries", "contract_kind")
    for table in ("report_daily", "report_confirmations"):
        op.alter_column(table, "token", type_=sa.String(200))
    op.execute("ALTER TABLE ledger_entries RENAME CONSTRAINT pk_onchain_events TO pk_ledger_entries")
    op.execute(
        "ALTER TABLE ledger_entries RENAME CONSTRAINT uq_onchain_events_network_tx_log "
        "TO uq_ledger_entries_network_tx"
    )
    for old, new in (
        ("ix_onchain_events_network_block", "ix_ledger_entries_network_height"),
        ("ix_onchain_events_payment_intent_id", "ix_ledger_entries_payment_intent_id"),
    ):
        op.execute(f"ALTER INDEX {old} RENAME TO {new}")
    for fk in ("payment_intent_id", "merchant_id"):
        op.execute(
            f"ALTER TABLE ledger_entries RENAME CONSTRAINT fk_onchain_events_{fk}_"
            f"{'payment_intents' if fk == 'payment_intent_id' else 'merchants'} "
            f"TO fk_ledger_entries_{fk}_{'payment_intents' if fk == 'payment_intent_id' else 'merchants'}"
        )
    op.execute("ALTER SEQUENCE IF EXISTS onchain_events_id_seq RENAME TO ledger_entries_id_seq")
    op.create_index(
        "ix_ledger_entries_report",
        "ledger_entries",
        ["merchant_id", "block_time", "id"],
        unique=False,
        postgresql_include=[
            "kind",
            "reason",
            "network",
            "asset",
            "amount",
            "merchant_amount",
            "payment_intent_id",
        ],
    )
    for statement in _rollups("ledger_entries", "sluice_ledger", KIND_FILTERS):
        op.execute(statement)
    op.add_column(
        "payment_intents", sa.Column("rail", sa.String(32), nullable=False, server_default="evm-contract")
    )
    op.alter_column("payment_intents", "rail", server_default=None)


def downgrade() -> None:
    op.drop_column("payment_intents", "rail")
    for statement in _drop_rollups("ledger_entries", "sluice_ledger"):
        op.execute(statement)
    op.drop_index("ix_ledger_entries_report", table_name="ledger_entries")
    op.add_column("ledger_entries", sa.Column("name", sa.String(20), nullable=True))
    op.add_column("ledger_entries", sa.Column("contract_kind", sa.String(16), nullable=True))
    op.execute(
        "UPDATE ledger_entries SET name = CASE kind WHEN 'received' THEN 'Paid' "
        "WHEN 'escrow_deposited' THEN 'Deposited' WHEN 'captured' THEN 'Captured' "
        "WHEN 'refunded' THEN 'Refunded' "
        "ELSE CASE reason WHEN 'reclaimed' THEN 'Reclaimed' ELSE 'Voided' END END, "
        "contract_kind = CASE kind WHEN 'received' THEN 'payments' ELSE 'escrow' END"
    )
    op.alter_column("ledger_entries", "name", nullable=False)
    op.alter_column("ledger_entries", "contract_kind", nullable=False)
    for column in ("kind", "reason", "rail"):
        op.drop_column("ledger_entries", column)
    for table in ("report_daily", "report_confirmations"):
        op.alter_column(table, "token", type_=sa.String(42))
    for column, length in WIDE:
        op.alter_column("ledger_entries", column, type_=sa.String(length))
    for old, new in RENAMES:
        op.alter_column("ledger_entries", new, new_column_name=old)
    op.execute("ALTER SEQUENCE IF EXISTS ledger_entries_id_seq RENAME TO onchain_events_id_seq")
    for fk, target in (("payment_intent_id", "payment_intents"), ("merchant_id", "merchants")):
        op.execute(
            f"ALTER TABLE ledger_entries RENAME CONSTRAINT fk_ledger_entries_{fk}_{target} "
            f"TO fk_onchain_events_{fk}_{target}"
        )
    for old, new in (
        ("ix_onchain_events_network_block", "ix_ledger_entries_network_height"),
        ("ix_onchain_events_payment_intent_id", "ix_ledger_entries_payment_intent_id"),
    ):
        op.execute(f"ALTER INDEX {new} RENAME TO {old}")
    op.execute(
        "ALTER TABLE ledger_entries RENAME CONSTRAINT uq_ledger_entries_network_tx "
        "TO uq_onchain_events_network_tx_log"
    )
    op.execute("ALTER TABLE ledger_entries RENAME CONSTRAINT pk_ledger_entries TO pk_onchain_events")
    op.rename_table("ledger_entries", "onchain_events")
    op.create_index(
        "ix_onchain_events_report",
        "onchain_events",
        ["merchant_id", "block_time", "id"],
        unique=False,
        postgresql_include=["name", "network", "token", "amount", "merchant_amount", "payment_intent_id"],
    )
    for statement in _rollups("onchain_events", "sluice_onchain_events", NAME_FILTERS):
        op.execute(statement)
