"""SluiceEscrow under random operation sequences: a Hypothesis state machine checked against a model.

The machine deposits (full and partial; DevUSDC, DevUSDT and the native coin; several intents and
payers), captures, refunds, voids and reclaims, pauses, rotates the signer, cancels nonces and moves
the clock to every intent's deadline and reclaim time (to the second). Invalid operations are tried on
purpose: before each transaction the model predicts success (with the exact events) or the exact custom
error and its arguments, and the test asserts that outcome. After every step these invariants are
checked against what the chain reports (getEscrow, capturable, token and native balances):

- per intent: captured + refunded + released <= deposited, and the escrow equals the model's;
- the contract holds, per token, at least the open escrows' uncaptured balances (in fact exactly);
- the split recipients together received at most captured * maxFeeBps / 10,000, and merchants plus
  split recipients received exactly what was captured;
- refunds, voids and reclaims reach only the escrow's payer: every other address is unchanged;
- every tracked balance equals the model's.

Speed: through web3's contract layer a call costs ~6 ms, and eth-tester needs ~160 ms per transaction
(anvil through web3: ~20 ms), so the machine speaks JSON-RPC to its own anvil directly (0.1-0.3 ms a
request; all reads of a step in one batch). Anvil runs with a zero base fee and transactions pay a
zero gas price, so native balances move only by the payments under test; every transaction gets an
exact block timestamp (evm_setNextBlockTimestamp). The system is deployed once per module and every
example starts from a snapshot of it. `make test` runs 500 examples, `pytest -m slow` 10,000.
"""

from __future__ import annotations

import functools
import http.client
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest
from eth_abi import decode, encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from hypothesis import HealthCheck, currently_in_test_context, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from sluice.chain.intents import PaymentIntent, Split, sign_intent, typed_data

from chains import OPERATOR_KEY, anvil_chain, run_anvil
from factories import MAX_FEE_BPS, deploy_system
from reverts import decode_revert

pytestmark = [pytest.mark.contracts, pytest.mark.chain]

ZERO = "0x" + "00" * 20
BPS = 10_000
MAX_SPLITS = 5
MAX_SIGNER_GRACE = 86_400
U128_MAX = 2**128 - 1
U256_MAX = 2**256 - 1
NONE, OPEN, VOIDED, RECLAIMED = range(4)  # SluiceEscrow.Status
ESCROW_FIELDS = ("intentHash", "payer", "status", "deposited", "captured", "refunded", "released")
MAX_INTENTS = 4
GAS = 3_000_000
FUNDS = 2**200  # per payer, of each token and of the native coin: intents reach past uint128
SECOND_OPERATOR_KEY = "0x" + "12" * 32  # the signer rotated to
STRANGER_KEY = "0x" + "66" * 32  # never a signer
SIGNING_KEYS = (OPERATOR_KEY, SECOND_OPERATOR_KEY, STRANGER_KEY)

Error = tuple[str, tuple[Any, ...]]
Event = tuple[str, tuple[Any, ...]]


# ------------------------------------------------------------------------------- JSON-RPC and ABI


class RpcError(Exception):
    pass


class Rpc:
    """Minimal JSON-RPC over one kept-alive HTTP connection (web3 costs ~30x more per request)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)

    def _post(self, payload: Any) -> Any:
        body = json.dumps(payload)
        try:
            self._conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
            reply = self._conn.getresponse().read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The node dropped the idle kept-alive connection before reading the request: send again.
            self._conn.close()
            self._conn.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
            reply = self._conn.getresponse().read()
        return json.loads(reply)

    def __call__(self, method: str, *params: Any) -> Any:
        reply = self._post({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        if "error" in reply:
            raise RpcError(f"{method}: {reply['error']}")
        return reply["result"]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """The results in order; a failed request gives an RpcError in its place (a reverting view)."""
        replies = self._post(
            [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        )
        by_id = {reply["id"]: reply for reply in replies}
        return [
            RpcError(f"{method}: {by_id[i]['error']}") if "error" in by_id[i] else by_id[i]["result"]
            for i, (method, _) in enumerate(calls)
        ]


def _abi_type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + item["type"][5:]
    return str(item["type"])


class Abi:
    """Call data, results and event logs of one contract ABI, with eth-abi (addresses come out lower case)."""

    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self.functions: dict[str, tuple[bytes, list[str], list[str]]] = {}
        self.events: dict[bytes, tuple[str, list[tuple[str, bool]]]] = {}
        for item in abi:
            if item["type"] == "function":
                inputs = [_abi_type(i) for i in item["inputs"]]
                selector = keccak(text=f"{item['name']}({','.join(inputs)})")[:4]
                self.functions[item["name"]] = (selector, inputs, [_abi_type(o) for o in item["outputs"]])
            elif item["type"] == "event":
                fields = [(_abi_type(i), bool(i["indexed"])) for i in item["inputs"]]
                topic = keccak(text=f"{item['name']}({','.join(t for t, _ in fields)})")
                self.events[topic] = (item["name"], fields)

    def data(self, name: str, *args: Any) -> str:
        selector, inputs, _ = self.functions[name]
        return "0x" + (selector + encode(inputs, args)).hex()

    def result(self, name: str, output: str | RpcError) -> tuple[Any, ...]:
        if isinstance(output, RpcError):  # an invariant reports it, with the state it was read in
            return (f"{name} reverted: {output}",)
        return tuple(decode(self.functions[name][2], bytes.fromhex(output[2:])))

    def event(self, log: dict[str, Any]) -> Event:
        topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
        name, fields = self.events[topics[0]]
        data = iter(decode([t for t, indexed in fields if not indexed], bytes.fromhex(log["data"][2:])))
        indexed_values = iter(topics[1:])
        values = [decode([t], next(indexed_values))[0] if indexed else next(data) for t, indexed in fields]
        return name, tuple(values)


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


# ------------------------------------------------------------------------------------ environment


@dataclass
class Sent:
    receipt: dict[str, Any]
    revert: bytes | None  # revert data, None when the transaction succeeded


@dataclass
class Observed:
    """What the chain reports after a step."""

    # getEscrow: intentHash, payer, status, deposited, captured, refunded, released
    escrows: dict[bytes, tuple[Any, ...]]
    capturable: dict[bytes, int | str]  # a message when the view reverted
    nonce_used: dict[int, bool]
    paused: bool
    signer: str
    previous_signer: tuple[str, int]
    balances: dict[tuple[str, str], int]  # (token, holder) -> balance; token ZERO is the native coin


@dataclass
class Env:
    """The system deployed once on a private anvil, its accounts by role, and the snapshot to return to."""

    rpc: Rpc
    abi: Abi
    token_abi: Abi
    chain_id: int
    escrow: str
    usdc: str
    usdt: str
    owner: str
    payers: list[str]
    merchants: list[str]
    fee_recipients: list[str]
    attacker: str
    operators: list[str]  # signer at deployment, signer rotated to
    signers: list[str]  # address of each of SIGNING_KEYS
    max_fee_bps: int
    now: int = 0  # timestamp of the snapshot's latest block
    snapshot_id: str = ""
    base: dict[tuple[str, str], int] | None = None

    @property
    def tokens(self) -> tuple[str, str, str]:
        return (ZERO, self.usdc, self.usdt)

    @property
    def holders(self) -> list[str]:
        """Every address whose balances are tracked (the contract last)."""
        return [
            self.owner,
            *self.payers,
            *self.merchants,
            *self.fee_recipients,
            self.attacker,
            *self.operators,
            self.escrow,
        ]

    def send(self, sender: str, data: str, timestamp: int, value: int = 0, to: str | None = None) -> Sent:
        """One transaction mined in a block at exactly `timestamp`, with its revert data if it failed."""
        self.rpc("evm_setNextBlockTimestamp", timestamp)
        tx = {
            "from": sender,
            "to": to or self.escrow,
            "data": data,
            "value": hex(value),
            "gas": hex(GAS),
            "gasPrice": "0x0",
        }
        # Returns once mined, with the receipt (eth_sendTransaction may answer before the block exists).
        receipt = self.rpc("eth_sendTransactionSync", tx)
        mined_at = receipt.get("blockTimestamp")
        if mined_at is None:
            mined_at = self.rpc("eth_getBlockByHash", receipt["blockHash"], False)["timestamp"]
        assert _int(mined_at) == timestamp, f"block at {_int(mined_at)}, expected {timestamp}"
        if _int(receipt["status"]) == 1:
            return Sent(receipt, None)
        trace = self.rpc("debug_traceTransaction", receipt["transactionHash"], {"tracer": "callTracer"})
        return Sent(receipt, bytes.fromhex(trace.get("output", "0x")[2:]))

    def mine(self, timestamp: int) -> None:
        self.rpc("evm_setNextBlockTimestamp", timestamp)
        self.rpc("evm_mine")

    def reset(self) -> None:
        assert self.rpc("evm_revert", self.snapshot_id) is True
        self.snapshot_id = self.rpc("evm_snapshot")

    def observe(self, ids: list[bytes], nonces: list[int]) -> Observed:
        """All the state the invariants look at, read in one batch request."""

        def call(to: str, data: str) -> tuple[str, list[Any]]:
            return ("eth_call", [{"to": to, "data": data}, "latest"])

        calls = [call(self.escrow, self.abi.data("getEscrow", i)) for i in ids]
        calls += [call(self.escrow, self.abi.data("capturable", i)) for i in ids]
        calls += [call(self.escrow, self.abi.data("isNonceUsed", n)) for n in nonces]
        calls += [call(self.escrow, self.abi.data(name)) for name in ("paused", "signer", "previousSigner")]
        holders = self.holders
        calls += [("eth_getBalance", [holder, "latest"]) for holder in holders]
        for token in (self.usdc, self.usdt):
            calls += [call(token, self.token_abi.data("balanceOf", holder)) for holder in holders]
        out = iter(self.rpc.batch(calls))
        escrows = {i: self.abi.result("getEscrow", next(out))[0] for i in ids}
        capturable = {i: self.abi.result("capturable", next(out))[0] for i in ids}
        nonce_used = {n: self.abi.result("isNonceUsed", next(out))[0] for n in nonces}
        paused = self.abi.result("paused", next(out))[0]
        signer = self.abi.result("signer", next(out))[0]
        previous = self.abi.result("previousSigner", next(out))
        balances = {(ZERO, holder): _int(next(out)) for holder in holders}
        for token in (self.usdc, self.usdt):
            balances.update(
                {(token, holder): self.token_abi.result("balanceOf", next(out))[0] for holder in holders}
            )
        return Observed(escrows, capturable, nonce_used, paused, signer, (previous[0], previous[1]), balances)


def make_env(url: str) -> Env:
    system = deploy_system(anvil_chain(url))
    rpc = Rpc(url)
    accounts = [a.address.lower() for a in system.chain.accounts]
    env = Env(
        rpc=rpc,
        abi=Abi(system.escrow.abi),
        token_abi=Abi(system.usdc.abi),
        chain_id=system.chain.chain_id,
        escrow=system.escrow.address.lower(),
        usdc=system.usdc.address.lower(),
        usdt=system.usdt.address.lower(),
        owner=accounts[0],
        payers=[accounts[i] for i in (1, 4, 5, 6)],
        merchants=[accounts[2], accounts[7]],
        fee_recipients=[accounts[3], accounts[8]],
        attacker=accounts[9],
        operators=[Account.from_key(k).address.lower() for k in SIGNING_KEYS[:2]],
        signers=[Account.from_key(k).address.lower() for k in SIGNING_KEYS],
        max_fee_bps=int(system.escrow.functions.maxFeeBps().call()),
    )
    assert env.max_fee_bps == MAX_FEE_BPS
    assert system.escrow.functions.signer().call().lower() == env.operators[0]
    assert int(rpc("eth_getBlockByNumber", "latest", False)["baseFeePerGas"], 16) == 0
    rpc("anvil_autoImpersonateAccount", True)  # the operators send transactions too (at zero gas price)
    now = system.chain.now()
    for payer in env.payers:
        rpc("anvil_setBalance", payer, hex(FUNDS))
        for token in (env.usdc, env.usdt):
            for data in (
                env.token_abi.data("mint", payer, FUNDS),
                env.token_abi.data("approve", env.escrow, U256_MAX),
            ):
                now += 1
                assert env.send(payer, data, now, to=token).revert is None
    env.now = now
    env.base = env.observe([], []).balances
    env.snapshot_id = rpc("evm_snapshot")
    return env


@functools.lru_cache(maxsize=4096)
def signed(intent: PaymentIntent, key: str, chain_id: int, contract: str) -> bytes:
    return sign_intent(intent, key, chain_id=chain_id, contract=contract, kind="escrow")


@functools.lru_cache(maxsize=4096)
def struct_hash(intent: PaymentIntent, chain_id: int, contract: str) -> bytes:
    """EIP-712 hashStruct of the intent, computed by eth-account (what the escrow stores as intentHash)."""
    message = encode_typed_data(
        full_message=typed_data(intent, chain_id=chain_id, contract=contract, kind="escrow")
    )
    return bytes(message.body)


# ------------------------------------------------------------------------------------ strategies


def weighted(*choices: tuple[Any, int]) -> st.SearchStrategy[Any]:
    """One of the values, each as often as its weight (shrinks towards the first)."""
    return st.sampled_from([value for value, weight in choices for _ in range(weight)])


@dataclass(frozen=True)
class Recipe:
    """What an intent is made of; turned into a signed PaymentIntent relative to the model's clock."""

    token: str  # "USDC", "USDT" or "native"
    amount: int
    allow_partial: bool
    payer: int | None  # index into the payers the intent is bound to; None: anyone may pay
    merchant: int | None  # index into the merchants; None: the zero address (invalid)
    splits: tuple[tuple[int | None, int], ...]  # (index into the fee recipients or None for zero, bps)
    deadline_in: int  # seconds from now (<= 0: expired before the first transaction)
    reclaim_gap: int  # reclaimAfter - deadline (<= 0: invalid)
    key: int  # index into SIGNING_KEYS
    nonce_seed: int
    same_id_as: int | None  # reuse the id of an earlier intent
    same_nonce_as: int | None  # reuse the nonce of an earlier intent


#: At most one defect per intent, and most intents have none, so that most sequences get far.
DEFECTS = weighted(
    (None, 16),
    ("expired", 1),
    ("reclaim_not_after_deadline", 1),
    ("zero_merchant", 1),
    ("fee_too_high", 1),
    ("too_many_splits", 1),
    ("zero_recipient", 1),
    ("unknown_signer", 1),
    ("next_signer", 1),  # valid only once the signer has been rotated to it
    ("same_id", 1),  # a second intent under the id of an earlier one
    ("same_nonce", 1),
)


@st.composite
def recipes(draw: st.DrawFn) -> Recipe:
    defect = draw(DEFECTS)
    size = draw(weighted(("normal", 12), ("small", 2), ("huge", 2), ("too_large", 1)))
    amount = draw(
        {
            "normal": st.integers(101, 10**12),
            "small": st.integers(1, 100),  # fee rounding dominates
            "huge": st.integers(2**127, U128_MAX),  # up to the limit of the escrow's 128-bit accounting
            "too_large": st.integers(U128_MAX + 1, 2**130),
        }[size]
    )
    recipient = st.sampled_from([0, 1])
    splits: list[tuple[int | None, int]]
    if defect == "fee_too_high":
        total = draw(st.integers(MAX_FEE_BPS + 1, 2 * 65_535))
        x = draw(st.integers(max(0, total - 65_535), min(total, 65_535)))
        splits = [(0, total - x), (1, x)]
    elif defect == "too_many_splits":
        splits = draw(
            st.lists(st.tuples(recipient, st.integers(0, 100)), min_size=MAX_SPLITS + 1, max_size=7)
        )
    elif draw(weighted((False, 5), (True, 1))):  # splits adding up to exactly the maximum fee
        x = draw(st.integers(0, MAX_FEE_BPS))
        splits = [(0, MAX_FEE_BPS - x), (1, x)]
    else:
        splits = draw(st.lists(st.tuples(recipient, st.integers(0, MAX_FEE_BPS // 3)), max_size=3))
    if defect == "zero_recipient":
        splits.insert(draw(st.integers(0, len(splits))), (None, draw(st.integers(0, 100))))
    return Recipe(
        token=draw(st.sampled_from(["USDC", "USDT", "native"])),
        amount=amount,
        allow_partial=draw(st.booleans()),
        payer=draw(weighted((None, 3), (0, 1), (1, 1))),
        merchant=None if defect == "zero_merchant" else draw(weighted((0, 2), (1, 1))),
        splits=tuple(splits),
        deadline_in=draw(st.integers(-3600, 0) if defect == "expired" else st.integers(1, 3600)),
        reclaim_gap=draw(
            st.integers(-2, 0) if defect == "reclaim_not_after_deadline" else st.integers(1, 7 * 86_400)
        ),
        key={"unknown_signer": 2, "next_signer": 1}.get(defect or "", 0),
        nonce_seed=draw(st.integers(0, U256_MAX)),
        same_id_as=draw(st.integers(0, MAX_INTENTS - 1)) if defect == "same_id" else None,
        same_nonce_as=draw(st.integers(0, MAX_INTENTS - 1)) if defect == "same_nonce" else None,
    )


INDEX = st.integers(0, MAX_INTENTS - 1)
#: "live": pick among the intents the operation can work on (open escrows; for deposits, escrows that
#: can take more), when there are any; "all": among all intents. Keeps most steps meaningful.
AMONG = weighted(("live", 3), ("all", 1))
FRACTION = st.integers(0, 2**130)


@dataclass(frozen=True)
class DepositPlan:
    i: int  # intent index (modulo the number of candidate intents)
    among: str
    who: str  # "auto": the escrow's payer, else the intent's bound payer, else `payer`; "any": `payer`
    payer: int
    how: str  # amount: rest, part, over, zero, u128_max, past_u128
    frac: int
    value_ok: bool  # msg.value as required (amount for native, 0 for tokens)


deposit_plans = st.builds(
    DepositPlan,
    i=INDEX,
    among=AMONG,
    who=weighted(("auto", 4), ("any", 1)),
    payer=st.integers(0, 3),
    how=weighted(("rest", 6), ("part", 4), ("over", 1), ("zero", 1), ("u128_max", 1), ("past_u128", 1)),
    frac=FRACTION,
    value_ok=weighted((True, 15), (False, 1)),
)
AMOUNTS = weighted(("all", 2), ("part", 3), ("over", 1), ("zero", 1), ("huge", 1))
MANAGERS = weighted(("merchant", 3), ("signer", 2), ("other_operator", 1), ("payer", 1), ("attacker", 1))
TAMPER = weighted((False, 9), (True, 1))


# ------------------------------------------------------------------------------------------ model


@dataclass(frozen=True)
class Held:
    """A signed intent the gateway handed out (or a tampered copy of one)."""

    intent: PaymentIntent
    signature: bytes
    signer: str  # the address that signed it
    struct_hash: bytes
    label: str


@dataclass
class EscrowModel:
    opened_with: Held
    payer: str
    status: int = OPEN
    deposited: int = 0
    captured: int = 0
    refunded: int = 0
    released: int = 0

    @property
    def available(self) -> int:
        return self.deposited - self.captured - self.refunded


class EscrowMachine(RuleBasedStateMachine):
    env: ClassVar[Env]

    def __init__(self) -> None:
        super().__init__()
        self.env.reset()
        self.now = self.env.now  # timestamp of the latest block; the next transaction runs at now + 1
        self.intents: list[Held] = []
        self.escrows: dict[bytes, EscrowModel] = {}
        self.used_nonces: set[int] = set()
        self.paused = False
        self.signer = self.env.operators[0]
        self.previous_signer = (ZERO, 0)
        self.expected: dict[tuple[str, str], int] = defaultdict(int)  # balance changes since the snapshot
        self.version = 0  # bumped by every block, so observations are read once per step
        self._observed: tuple[int, Observed] | None = None

    # ----------------------------------------------------------------------------- helpers

    def _is_signer(self, account: str, timestamp: int) -> bool:
        previous, until = self.previous_signer
        return account != ZERO and (account == self.signer or (account == previous and timestamp < until))

    def _move(self, token: str, source: str, target: str, amount: int) -> None:
        self.expected[(token, source)] -= amount
        self.expected[(token, target)] += amount

    def _transact(
        self, what: str, sender: str, data: str, error: Error | None, events: list[Event], value: int = 0
    ) -> bool:
        """Sends at the next second; asserts the predicted error, or success with exactly `events`."""
        timestamp = self.now + 1
        sent = self.env.send(sender, data, timestamp, value)
        self.now = timestamp
        self.version += 1
        got = None if sent.revert is None else decode_revert(sent.revert)
        outcome = "success" if got is None else f"revert {got.name or '0x' + got.data.hex()}{got.args}"
        if currently_in_test_context():  # outcome counts for --hypothesis-show-statistics
            event(f"{what.split('(')[0].split(' ')[0]}: {'success' if got is None else got.name}")
        if error is not None:
            assert got is not None and (got.name, got.args) == error, (
                f"{what} at {timestamp}: expected revert {error[0]}{error[1]}, got {outcome}"
            )
            return False
        assert got is None, f"{what} at {timestamp}: expected success, got {outcome}"
        logs = [
            self.env.abi.event(log)
            for log in sent.receipt["logs"]
            if log["address"].lower() == self.env.escrow
        ]
        assert logs == events, f"{what}: events {logs} != expected {events}"
        return True

    def _held(self, i: int, among: str = "all", deposit: bool = False) -> Held:
        """Intent number i among all intents, or among the live ones if there are any."""
        candidates = self.intents
        if among == "live":
            live = []
            for held in self.intents:
                e = self.escrows.get(held.intent.id)
                is_open = e is not None and e.status == OPEN and e.opened_with.struct_hash == held.struct_hash
                if (is_open and (not deposit or e.deposited < held.intent.amount)) or (deposit and e is None):
                    live.append(held)
            candidates = live or self.intents
        return candidates[i % len(candidates)]

    def _presented(self, i: int, among: str, tamper: bool) -> Held:
        """The intent as presented: held, or with the attacker substituted as merchant."""
        held = self._held(i, among)
        if not tamper:
            return held
        intent = replace(held.intent, merchant=self.env.attacker)
        return Held(
            intent, held.signature, held.signer, self._hash(intent), f"{held.label} with attacker as merchant"
        )

    def _hash(self, intent: PaymentIntent) -> bytes:
        return struct_hash(intent, self.env.chain_id, self.env.escrow)

    def _manager(self, kind: str, held: Held) -> str:
        """Who calls capture, refund or void."""
        e = self.escrows.get(held.intent.id)
        return {
            "merchant": held.intent.merchant if held.intent.merchant != ZERO else self.env.attacker,
            "signer": self.signer,
            "other_operator": next(o for o in self.env.operators if o != self.signer),
            "payer": e.payer if e else self.env.payers[0],
            "attacker": self.env.attacker,
        }[kind]

    def _amount(self, held: Held, how: str, frac: int) -> int:
        e = self.escrows.get(held.intent.id)
        available = e.available if e and e.status == OPEN else 0
        return {
            "all": available,
            "part": 1 + frac % max(available, 1),
            "over": available + 1 + frac % 1000,
            "zero": 0,
            "huge": (U128_MAX, U128_MAX + 1, U256_MAX)[frac % 3],
        }[how]

    def _split_error(self, intent: PaymentIntent) -> Error | None:
        """_intentStructHash rejects a zero split recipient wherever an intent is presented."""
        return ("ZeroAddress", ()) if any(s.recipient == ZERO for s in intent.splits) else None

    def _open_error(self, held: Held) -> Error | None:
        """_openEscrow: the escrow must be open and opened with this very intent."""
        intent_id = held.intent.id
        e = self.escrows.get(intent_id)
        if e is None or e.status != OPEN:
            return ("EscrowNotOpen", (intent_id, e.status if e else NONE))
        if error := self._split_error(held.intent):
            return error
        if held.struct_hash != e.opened_with.struct_hash:
            return ("IntentMismatch", (intent_id,))
        return None

    def _manager_error(self, held: Held, sender: str, timestamp: int) -> Error | None:
        if sender != held.intent.merchant and not self._is_signer(sender, timestamp):
            return ("NotOperatorOrMerchant", (sender,))
        return None

    def _amount_error(self, held: Held, amount: int) -> Error | None:
        if amount == 0:
            return ("ZeroAmount", ())
        available = self.escrows[held.intent.id].available
        if amount > available:
            return ("InsufficientBalance", (held.intent.id, available, amount))
        return None

    # ------------------------------------------------------------------------------- intents

    def _create(self, r: Recipe) -> None:
        k = len(self.intents)
        env = self.env
        if r.same_id_as is not None and k:
            intent_id = self.intents[r.same_id_as % k].intent.id
        else:
            intent_id = keccak(b"escrow-invariants" + k.to_bytes(32, "big"))
        if r.same_nonce_as is not None and k:
            nonce = self.intents[r.same_nonce_as % k].intent.nonce
        else:
            nonce = (r.nonce_seed + k) % 2**256
        deadline = self.now + r.deadline_in
        intent = PaymentIntent(
            id=intent_id,
            nonce=nonce,
            token={"USDC": env.usdc, "USDT": env.usdt, "native": ZERO}[r.token],
            amount=r.amount,
            payer=ZERO if r.payer is None else env.payers[r.payer],
            deadline=deadline,
            merchant=ZERO if r.merchant is None else env.merchants[r.merchant],
            splits=tuple(Split(ZERO if i is None else env.fee_recipients[i], bps) for i, bps in r.splits),
            reclaim_after=deadline + r.reclaim_gap,
            allow_partial=r.allow_partial,
        )
        signature = signed(intent, SIGNING_KEYS[r.key], env.chain_id, env.escrow)
        self.intents.append(Held(intent, signature, env.signers[r.key], self._hash(intent), f"intent#{k}"))

    @initialize(
        recipes=st.lists(recipes(), min_size=1, max_size=3),
        deposits=st.lists(deposit_plans, min_size=1, max_size=4),
    )
    def start(self, recipes: list[Recipe], deposits: list[DepositPlan]) -> None:
        for recipe in recipes:
            self._create(recipe)
        for plan in deposits:
            self._deposit(plan)

    @rule(recipe=recipes())
    def create_intent(self, recipe: Recipe) -> None:
        if len(self.intents) < MAX_INTENTS:
            self._create(recipe)

    # ------------------------------------------------------------------------------- deposit

    def _deposit_error(
        self, held: Held, sender: str, amount: int, value: int, timestamp: int
    ) -> Error | None:
        intent = held.intent
        if self.paused:
            return ("EnforcedPause", ())
        required = amount if intent.token == ZERO else 0
        if value != required:
            return ("WrongValue", (required, value))
        if amount == 0:
            return ("ZeroAmount", ())
        if intent.amount > U128_MAX:  # bounds every total, so the 128-bit counters stay exact
            return ("AmountTooLarge", (intent.amount,))
        e = self.escrows.get(intent.id)
        if e is None:  # first deposit: _verifyIntent
            if intent.reclaim_after <= intent.deadline:
                return ("InvalidReclaimTime", (intent.id, intent.deadline, intent.reclaim_after))
            if timestamp > intent.deadline:
                return ("IntentExpired", (intent.id, intent.deadline, timestamp))
            if intent.payer not in (ZERO, sender):
                return ("WrongPayer", (intent.id, intent.payer, sender))
            if intent.amount == 0:
                return ("ZeroAmount", ())
            if intent.merchant == ZERO:
                return ("ZeroAddress", ())
            if len(intent.splits) > MAX_SPLITS:
                return ("TooManySplits", (len(intent.splits), MAX_SPLITS))
            if error := self._split_error(intent):
                return error
            total_bps = sum(s.bps for s in intent.splits)
            if total_bps > MAX_FEE_BPS:
                return ("FeeTooHigh", (total_bps, MAX_FEE_BPS))
            if not self._is_signer(held.signer, timestamp):
                return ("InvalidSigner", (held.signer,))
            if intent.nonce in self.used_nonces:
                return ("NonceAlreadyUsed", (intent.nonce,))
            if amount > intent.amount if intent.allow_partial else amount != intent.amount:
                return ("WrongAmount", (intent.id, intent.amount, amount))
            return None
        if e.status != OPEN:
            return ("EscrowNotOpen", (intent.id, e.status))
        if error := self._split_error(intent):
            return error
        if held.struct_hash != e.opened_with.struct_hash:
            return ("IntentMismatch", (intent.id,))
        if sender != e.payer:
            return ("NotPayer", (intent.id, e.payer, sender))
        if timestamp > intent.deadline:
            return ("IntentExpired", (intent.id, intent.deadline, timestamp))
        if e.deposited + amount > intent.amount:
            return ("WrongAmount", (intent.id, intent.amount - e.deposited, amount))
        return None

    def _deposit(self, plan: DepositPlan) -> None:
        held = self._held(plan.i, plan.among, deposit=True)
        intent = held.intent
        e = self.escrows.get(intent.id)
        sender = self.env.payers[plan.payer]
        if plan.who == "auto":
            if e is not None:
                sender = e.payer
            elif intent.payer != ZERO:
                sender = intent.payer
        same = e is not None and e.status == OPEN and e.opened_with.struct_hash == held.struct_hash
        rest = intent.amount - (e.deposited if same and e else 0)
        amount = {
            "rest": rest,
            "part": 1 + plan.frac % max(rest, 1),
            "over": rest + 1 + plan.frac % 1000,
            "zero": 0,
            "u128_max": U128_MAX,
            "past_u128": U128_MAX + 1,
        }[plan.how]
        if intent.token == ZERO:
            value = amount if plan.value_ok else amount + 1
        else:
            value = 0 if plan.value_ok else 1 + plan.frac % 1000
        error = self._deposit_error(held, sender, amount, value, self.now + 1)
        total = (e.deposited if e else 0) + amount
        events = [("Deposited", (intent.id, sender, intent.token, amount, total))]
        data = self.env.abi.data("deposit", intent.as_tuple(), held.signature, amount)
        what = f"deposit({amount}, value={value}) into {held.label} by {sender}"
        if self._transact(what, sender, data, error, events, value):
            if e is None:
                e = self.escrows[intent.id] = EscrowModel(held, sender)
                self.used_nonces.add(intent.nonce)
            e.deposited = total
            self._move(intent.token, sender, self.env.escrow, amount)

    @rule(plan=deposit_plans)
    def deposit(self, plan: DepositPlan) -> None:
        self._deposit(plan)

    # -------------------------------------------------------------- capture, refund, void, reclaim

    @rule(i=INDEX, among=AMONG, caller=MANAGERS, how=AMOUNTS, frac=FRACTION, tamper=TAMPER)
    def capture(self, i: int, among: str, caller: str, how: str, frac: int, tamper: bool) -> None:
        held = self._presented(i, among, tamper)
        intent = held.intent
        sender = self._manager(caller, held)
        amount = self._amount(held, how, frac)
        timestamp = self.now + 1
        error = (
            (("EnforcedPause", ()) if self.paused else None)
            or self._open_error(held)
            or self._manager_error(held, sender, timestamp)
            or (
                ("CaptureWindowClosed", (intent.id, intent.reclaim_after, timestamp))
                if timestamp >= intent.reclaim_after
                else None
            )
            or self._amount_error(held, amount)
        )
        events: list[Event] = []
        fees = [amount * s.bps // BPS for s in intent.splits]
        if error is None:
            total = self.escrows[intent.id].captured + amount
            events = [
                ("Captured", (intent.id, intent.merchant, amount, amount - sum(fees), tuple(fees), total))
            ]
        data = self.env.abi.data("capture", intent.as_tuple(), amount)
        if self._transact(f"capture({amount}) of {held.label} by {sender}", sender, data, error, events):
            self.escrows[intent.id].captured += amount
            self._move(intent.token, self.env.escrow, intent.merchant, amount - sum(fees))
            for split, fee in zip(intent.splits, fees, strict=True):
                self._move(intent.token, self.env.escrow, split.recipient, fee)

    @rule(i=INDEX, among=AMONG, caller=MANAGERS, how=AMOUNTS, frac=FRACTION, tamper=TAMPER)
    def refund(self, i: int, among: str, caller: str, how: str, frac: int, tamper: bool) -> None:
        held = self._presented(i, among, tamper)
        intent = held.intent
        sender = self._manager(caller, held)
        amount = self._amount(held, how, frac)
        error = (
            self._open_error(held)
            or self._manager_error(held, sender, self.now + 1)
            or self._amount_error(held, amount)
        )
        events: list[Event] = []
        if error is None:
            e = self.escrows[intent.id]
            events = [("Refunded", (intent.id, e.payer, amount, e.refunded + amount))]
        data = self.env.abi.data("refund", intent.as_tuple(), amount)
        if self._transact(f"refund({amount}) of {held.label} by {sender}", sender, data, error, events):
            e = self.escrows[intent.id]
            e.refunded += amount
            self._move(intent.token, self.env.escrow, e.payer, amount)

    def _release(self, held: Held, status: int) -> None:
        e = self.escrows[held.intent.id]
        e.released = e.available
        e.status = status
        self._move(held.intent.token, self.env.escrow, e.payer, e.released)

    @rule(i=INDEX, among=AMONG, caller=MANAGERS, tamper=TAMPER)
    def void(self, i: int, among: str, caller: str, tamper: bool) -> None:
        held = self._presented(i, among, tamper)
        sender = self._manager(caller, held)
        error = self._open_error(held) or self._manager_error(held, sender, self.now + 1)
        events: list[Event] = []
        if error is None:
            e = self.escrows[held.intent.id]
            events = [("Voided", (held.intent.id, e.payer, e.available))]
        data = self.env.abi.data("void", held.intent.as_tuple())
        if self._transact(f"void of {held.label} by {sender}", sender, data, error, events):
            self._release(held, VOIDED)

    @rule(
        i=INDEX,
        among=AMONG,
        caller=weighted(("payer", 4), ("other_payer", 1), ("merchant", 1), ("attacker", 1)),
        k=st.integers(0, 3),
        tamper=TAMPER,
    )
    def reclaim(self, i: int, among: str, caller: str, k: int, tamper: bool) -> None:
        held = self._presented(i, among, tamper)
        intent = held.intent
        e = self.escrows.get(intent.id)
        payer = e.payer if e else self.env.payers[0]
        others = [p for p in self.env.payers if p != payer]
        sender = {
            "payer": payer,
            "other_payer": others[k % len(others)],
            "merchant": self.env.merchants[k % 2],
            "attacker": self.env.attacker,
        }[caller]
        timestamp = self.now + 1
        error = self._open_error(held)
        if error is None and sender != payer:
            error = ("NotPayer", (intent.id, payer, sender))
        if error is None and timestamp < intent.reclaim_after:
            error = ("ReclaimTooEarly", (intent.id, intent.reclaim_after, timestamp))
        events: list[Event] = []
        if error is None and e is not None:
            events = [("Reclaimed", (intent.id, payer, e.available))]
        data = self.env.abi.data("reclaim", intent.as_tuple())
        if self._transact(f"reclaim of {held.label} by {sender}", sender, data, error, events):
            self._release(held, RECLAIMED)

    # ---------------------------------------------------------------------------- time, admin

    @rule(
        i=INDEX,
        among=AMONG,
        to=st.sampled_from(
            ["deadline", "after_deadline", "before_reclaim", "reclaim", "grace_last", "grace_over", "jump"]
        ),
        seconds=st.integers(1, 86_400),
    )
    def time_travel(self, i: int, among: str, to: str, seconds: int) -> None:
        """Moves the clock so that the next transaction runs exactly at a boundary (if still ahead)."""
        intent = self._held(i, among).intent
        grace_end = self.previous_signer[1]
        target = {
            "deadline": intent.deadline,  # last second to deposit
            "after_deadline": intent.deadline + 1,
            "before_reclaim": intent.reclaim_after - 1,  # last second to capture
            "reclaim": intent.reclaim_after,  # first second to reclaim
            "grace_last": grace_end - 1,  # last second of the rotated-out signer
            "grace_over": grace_end,
            "jump": self.now + 1 + seconds,
        }[to]
        if target - 1 > self.now:
            self.now = target - 1
            self.env.mine(self.now)
            self.version += 1

    @rule(
        action=weighted(("unpause", 2), ("rotate_signer", 1), ("pause", 1), ("cancel_nonce", 1)),
        caller=weighted(("owner", 3), ("signer", 1), ("attacker", 1)),
        i=INDEX,
        to=st.integers(0, 1),
        grace=weighted((1, 2), (MAX_SIGNER_GRACE, 2), (0, 1), (MAX_SIGNER_GRACE + 1, 1)).flatmap(
            lambda g: st.integers(1, MAX_SIGNER_GRACE - 1) if g == 1 else st.just(g)
        ),
    )
    def admin(self, action: str, caller: str, i: int, to: int, grace: int) -> None:
        sender = {"owner": self.env.owner, "signer": self.signer, "attacker": self.env.attacker}[caller]
        timestamp = self.now + 1
        not_owner = ("OwnableUnauthorizedAccount", (sender,)) if sender != self.env.owner else None
        abi = self.env.abi
        if action == "pause":
            error = not_owner or (("EnforcedPause", ()) if self.paused else None)
            if self._transact("pause", sender, abi.data("pause"), error, [("Paused", (sender,))]):
                self.paused = True
        elif action == "unpause":
            error = not_owner or (None if self.paused else ("ExpectedPause", ()))
            if self._transact("unpause", sender, abi.data("unpause"), error, [("Unpaused", (sender,))]):
                self.paused = False
        elif action == "cancel_nonce":
            nonce = self._held(i).intent.nonce
            word, mask = nonce >> 8, 1 << (nonce & 255)
            allowed = self._is_signer(sender, timestamp) or sender == self.env.owner
            error = None if allowed else ("NotOperator", (sender,))
            data = abi.data("invalidateNonces", word, mask)
            if self._transact(
                f"cancel nonce {nonce}", sender, data, error, [("NoncesInvalidated", (word, mask))]
            ):
                self.used_nonces.add(nonce)
        else:
            new = self.env.operators[to]
            error = not_owner or (
                ("GraceTooLong", (grace, MAX_SIGNER_GRACE)) if grace > MAX_SIGNER_GRACE else None
            )
            events = [("SignerRotated", (self.signer, new, timestamp + grace))]
            if self._transact(
                f"rotate signer to {new}", sender, abi.data("rotateSigner", new, grace), error, events
            ):
                self.previous_signer = (self.signer, timestamp + grace)
                self.signer = new

    # ---------------------------------------------------------------------------- invariants

    def _seen(self) -> Observed:
        if self._observed is None or self._observed[0] != self.version:
            ids = list(dict.fromkeys(h.intent.id for h in self.intents))
            nonces = list(dict.fromkeys(h.intent.nonce for h in self.intents))
            self._observed = (self.version, self.env.observe(ids, nonces))
        return self._observed[1]

    def _token_of(self, intent_id: bytes) -> str:
        e = self.escrows.get(intent_id)
        held = e.opened_with if e else next(h for h in self.intents if h.intent.id == intent_id)
        return held.intent.token

    def _delta(self, seen: Observed, token: str, holder: str) -> int:
        assert self.env.base is not None
        return seen.balances[(token, holder)] - self.env.base[(token, holder)]

    @invariant()
    def escrows_match_model(self) -> None:
        seen = self._seen()
        for intent_id, got in seen.escrows.items():
            e = self.escrows.get(intent_id)
            if e is None:
                want: tuple[Any, ...] = (b"\0" * 32, ZERO, NONE, 0, 0, 0, 0)
            else:
                want = (
                    e.opened_with.struct_hash,
                    e.payer,
                    e.status,
                    e.deposited,
                    e.captured,
                    e.refunded,
                    e.released,
                )
            diffs = [
                f"{n} chain {g!r} != model {w!r}"
                for n, g, w in zip(ESCROW_FIELDS, got, want, strict=True)
                if g != w
            ]
            assert not diffs, f"escrow {intent_id.hex()}: {'; '.join(diffs)}"
            capturable = e.available if e and e.status == OPEN else 0
            assert seen.capturable[intent_id] == capturable, (
                f"capturable {seen.capturable[intent_id]} != {capturable}"
            )
        for nonce, used in seen.nonce_used.items():
            assert used == (nonce in self.used_nonces), f"nonce {nonce} used={used}"
        assert seen.paused == self.paused
        assert (seen.signer, seen.previous_signer) == (self.signer, self.previous_signer)

    @invariant()
    def never_more_out_than_in(self) -> None:
        for intent_id, (_, _, _, deposited, captured, refunded, released) in self._seen().escrows.items():
            assert captured + refunded + released <= deposited, (
                f"escrow {intent_id.hex()}: captured {captured} + refunded {refunded} + released {released}"
                f" > deposited {deposited}"
            )

    @invariant()
    def contract_holds_open_balances(self) -> None:
        seen = self._seen()
        for token in self.env.tokens:
            owed = sum(
                deposited - captured - refunded
                for intent_id, (_, _, status, deposited, captured, refunded, _) in seen.escrows.items()
                if status == OPEN and self._token_of(intent_id) == token
            )
            held = seen.balances[(token, self.env.escrow)]
            assert held >= owed, f"token {token}: contract holds {held} < {owed} owed to open escrows"
            assert held == owed, (
                f"token {token}: contract holds {held}, open escrows hold {owed} (stuck funds)"
            )

    @invariant()
    def fees_within_bounds(self) -> None:
        seen = self._seen()
        for token in self.env.tokens:
            captured = sum(
                e[4] for intent_id, e in seen.escrows.items() if self._token_of(intent_id) == token
            )
            fees = sum(self._delta(seen, token, r) for r in self.env.fee_recipients)
            merchants = sum(self._delta(seen, token, m) for m in self.env.merchants)
            max_bps = self.env.max_fee_bps
            assert fees >= 0 and fees * BPS <= captured * max_bps, (
                f"token {token}: split recipients got {fees} of {captured} captured (max {max_bps} bps)"
            )
            assert merchants + fees == captured, (
                f"token {token}: merchants {merchants} + fees {fees} != {captured}"
            )

    @invariant()
    def only_payers_get_money_back(self) -> None:
        seen = self._seen()
        paid_by_capture = {*self.env.merchants, *self.env.fee_recipients, self.env.escrow}
        for token in self.env.tokens:
            for holder in self.env.holders:
                if holder in paid_by_capture:
                    continue
                due = sum(
                    refunded + released - deposited
                    for intent_id, (_, payer, _, deposited, _, refunded, released) in seen.escrows.items()
                    if payer == holder and self._token_of(intent_id) == token
                )
                got = self._delta(seen, token, holder)
                assert got == due, f"token {token}: {holder} changed by {got}, its escrows returned it {due}"

    @invariant()
    def balances_match_model(self) -> None:
        seen = self._seen()
        for token in self.env.tokens:
            for holder in self.env.holders:
                got, want = self._delta(seen, token, holder), self.expected[(token, holder)]
                assert got == want, f"token {token}: {holder} changed by {got}, model says {want}"


# ----------------------------------------------------------------------------------------- tests

COMMON = settings(
    deadline=None,
    database=None,  # no example database: a run does not depend on earlier ones
    stateful_step_count=15,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    with run_anvil("--base-fee", "0") as url:
        yield make_env(url)


def machine_class(env: Env) -> type[EscrowMachine]:
    return type("SluiceEscrowMachine", (EscrowMachine,), {"env": env})


def test_escrow_invariants(env: Env) -> None:
    """500 sequences, the same on every run (derandomized)."""
    config = settings(COMMON, max_examples=500, derandomize=True)
    run_state_machine_as_test(machine_class(env), settings=config)


@pytest.mark.parametrize("capture_first", [False, True], ids=["deposits-only", "after-capture"])
def test_partial_deposits_cannot_wrap_the_128_bit_accounting(env: Env, capture_first: bool) -> None:
    """Regression, found by the machine: deposits summed in uint256 were stored as uint128(total), so an
    intent for 2**128 took deposits of 2**128 - 1 and 1 and recorded deposited = 0 (the payer's tokens
    stuck in the contract; after a capture, captured > deposited and every call on the escrow reverting
    with Panic(0x11)). Such intents must be refused; one for exactly 2**128 - 1 must add up exactly."""
    machine = machine_class(env)()
    recipe = Recipe(
        token="USDC",
        amount=2**128,
        allow_partial=True,
        payer=None,
        merchant=0,
        splits=(),
        deadline_in=3600,
        reclaim_gap=86_400,
        key=0,
        nonce_seed=0,
        same_id_as=None,
        same_nonce_as=None,
    )
    limit = replace(recipe, amount=U128_MAX, nonce_seed=1)
    first = DepositPlan(i=0, among="all", who="auto", payer=0, how="u128_max", frac=0, value_ok=True)
    machine.start([recipe, limit], [first, replace(first, i=1, how="part", frac=U128_MAX - 2)])
    assert machine.escrows.keys() == {machine.intents[1].intent.id}  # 2**128 refused, 2**128 - 2 taken
    if capture_first:
        machine.capture(i=1, among="all", caller="merchant", how="all", frac=0, tamper=False)
    for i in (0, 1, 1):  # 1 more: refused for 2**128 (AmountTooLarge), fills 2**128 - 1, then WrongAmount
        machine.deposit(replace(first, i=i, how="part", frac=0))
    escrow = machine.escrows[machine.intents[1].intent.id]
    assert escrow.deposited == U128_MAX and len(machine.escrows) == 1
    for check in (
        machine.escrows_match_model,
        machine.never_more_out_than_in,
        machine.contract_holds_open_balances,
        machine.balances_match_model,
    ):
        check()
    machine.void(i=1, among="all", caller="merchant", tamper=False)  # the rest goes back to the payer
    machine.balances_match_model()
    machine.teardown()


@pytest.mark.slow
@pytest.mark.timeout(3 * 3600)
def test_escrow_invariants_long(env: Env) -> None:
    """10,000 fresh random sequences (`make test-slow`, `pytest -m slow`)."""
    run_state_machine_as_test(machine_class(env), settings=settings(COMMON, max_examples=10_000))
