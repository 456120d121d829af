"""Unsigned payment transactions on a real anvil node: each tx dict is signed by eth-account as it is
and sent raw, and the contracts' balances must move exactly."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.exceptions import MethodUnavailable

from sluice.chain.intents import ZERO_ADDRESS, PaymentIntent
from sluice.chain.registry import NetworkConfig, Registry
from sluice.chain.transactions import (
    PaymentTransactions,
    build_operator_call,
    build_payment_transactions,
    build_permit_transaction,
    build_reclaim_transaction,
    pay_gas_bound,
)
from sluice.errors import (
    InsufficientBalanceError,
    InvalidPermitSignatureError,
    NetworkError,
    PayerMismatchError,
    TransactionRevertedError,
    UnsupportedPaymentMethodError,
)

from chains import Chain, anvil_chain, run_anvil
from factories import System, deploy_system
from reverts import reverts

pytestmark = [pytest.mark.chain]

T = TypeVar("T")
AMOUNT = 25_000_000  # the factory's intents: 25 tokens of 6 decimals, 1% fee split
FEE = AMOUNT // 100


@dataclass
class Env:
    url: str
    chain: Chain
    system: System
    network: NetworkConfig

    def key(self, address: str) -> str:
        return next(a.key for a in self.chain.accounts if a.address == address)

    def run(self, fn: Callable[[AsyncWeb3], Awaitable[T]]) -> T:
        """Runs a coroutine against the node with a fresh AsyncWeb3 (one event loop per call)."""

        async def main() -> T:
            w3 = AsyncWeb3(AsyncHTTPProvider(self.url))
            try:
                return await fn(w3)
            finally:
                await w3.provider.disconnect()

        return asyncio.run(main())

    def build(
        self,
        intent: PaymentIntent,
        *,
        kind: str = "payments",
        method: str = "approve",
        payer: str | None = None,
        network: NetworkConfig | None = None,
    ) -> PaymentTransactions:
        signature = self.system.sign(intent, kind)  # type: ignore[arg-type]
        return self.run(
            lambda w3: build_payment_transactions(
                w3, network or self.network, intent, signature, kind, payer or self.system.payer, method
            )
        )

    def send(self, tx: dict[str, str], key: str | None = None) -> dict[str, Any]:
        """Signs the dict exactly as built and sends it raw; returns the receipt (reverted or not)."""
        signed = Account.sign_transaction(tx, key or self.key(tx["from"]))
        tx_hash = self.chain.w3.eth.send_raw_transaction(signed.raw_transaction)
        return dict(self.chain.w3.eth.wait_for_transaction_receipt(tx_hash))

    def send_all(self, built: PaymentTransactions) -> list[dict[str, Any]]:
        receipts = [self.send(tx) for tx in built.transactions]
        assert [r["status"] for r in receipts] == [1] * len(receipts)
        return receipts


@pytest.fixture(scope="module")
def module_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """anvil with the system deployed, seen through a registry built from a manifest, as in production."""
    with run_anvil() as url:
        chain = anvil_chain(url)
        system = deploy_system(chain)
        directory = tmp_path_factory.mktemp("deployments")
        manifest = {
            "network": "local",
            "chain_id": chain.chain_id,
            "contracts": {
                "SluicePayments": {"address": system.payments.address},
                "SluiceEscrow": {"address": system.escrow.address},
            },
            "tokens": {
                "USDC": {"address": system.usdc.address, "contract": "DevUSDC", "decimals": 6},
                "USDT": {"address": system.usdt.address, "contract": "DevUSDT", "decimals": 6},
            },
        }
        (directory / "local.json").write_text(json.dumps(manifest))
        registry = Registry.load(deployments=directory, environ={"SLUICE_RPC_URL_LOCAL": url})
        yield Env(url, chain, system, registry.network("local"))


@pytest.fixture
def env(module_env: Env) -> Iterator[Env]:
    snapshot = module_env.chain.snapshot()
    yield module_env
    module_env.chain.revert(snapshot)


def balances(env: Env, token: Any) -> tuple[int, int, int]:
    s = env.system
    return s.balance(token, s.payer), s.balance(token, s.merchant), s.balance(token, s.fee_recipient)


# ------------------------------------------------------------------------------------------ approve


@pytest.mark.parametrize("symbol", ["USDC", "USDT"])
def test_approve_then_pay_moves_exact_amounts(env: Env, symbol: str) -> None:
    token = env.system.usdc if symbol == "USDC" else env.system.usdt
    intent = env.system.intent(token=token.address)
    before = balances(env, token)

    built = env.build(intent)
    assert built.steps == ["approve", "pay"]
    assert built.gas_sources == ["estimated", "simulated"]
    approve, pay = built.transactions
    assert approve["to"] == token.address and pay["to"] == env.system.payments.address
    assert int(pay["nonce"], 16) == int(approve["nonce"], 16) + 1
    env.send_all(built)

    payer, merchant, fee = balances(env, token)
    assert payer == before[0] - AMOUNT
    assert merchant == before[1] + AMOUNT - FEE
    assert fee == before[2] + FEE
    assert env.system.payments.functions.isNonceUsed(intent.nonce).call()


def test_transactions_have_the_wallet_shape_with_hex_quantities(env: Env) -> None:
    built = env.build(env.system.intent())
    for tx in built.transactions:
        assert set(tx) == {
            "from", "to", "data", "value", "nonce", "gas", "chainId", "maxFeePerGas", "maxPriorityFeePerGas"
        }  # fmt: skip
        for key in ("value", "nonce", "gas", "chainId", "maxFeePerGas", "maxPriorityFeePerGas"):
            assert tx[key].startswith("0x") and int(tx[key], 16) >= 0
        assert tx["from"] == env.system.payer
        assert int(tx["chainId"], 16) == 31337
        base_fee = env.chain.w3.eth.get_block("latest")["baseFeePerGas"]
        assert int(tx["maxFeePerGas"], 16) >= base_fee + int(tx["maxPriorityFeePerGas"], 16)


def test_approve_and_pay_land_in_the_same_block(env: Env) -> None:
    built = env.build(env.system.intent())
    w3 = env.chain.w3
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        hashes = [
            w3.eth.send_raw_transaction(Account.sign_transaction(tx, env.key(tx["from"])).raw_transaction)
            for tx in built.transactions
        ]
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    receipts = [w3.eth.wait_for_transaction_receipt(h) for h in hashes]
    assert [r["status"] for r in receipts] == [1, 1]
    assert receipts[0]["blockNumber"] == receipts[1]["blockNumber"]


def test_enough_allowance_skips_the_approve(env: Env) -> None:
    s = env.system
    s.usdc.functions.approve(s.payments.address, AMOUNT).transact({"from": s.payer})
    built = env.build(s.intent())
    assert built.steps == ["pay"] and built.gas_sources == ["estimated"]
    env.send_all(built)


def test_smaller_allowance_is_reset_to_zero_first(env: Env) -> None:
    """Ethereum's USDT refuses approve from one non-zero allowance to another."""
    s = env.system
    s.usdt.functions.approve(s.payments.address, 1).transact({"from": s.payer})
    built = env.build(s.intent(token=s.usdt.address))
    assert built.steps == ["reset_approval", "approve", "pay"]
    assert [int(t["nonce"], 16) for t in built.transactions] == list(
        range(int(built.transactions[0]["nonce"], 16), int(built.transactions[0]["nonce"], 16) + 3)
    )
    before = s.balance(s.usdt, s.merchant)
    env.send_all(built)
    assert s.balance(s.usdt, s.merchant) == before + AMOUNT - FEE


def test_pay_gas_falls_back_to_a_bound_without_eth_simulate(env: Env) -> None:
    intent = env.system.intent()
    signature = env.system.sign(intent)

    async def build(w3: AsyncWeb3) -> PaymentTransactions:
        async def missing(*_: Any) -> Any:
            raise MethodUnavailable("the method eth_simulateV1 does not exist/is not available")

        w3.eth.simulate_v1 = missing  # type: ignore[method-assign]
        return await build_payment_transactions(
            w3, env.network, intent, signature, "payments", env.system.payer, "approve"
        )

    built = env.run(build)
    assert built.gas_sources == ["estimated", "bound"]
    assert int(built.transactions[1]["gas"], 16) == pay_gas_bound(intent)
    env.send_all(built)


# ------------------------------------------------------------------------------------------- permit


def sign_permit(env: Env, built: PaymentTransactions) -> bytes:
    assert built.permit is not None
    signable = encode_typed_data(full_message=built.permit.typed_data)
    return bytes(Account.sign_message(signable, env.key(built.payer)).signature)


def test_permit_flow_pays_in_one_transaction(env: Env) -> None:
    s = env.system
    intent = s.intent()
    built = env.build(intent, method="permit")
    assert built.transactions == [] and built.permit is not None
    typed = built.permit.typed_data
    assert typed["domain"] == {
        "name": "Sluice Dev USD Coin",
        "version": "1",
        "chainId": 31337,
        "verifyingContract": s.usdc.address,
    }
    assert typed["message"]["value"] == str(AMOUNT) and typed["message"]["spender"] == s.payments.address
    assert typed["message"]["deadline"] == str(intent.deadline)

    before = balances(env, s.usdc)
    done = env.run(lambda w3: built.complete_permit(sign_permit(env, built), w3=w3))
    assert done.steps == ["payWithPermit"] and len(done.transactions) == 1
    env.send_all(done)
    assert balances(env, s.usdc) == (before[0] - AMOUNT, before[1] + AMOUNT - FEE, before[2] + FEE)
    assert s.usdc.functions.allowance(s.payer, s.payments.address).call() == 0


def test_permit_transaction_can_be_built_in_a_second_request(env: Env) -> None:
    """The API is stateless: the permit signature comes back in a later request."""
    s = env.system
    intent = s.intent(kind="escrow")
    built = env.build(intent, kind="escrow", method="permit")
    permit_signature = "0x" + sign_permit(env, built).hex()
    signature = s.sign(intent, "escrow")
    done = env.run(
        lambda w3: build_permit_transaction(
            w3, env.network, intent, signature, "escrow", s.payer, permit_signature
        )
    )
    assert done.steps == ["depositWithPermit"]
    env.send_all(done)
    held = dataclasses.replace(
        intent, payer=s.payer
    )  # the escrow keys the intent completed with its depositor
    assert s.escrow.functions.getEscrow(held.as_tuple()).call()[3] == AMOUNT  # deposited
    assert s.balance(s.usdc, s.escrow.address) == AMOUNT


def test_permit_is_refused_for_a_token_without_it(env: Env) -> None:
    with pytest.raises(UnsupportedPaymentMethodError, match="permit") as info:
        env.build(env.system.intent(token=env.system.usdt.address), method="permit")
    assert info.value.code == "unsupported_payment_method"


def test_permit_signed_by_someone_else_is_rejected_with_a_reason(env: Env) -> None:
    s = env.system
    built = env.build(s.intent(), method="permit")
    assert built.permit is not None
    signable = encode_typed_data(full_message=built.permit.typed_data)
    wrong = bytes(Account.sign_message(signable, env.key(s.other)).signature)
    with pytest.raises(InvalidPermitSignatureError, match="ERC2612InvalidSigner"):
        env.run(lambda w3: built.complete_permit(wrong, w3=w3))


# ------------------------------------------------------------------------------------------- native


def test_native_pay_sends_the_value(env: Env) -> None:
    s = env.system
    amount = 10**18
    intent = s.intent(token=ZERO_ADDRESS, amount=amount)
    merchant, fee = s.balance(None, s.merchant), s.balance(None, s.fee_recipient)
    built = env.build(intent, method="native")
    assert built.steps == ["pay"] and int(built.transactions[0]["value"], 16) == amount
    env.send_all(built)
    assert s.balance(None, s.merchant) == merchant + amount - amount // 100
    assert s.balance(None, s.fee_recipient) == fee + amount // 100


def test_methods_must_fit_the_asset(env: Env) -> None:
    s = env.system
    with pytest.raises(UnsupportedPaymentMethodError, match="is a token"):
        env.build(s.intent(), method="native")
    for method in ("approve", "permit"):
        with pytest.raises(UnsupportedPaymentMethodError, match="native coin"):
            env.build(s.intent(token=ZERO_ADDRESS, amount=10**18), method=method)


# ------------------------------------------------------------------------------------------- escrow


def test_escrow_deposit_then_relayer_capture_refund_and_void(env: Env) -> None:
    s = env.system
    intent = s.intent(kind="escrow", payer=s.payer)
    built = env.build(intent, kind="escrow")
    assert built.steps == ["approve", "deposit"]
    env.send_all(built)
    assert s.balance(s.usdc, s.escrow.address) == AMOUNT

    merchant, fee, payer = (
        s.balance(s.usdc, s.merchant),
        s.balance(s.usdc, s.fee_recipient),
        s.balance(s.usdc, s.payer),
    )
    relayer = env.chain.relayer

    def operate(action: str, amount: int | None = None) -> None:
        call = env.run(
            lambda w3: build_operator_call(w3, env.network, intent, action, relayer, amount=amount)
        )  # type: ignore[arg-type]
        assert call.transaction["from"] == relayer.address
        tx_hash = env.chain.w3.eth.send_raw_transaction(call.raw_transaction)
        assert tx_hash.to_0x_hex() == call.hash
        assert env.chain.w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 1

    operate("capture", 10_000_000)
    assert s.balance(s.usdc, s.merchant) == merchant + 9_900_000
    assert s.balance(s.usdc, s.fee_recipient) == fee + 100_000
    operate("refund", 5_000_000)
    assert s.balance(s.usdc, s.payer) == payer + 5_000_000
    with pytest.raises(TransactionRevertedError) as info:
        operate("capture", 10_000_001)
    assert info.value.reason == "InsufficientBalance"
    operate("void")
    assert s.balance(s.usdc, s.payer) == payer + AMOUNT - 10_000_000
    assert s.balance(s.usdc, s.escrow.address) == 0


def test_native_escrow_deposit_and_payer_reclaim(env: Env) -> None:
    s = env.system
    intent = s.intent(kind="escrow", token=ZERO_ADDRESS, amount=10**17)
    env.send_all(env.build(intent, kind="escrow", method="native"))
    assert s.balance(None, s.escrow.address) == 10**17
    env.chain.time_travel(7 * 86400 + 1)
    tx = env.run(lambda w3: build_reclaim_transaction(w3, env.network, intent, s.payer))
    assert env.send(tx)["status"] == 1
    assert s.balance(None, s.escrow.address) == 0


# ----------------------------------------------------------------------------------- failures on chain


def replay(env: Env, tx: dict[str, str]) -> None:
    """Re-runs a mined transaction as a call to surface its revert reason."""
    env.chain.w3.eth.call({k: tx[k] for k in ("from", "to", "data", "value")})  # type: ignore[misc]


def test_transaction_for_a_bound_payer_reverts_when_another_sends_it(env: Env) -> None:
    s = env.system
    intent = s.intent(token=ZERO_ADDRESS, amount=10**17, payer=s.payer)
    (tx,) = env.build(intent, method="native").transactions
    stolen = dict(tx, **{"from": s.other, "nonce": hex(env.chain.w3.eth.get_transaction_count(s.other))})
    receipt = env.send(stolen)
    assert receipt["status"] == 0
    with reverts("WrongPayer", intent.id, s.payer, s.other):
        replay(env, stolen)


def test_building_for_another_payer_than_the_bound_one_is_refused(env: Env) -> None:
    s = env.system
    with pytest.raises(PayerMismatchError) as info:
        env.build(s.intent(payer=s.payer), payer=s.other)
    assert info.value.code == "payer_mismatch"


def test_intent_that_expires_before_mining_reverts_with_intent_expired(env: Env) -> None:
    s = env.system
    intent = s.intent(token=ZERO_ADDRESS, amount=10**17, deadline=env.chain.now() + 60)
    (tx,) = env.build(intent, method="native").transactions
    env.chain.time_travel(120)
    assert env.send(tx)["status"] == 0
    with reverts("IntentExpired"):
        replay(env, tx)


def test_build_reports_the_contract_error_when_the_pay_would_revert(env: Env) -> None:
    s = env.system
    intent = s.intent()
    env.send_all(env.build(intent))
    with pytest.raises(TransactionRevertedError, match="NonceAlreadyUsed") as info:
        env.build(intent)
    assert info.value.reason == "NonceAlreadyUsed" and info.value.code == "transaction_would_revert"


def test_payer_without_enough_tokens_is_told_so(env: Env) -> None:
    s = env.system
    poor = env.chain.accounts[6].address
    with pytest.raises(InsufficientBalanceError, match="holds 0 USDC; the intent needs 25") as info:
        env.build(s.intent(), payer=poor)
    assert info.value.required == AMOUNT and info.value.balance == 0


def test_rpc_of_another_chain_is_refused(env: Env) -> None:
    with pytest.raises(NetworkError, match="chain id 31337"):
        env.build(env.system.intent(), network=dataclasses.replace(env.network, chain_id=1))


# ------------------------------------------------------------------------------------------- fee model


def test_legacy_network_gets_gas_price_and_the_transactions_work(env: Env) -> None:
    legacy = dataclasses.replace(env.network, fee_model="legacy")
    built = env.build(env.system.intent(), network=legacy)
    for tx in built.transactions:
        assert "gasPrice" in tx and "maxFeePerGas" not in tx and "maxPriorityFeePerGas" not in tx
        assert int(tx["gasPrice"], 16) == env.chain.w3.eth.gas_price
        signed = Account.sign_transaction(tx, env.key(tx["from"]))
        assert signed.raw_transaction[0] >= 0xC0  # an RLP list: a legacy (type 0) transaction
    env.send_all(built)


def test_priority_fee_floor_of_the_network_is_applied(env: Env) -> None:
    floored = dataclasses.replace(env.network, min_priority_fee=30 * 10**9)
    (tx,) = env.build(
        env.system.intent(token=ZERO_ADDRESS, amount=1), method="native", network=floored
    ).transactions
    assert int(tx["maxPriorityFeePerGas"], 16) == 30 * 10**9
    assert env.send(tx)["status"] == 1


@pytest.mark.parametrize(
    ("missing", "typehash", "supported"),
    [
        ("eip712Domain", None, True),  # pre-EIP-5267 tokens: the domain is rebuilt from name() and "1"
        (None, b"\x01" * 32, False),  # DAI-style permit(holder, spender, nonce, expiry, allowed, …)
    ],
)
def test_permit_domain_without_eip5267_and_non_eip2612_permits(
    env: Env, monkeypatch: pytest.MonkeyPatch, missing: str | None, typehash: bytes | None, supported: bool
) -> None:
    from sluice.chain import permit

    real = permit._optional_call

    async def fake(contract: Any, fn: str, *args: Any) -> Any:
        if fn == missing:
            return None
        if fn == "PERMIT_TYPEHASH" and typehash is not None:
            return typehash
        return await real(contract, fn, *args)

    monkeypatch.setattr(permit, "_optional_call", fake)
    if not supported:
        with pytest.raises(UnsupportedPaymentMethodError, match="not the EIP-2612 one"):
            env.build(env.system.intent(), method="permit")
        return
    built = env.build(env.system.intent(), method="permit")
    assert built.permit is not None and built.permit.domain["version"] == "1"
    env.send_all(env.run(lambda w3: built.complete_permit(sign_permit(env, built), w3=w3)))
