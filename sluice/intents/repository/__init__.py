"""The one write path of payment intents, their quotes and their outbox events.

Every statement over `payment_intents`, `quotes` and the `events` outbox that Sluice runs lives in this
package, whoever runs it (the API, the jobs, the indexers), and every intent it loads is an
`sluice.intents.record.IntentRecord` (quotes: `QuoteRecord`):

- `create` — the API's hot path: a new intent, its `payment_intent.created` event and its audit row
  in one statement of data-modifying CTEs (batched across concurrent requests); new quotes.
- `intents` — asyncpg statements: the row locks (by API id, by on-chain reference, merchant-scoped),
  the expiry job's claim, the quotes of a set of intents, and `save`: the one UPDATE that writes what
  `sluice.intents.transitions` decided (set-based, one JSON parameter) with its outbox rows.
- `outbox` — the outbox rows: one INSERT for one event, one binary COPY for many.
- `queries` — the API's reads in an ORM session (a merchant's intent, a list page, the dashboard's
  search), as records, with the same SELECT list and decoder as the asyncpg reads.

`intents` and `outbox` do not import SQLAlchemy (the indexer's start-up); `create` and `queries` do.
tests/test_write_path.py checks that no module outside this package writes these tables.
"""
