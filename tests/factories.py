"""Factories for tests: a deployed Sluice system on a test chain and signed intents for it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any

from web3.contract import Contract

from sluice.chain.intents import ZERO_ADDRESS, ContractKind, PaymentIntent, Split, new_intent_id, sign_intent
from sluice.chain.permit2 import install_permit2

from chains import Chain

MAX_FEE_BPS = 3000
MINT = 10**15  # per account and token, in base units


@dataclass
class System:
    """Both Sluice contracts and the dev tokens, deployed on one chain, with named accounts."""

    chain: Chain
    payments: Contract
    escrow: Contract
    deposits: Contract  # SluiceDeposits, the deposit-address factory
    usdc: Contract  # 6 decimals, EIP-2612 permit
    usdt: Contract  # transfer/transferFrom return nothing
    owner: str
    payer: str
    merchant: str
    fee_recipient: str
    other: str
    _nonces: itertools.count[int] = field(default_factory=itertools.count)

    def intent(self, kind: ContractKind = "payments", **overrides: Any) -> PaymentIntent:
        """A fresh intent with a new id and nonce: 25 USDC, 1% fee, 15 minutes; fields overridable."""
        now = self.chain.now()
        fields: dict[str, Any] = {
            "id": new_intent_id(),
            "nonce": next(self._nonces),
            "token": self.usdc.address,
            "amount": 25_000_000,
            "payer": ZERO_ADDRESS,
            "deadline": now + 900,
            "merchant": self.merchant,
            "splits": (Split(self.fee_recipient, 100),),
            "reclaim_after": now + 7 * 86400 if kind == "escrow" else 0,
            "allow_partial": False,
        }
        fields.update(overrides)
        return PaymentIntent(**fields)

    def contract(self, kind: ContractKind) -> Contract:
        return self.payments if kind == "payments" else self.escrow

    def sign(
        self,
        intent: PaymentIntent,
        kind: ContractKind = "payments",
        *,
        key: str | None = None,
        chain_id: int | None = None,
        contract: str | None = None,
    ) -> bytes:
        """The operator's signature, with every part of the domain overridable for replay tests."""
        return sign_intent(
            intent,
            key or self.chain.operator.key,
            chain_id=self.chain.chain_id if chain_id is None else chain_id,
            contract=contract or self.contract(kind).address,
            kind=kind,
        )

    def balance(self, token: Contract | None, who: str) -> int:
        if token is None:
            return int(self.chain.w3.eth.get_balance(who))
        return int(token.functions.balanceOf(who).call())


def deploy_system(chain: Chain) -> System:
    """Deploys the contracts and dev tokens; mints to and approves from the named accounts."""
    w3 = chain.w3
    owner, payer, merchant, fee_recipient, other = (a.address for a in chain.accounts[:5])
    operator, relayer = chain.operator.address, chain.relayer.address
    if chain.kind == "anvil":
        install_permit2(w3)  # eth-tester has it from genesis
    payments = chain.deploy("SluicePayments", owner, operator, relayer, MAX_FEE_BPS)
    escrow = chain.deploy("SluiceEscrow", owner, operator, relayer, MAX_FEE_BPS)
    deposits = chain.deploy("SluiceDeposits", owner, operator, relayer, MAX_FEE_BPS)
    usdc = chain.deploy("DevUSDC")
    usdt = chain.deploy("DevUSDT")
    # The operator and the relayer send transactions in some tests: give them gas money.
    for funded in (operator, relayer):
        w3.eth.send_transaction({"from": owner, "to": funded, "value": 10**20})
    for token in (usdc, usdt):
        for account in (payer, merchant, fee_recipient, other):
            token.functions.mint(account, MINT).transact({"from": owner})
    return System(chain, payments, escrow, deposits, usdc, usdt, owner, payer, merchant, fee_recipient, other)


def with_fields(intent: PaymentIntent, **changes: Any) -> PaymentIntent:
    """A copy of an intent with some fields changed (the signature no longer matches)."""
    return replace(intent, **changes)
