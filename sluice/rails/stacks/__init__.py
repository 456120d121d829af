"""The Stacks rail: payments through our Clarity contract `sluice-payments` (contracts/stacks/).

`c32` validates addresses, `clarity` encodes and decodes Clarity values, `sip018` signs intents
as SIP-018 structured data with the operator key, `transactions` serializes contract calls and
deploys, `events` turns the contract's print events into ledger entries, `rail` puts them behind
`sluice.rails.base.Rail`. See docs/stacks.md.
"""
