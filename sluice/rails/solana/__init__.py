"""The Solana rail: Solana Pay payments (SOL and USDC) with the fee split in the payer's transaction.

See docs/solana.md. Modules: `networks` (clusters, assets, mints, registry entries), `addresses`
(base58 wallets), `payment` (an intent's legs), `transaction` (the payer's transaction), `preflight`
(can this payer pay), `solana_pay` (URLs and the transaction-request payloads), `settings` (fee
sponsorship, priority fee), `rpc` (the JSON-RPC client), `observe` (validation, ledger entries),
`watcher` (finding payments, finality), `follower` (one indexer step), `rail` (the Rail), `devchain`
(the local LiteSVM cluster).
"""
