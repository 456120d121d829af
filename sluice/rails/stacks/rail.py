"""The Stacks rail: pay through our Clarity contract (`sluice-payments`), observe its print events.

Implements `sluice.rails.base.Rail`. The payer's instructions are one contract call (`pay`, or
`deposit` for an escrow intent) with deny-mode post-conditions that limit the payer's outflow to
exactly the amount, in the shape `stx_callContract` wallets (Leather, Xverse) take, plus the
serialized unsigned transaction when the payer's nonce and the fee are known.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from sluice.errors import InvalidRequestError, NetworkError, SluiceValueError
from sluice.ledger.entries import LedgerEntry
from sluice.rails.base import Authorization, Finality, PayerInstructions, Terms
from sluice.rails.stacks.api import StacksApi
from sluice.rails.stacks.c32 import (
    InvalidStacksAddressError,
    address_from_public_key,
    parse_address,
    parse_principal,
)
from sluice.rails.stacks.clarity import Buffer, ClarityValue, Principal, UInt, optional
from sluice.rails.stacks.events import RAIL_NAME, contract_events, ledger_entries
from sluice.rails.stacks.networks import StacksNetwork, get_stacks_network
from sluice.rails.stacks.sip018 import Split, StacksIntent, public_key, sign_intent
from sluice.rails.stacks.transactions import ContractCall, PostCondition, unsigned_transaction

#: A contract call's serialized size is close to this for a `pay` with five splits; the fee
#: suggestion is the API's fee rate times it (wallets re-estimate anyway).
_ESTIMATED_CALL_BYTES = 900
_MIN_FEE = 3_000

#: The operator key, or where to get it for a network (the API's: the settings' key, per live/test).
OperatorKey = bytes | Callable[[str], bytes]


def stacks_intent_of(intent: Any) -> StacksIntent:
    """Rebuilds exactly the tuple the operator signed from a stored intent (ORM row or IntentRecord)."""
    return StacksIntent(
        id=bytes(intent.onchain_id),
        nonce=int(intent.nonce),
        token=intent.token_address,
        amount=int(intent.amount),
        payer=intent.payer,
        deadline=int(intent.deadline.timestamp()),
        merchant=intent.payout_address,
        splits=tuple(Split(str(s["recipient"]), int(s["bps"])) for s in intent.splits),
        reclaim_after=int(intent.reclaim_after.timestamp()) if intent.reclaim_after else 0,
        allow_partial=bool(intent.allow_partial),
    )


class StacksRail:
    """Payments on Stacks through sluice-payments.

    `contracts` maps a network name to the contract id deployed there (deployments/NETWORK.json);
    `assets` maps a SIP-010 token contract to its `define-fungible-token` name (`…sbtc-token` ->
    `sbtc-token`), which deny-mode post-conditions must name.
    """

    name: ClassVar[str] = RAIL_NAME
    family: ClassVar[str] = "stacks"

    def __init__(
        self,
        contracts: Mapping[str, str],
        assets: Mapping[str, str] | None = None,
        apis: Mapping[str, StacksApi] | None = None,
        operator_key: OperatorKey | None = None,
        *,
        discover_apis: bool = False,
    ) -> None:
        self.contracts = dict(contracts)
        self.assets = dict(assets or {})
        self.apis = dict(apis or {})
        #: The intent signer's secp256k1 key (the same operator key as on EVM), or a function of the
        #: network giving it.
        self.operator_key = operator_key
        #: Whether to reach a network's Stacks API (`StacksNetwork.api_url()`) when none is given.
        self.discover_apis = discover_apis

    def api(self, network: str) -> StacksApi | None:
        """The network's Stacks API client: given, or (`discover_apis`) from its configured URL."""
        if network not in self.apis and self.discover_apis:
            try:
                self.apis[network] = StacksApi(self._network(network).api_url())
            except NetworkError:
                return None
        return self.apis.get(network)

    def _network(self, network: str) -> StacksNetwork:
        return get_stacks_network(network)

    def contract(self, network: str) -> str:
        try:
            return self.contracts[network]
        except KeyError:
            raise SluiceValueError(
                f"sluice-payments is not deployed on {network!r}", param="network"
            ) from None

    def validate_address(self, address: str, param: str = "address") -> str:
        """The address itself when it is a valid standard-principal address (SP…/SM… on mainnet,
        ST…/SN… on testnets) in canonical form; `invalid_address` naming `param` otherwise. Which
        chain an address belongs to is checked against the intent's network where the network is
        known (`authorize`, `build`)."""
        try:
            return str(parse_address(address))
        except InvalidStacksAddressError as exc:
            raise InvalidRequestError(str(exc), param=param, code="invalid_address") from None

    def check_chain(self, address: str, network: str, param: str) -> None:
        """Refuses an address of the other chain (a mainnet address on a testnet and vice versa)."""
        try:
            parse_address(address, self._network(network).chain)
        except InvalidStacksAddressError as exc:
            raise InvalidRequestError(f"{param}: {exc}", param=param, code="invalid_address") from None

    def _operator_key(self, network: str) -> bytes:
        key = self.operator_key
        if key is None:
            raise SluiceValueError("the Stacks rail has no operator key to sign intents with")
        return key if isinstance(key, bytes) else key(network)

    async def authorize(self, terms: Terms) -> Authorization:
        """Signs the intent per SIP-018 for the network's sluice-payments contract: a random 32-byte
        id and a random 128-bit nonce (the contract keeps a map of used nonces, so any unused value
        is good and a cancelled intent's nonce can be burnt with `invalidate-nonce`)."""
        net = self._network(terms.network)
        try:
            contract = self.contract(terms.network)
        except SluiceValueError as exc:
            raise InvalidRequestError(
                f"{exc}: run `sluice deploy --network {terms.network}`",
                param="network",
                code="contract_not_deployed",
            ) from None
        if terms.capture_method != "automatic":
            # The contract has the escrow; relaying capture/refund/void from the API is not wired yet.
            raise InvalidRequestError(
                "capture_method=manual is not available on Stacks networks yet",
                param="capture_method",
                code="capture_method_unsupported",
            )
        self.check_chain(terms.payout_address, terms.network, "payout_address")
        if terms.payer is not None:
            self.check_chain(terms.payer, terms.network, "payer")
        for i, split in enumerate(terms.splits):
            self.check_chain(str(split["recipient"]), terms.network, f"splits.{i}.recipient")
        try:
            intent = StacksIntent(
                id=os.urandom(32),
                nonce=int.from_bytes(os.urandom(16), "big"),
                token=terms.token,
                amount=terms.amount,
                payer=terms.payer,
                deadline=int(terms.deadline.timestamp()),
                merchant=terms.payout_address,
                splits=tuple(Split(str(s["recipient"]), int(s["bps"])) for s in terms.splits),
                reclaim_after=int(terms.reclaim_after.timestamp()) if terms.reclaim_after else 0,
                allow_partial=terms.allow_partial,
            )
        except SluiceValueError as exc:
            raise InvalidRequestError(str(exc), param=exc.param) from None
        signature = sign_intent(intent, net.chain_id, contract, self._operator_key(terms.network))
        return Authorization(intent_ref=intent.id, source=contract, nonce=intent.nonce, signature=signature)

    def finality(self, network: str) -> Finality:
        return Finality(kind="confirmations", confirmations=self._network(network).confirmations)

    def call_for(
        self, intent: StacksIntent, signature: bytes, network: str, payer: str, amount: int | None = None
    ) -> tuple[ContractCall, PostCondition]:
        """The contract call paying (or depositing into the escrow of) `intent` from `payer`, and
        the payer's post-condition: it sends exactly the amount of the intent's asset."""
        if len(signature) != 65:
            raise SluiceValueError("the operator signature is 65 bytes", param="signature")
        token: ClarityValue = optional(None if intent.token is None else Principal(intent.token))
        args: tuple[ClarityValue, ...] = (intent.to_clarity(), Buffer(signature), token)
        paid = intent.amount
        if intent.is_escrow:
            paid = intent.amount if amount is None else amount
            if not 0 < paid <= intent.amount:
                raise SluiceValueError("a deposit is between 1 and the intent's amount", param="amount")
            args = (*args, UInt(paid))
        asset = None
        if intent.token is not None:
            _, contract_name = parse_principal(intent.token)
            asset = f"{intent.token}::{self.assets.get(intent.token, contract_name)}"
        call = ContractCall(self.contract(network), "deposit" if intent.is_escrow else "pay", args)
        return call, PostCondition(payer, paid, "eq", asset)

    async def build(self, intent: Any, payer: str, **options: Any) -> PayerInstructions:
        """Instructions for `payer` to pay `intent`: a stored intent (its network and signature are
        its own), or a `StacksIntent` with options `network` and `signature` (the operator's, from
        `sip018.sign_intent`). Other options: `amount` (escrow deposits), `nonce` and `fee` (else
        asked from the network's Stacks API when one is configured). Stacks has one way to pay, so
        `method` must be None."""
        if options.get("method") is not None or options.get("permit_signature") is not None:
            raise InvalidRequestError(
                "Stacks payments have no method: omit `method` and `permit_signature`",
                param="method",
                code="parameter_invalid",
            )
        if isinstance(intent, StacksIntent):
            network: str = options["network"]
            signature: bytes = options["signature"]
        else:
            network, signature = intent.network, bytes(intent.signature)
            intent = stacks_intent_of(intent)
        net = self._network(network)
        payer = self.validate_address(payer, "payer")
        self.check_chain(payer, network, "payer")
        if payer[1] in "MN":
            raise InvalidRequestError(
                "multi-signature payers (SM…/SN…) are not supported; pay from an SP… or ST… address",
                param="payer",
                code="invalid_address",
            )
        if intent.payer is not None and intent.payer != payer:
            raise InvalidRequestError(
                "this intent can only be paid from its payer address", param="payer", code="payer_mismatch"
            )
        call, condition = self.call_for(intent, signature, network, payer, options.get("amount"))
        contract_address, _, contract_name = call.contract.partition(".")
        transaction: dict[str, Any] = {
            "type": "contract_call",
            "network": network,
            "chain_id": net.chain_id,
            "contract": call.contract,
            "contract_address": contract_address,
            "contract_name": contract_name,
            "function_name": call.function,
            "function_args": [a.hex() for a in call.args],
            "post_condition_mode": "deny",
            "post_conditions": [condition.to_json()],
            "post_conditions_hex": ["0x" + condition.serialize().hex()],
            "wallet_request": {
                "method": "stx_callContract",
                "params": {
                    "contract": call.contract,
                    "functionName": call.function,
                    "functionArgs": [a.hex() for a in call.args],
                    "postConditions": [condition.to_json()],
                    "postConditionMode": "deny",
                    "network": net.chain,
                },
            },
        }
        nonce, fee = options.get("nonce"), options.get("fee")
        api = self.api(network)
        if api is not None and nonce is None:
            nonce = await api.account_nonce(payer)
        if api is not None and fee is None:
            fee = max(_MIN_FEE, await api.fee_rate() * _ESTIMATED_CALL_BYTES)
        if nonce is not None and fee is not None:
            unsigned = unsigned_transaction(
                version=net.transaction_version,
                chain_id=net.chain_id,
                sender=payer,
                nonce=int(nonce),
                fee=int(fee),
                payload=call,
                post_conditions=[condition],
            )
            transaction |= {
                "nonce": int(nonce),
                "fee": str(fee),
                "unsigned_transaction": unsigned.serialize().hex(),
            }
        return PayerInstructions(
            rail=self.name,
            transactions=[transaction],
            extra={"intent_ref": intent.id.hex(), "amount": str(condition.amount), "asset": intent.token},
        )

    def operator_call(
        self,
        network: str,
        function: str,
        intent_ref: bytes,
        token: str | None,
        *,
        amount: int | None = None,
        operator_key: bytes,
        nonce: int,
        fee: int,
    ) -> bytes:
        """A signed escrow call by the operator (`capture`, `refund` with an amount; `void`), ready
        for `StacksApi.broadcast`; the operator's principal must hold STX for the fee."""
        if function not in ("capture", "refund", "void") or (function == "void") != (amount is None):
            raise SluiceValueError("capture and refund take an amount, void none", param="function")
        net = self._network(network)
        args: list[ClarityValue] = [Buffer(intent_ref), optional(None if token is None else Principal(token))]
        if amount is not None:
            args.append(UInt(amount))
        sender = address_from_public_key(public_key(operator_key), net.chain)
        return (
            unsigned_transaction(
                version=net.transaction_version,
                chain_id=net.chain_id,
                sender=sender,
                nonce=nonce,
                fee=fee,
                payload=ContractCall(self.contract(network), function, tuple(args)),
                # The operator itself never sends anything: deny mode with no post-condition.
                post_conditions=(),
            )
            .sign(operator_key)
            .serialize()
        )

    def decode(self, network: str, observed: Sequence[Any]) -> list[LedgerEntry]:
        """Ledger entries of the contract's events in `observed`: transactions as the Stacks API
        returns them (see `sluice.rails.stacks.events`)."""
        return ledger_entries(network, contract_events(observed, self.contract(network)))
