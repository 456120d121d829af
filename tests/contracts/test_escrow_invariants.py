"""SluiceEscrow under random operation sequences: a Hypothesis state machine checked against a model.

The machine deposits (full and partial; DevUSDC, DevUSDT, the native coin and three tokens that turn
hostile at any moment: a fee switched on, a USDC-style blocklist, a token-wide pause; several intents
and payers), captures, refunds, voids and reclaims, claims what could not be pushed, pauses, rotates
the signer and the relayer, cancels nonces, works the tokens' switches, and moves the clock to every
intent's deadline and reclaim time (to the second). Invalid operations are tried on
purpose: before each transaction the model predicts success (with the exact events) or the exact custom
error and its arguments, and the test asserts that outcome. After every step these invariants are
checked against what the chain reports (getEscrow, capturable, token and native balances):

- per escrow: captured + refunded + released <= deposited, and the escrow equals the model's;
- the contract holds, per token, exactly the open escrows' uncaptured balances plus the claimable
  balances (payouts the token or the receiver refused);
- the split recipients together were paid (pushed or credited) at most captured * maxFeeBps / 10,000,
  and merchants plus split recipients exactly what was captured;
- refunds, voids and reclaims reach only the escrow's payer: nobody else is paid anything;
- every tracked balance and claimable balance equals the model's.

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
from dataclasses import dataclass, field, replace
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
from sluice.contracts import load_artifact

from chains import OPERATOR_KEY, anvil_chain, run_anvil
from factories import MAX_FEE_BPS, deploy_system
from reverts import decode_revert

pytestmark = [pytest.mark.contracts, pytest.mark.chain]

ZERO = "0x" + "00" * 20
BPS = 10_000
MAX_SPLITS = 5
MAX_SIGNER_GRACE = 86_400
U120_MAX = 2**120 - 1
U256_MAX = 2**256 - 1
NONE, OPEN, VOIDED, RECLAIMED = range(4)  # SluiceEscrow.Status
ESCROW_FIELDS = ("key", "payer", "status", "deposited", "captured", "refunded", "released")
MAX_INTENTS = 4
GAS = 3_000_000
FUNDS = 2**200  # per payer, of each token and of the native coin: intents reach past uint120
SECOND_OPERATOR_KEY = "0x" + "12" * 32  # the signer rotated to
STRANGER_KEY = "0x" + "66" * 32  # never a signer
SIGNING_KEYS = (OPERATOR_KEY, SECOND_OPERATOR_KEY, STRANGER_KEY)
SECOND_RELAYER_KEY = "0x" + "23" * 32  # the relayer rotated to
TOKEN_FEE_BPS = 100  # the FeeSwitchToken's fee once switched on

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

    # getEscrow of each (intent, payer) completion: key, payer, status, deposited, captured, refunded,
    # released
    escrows: dict[tuple[int, str], tuple[Any, ...]]
    capturable: dict[tuple[int, str], int | str]  # a message when the view reverted
    nonce_used: dict[int, bool]
    paused: bool
    signer: str
    previous_signer: tuple[str, int]
    relayer: str
    balances: dict[tuple[str, str], int]  # (token, holder) -> balance; token ZERO is the native coin
    claimable: dict[tuple[str, str], int]  # (token, holder) -> claimable balance in the escrow


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
    fee_token: str  # FeeSwitchToken
    block_token: str  # BlocklistToken
    pause_token: str  # PausableToken
    owner: str
    payers: list[str]
    merchants: list[str]
    fee_recipients: list[str]
    attacker: str
    operators: list[str]  # signer at deployment, signer rotated to
    signers: list[str]  # address of each of SIGNING_KEYS
    relayers: list[str]  # relayer at deployment, relayer rotated to
    max_fee_bps: int
    now: int = 0  # timestamp of the snapshot's latest block
    snapshot_id: str = ""
    base: dict[tuple[str, str], int] | None = None

    @property
    def erc20s(self) -> tuple[str, ...]:
        return (self.usdc, self.usdt, self.fee_token, self.block_token, self.pause_token)

    @property
    def tokens(self) -> tuple[str, ...]:
        return (ZERO, *self.erc20s)

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
            *self.relayers,
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

    def observe(self, completions: list[tuple[int, PaymentIntent]], nonces: list[int]) -> Observed:
        """All the state the invariants look at, read in one batch request. `completions`: each intent
        (by index) completed with each payer it may have, as the escrow keys it."""

        def call(to: str, data: str) -> tuple[str, list[Any]]:
            return ("eth_call", [{"to": to, "data": data}, "latest"])

        holders = self.holders
        calls = [call(self.escrow, self.abi.data("getEscrow", c.as_tuple())) for _, c in completions]
        calls += [call(self.escrow, self.abi.data("capturable", c.as_tuple())) for _, c in completions]
        calls += [call(self.escrow, self.abi.data("isNonceUsed", n)) for n in nonces]
        calls += [
            call(self.escrow, self.abi.data(name))
            for name in ("paused", "signer", "previousSigner", "relayer")
        ]
        calls += [("eth_getBalance", [holder, "latest"]) for holder in holders]
        for token in self.erc20s:
            calls += [call(token, self.token_abi.data("balanceOf", holder)) for holder in holders]
        for token in self.tokens:
            calls += [call(self.escrow, self.abi.data("claimable", token, holder)) for holder in holders]
        out = iter(self.rpc.batch(calls))
        escrows = {(i, c.payer): self.abi.result("getEscrow", next(out))[0] for i, c in completions}
        capturable = {(i, c.payer): self.abi.result("capturable", next(out))[0] for i, c in completions}
        nonce_used = {n: self.abi.result("isNonceUsed", next(out))[0] for n in nonces}
        paused = self.abi.result("paused", next(out))[0]
        signer = self.abi.result("signer", next(out))[0]
        previous = self.abi.result("previousSigner", next(out))
        relayer = self.abi.result("relayer", next(out))[0]
        balances = {(ZERO, holder): _int(next(out)) for holder in holders}
        for token in self.erc20s:
            balances.update(
                {(token, holder): self.token_abi.result("balanceOf", next(out))[0] for holder in holders}
            )
        claimable = {
            (token, holder): self.abi.result("claimable", next(out))[0]
            for token in self.tokens
            for holder in holders
        }
        return Observed(
            escrows,
            capturable,
            nonce_used,
            paused,
            signer,
            (previous[0], previous[1]),
            relayer,
            balances,
            claimable,
        )


def make_env(url: str) -> Env:
    system = deploy_system(anvil_chain(url))
    rpc = Rpc(url)
    accounts = [a.address.lower() for a in system.chain.accounts]
    hostile = {name: system.chain.deploy(name).address.lower() for name in HOSTILE_TOKENS}
    env = Env(
        rpc=rpc,
        abi=Abi(system.escrow.abi),
        token_abi=Abi(
            [*system.usdc.abi, *(i for name in HOSTILE_TOKENS for i in load_artifact(name).abi if _extra(i))]
        ),
        chain_id=system.chain.chain_id,
        escrow=system.escrow.address.lower(),
        usdc=system.usdc.address.lower(),
        usdt=system.usdt.address.lower(),
        fee_token=hostile["FeeSwitchToken"],
        block_token=hostile["BlocklistToken"],
        pause_token=hostile["PausableToken"],
        owner=accounts[0],
        payers=[accounts[i] for i in (1, 4, 5, 6)],
        merchants=[accounts[2], accounts[7]],
        fee_recipients=[accounts[3], accounts[8]],
        attacker=accounts[9],
        operators=[Account.from_key(k).address.lower() for k in SIGNING_KEYS[:2]],
        signers=[Account.from_key(k).address.lower() for k in SIGNING_KEYS],
        relayers=[system.chain.relayer.address.lower(), Account.from_key(SECOND_RELAYER_KEY).address.lower()],
        max_fee_bps=int(system.escrow.functions.maxFeeBps().call()),
    )
    assert env.max_fee_bps == MAX_FEE_BPS
    assert system.escrow.functions.signer().call().lower() == env.operators[0]
    assert system.escrow.functions.relayer().call().lower() == env.relayers[0]
    assert int(rpc("eth_getBlockByNumber", "latest", False)["baseFeePerGas"], 16) == 0
    rpc("anvil_autoImpersonateAccount", True)  # the operators send transactions too (at zero gas price)
    now = system.chain.now()
    for payer in env.payers:
        rpc("anvil_setBalance", payer, hex(FUNDS))
        for token in env.erc20s:
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


#: The tokens that turn hostile during a run, as contracts/test deploys them.
HOSTILE_TOKENS = ("FeeSwitchToken", "BlocklistToken", "PausableToken")


def _extra(item: dict[str, Any]) -> bool:
    """The hostile tokens' own switches (DevUSDC's ABI has the rest)."""
    return item.get("name") in ("setFee", "setBlocked", "pause", "unpause", "Blocklisted")


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

    token: str  # "USDC", "USDT", "native", or the hostile "FEE", "BLOCK", "PAUSE"
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
            "huge": st.integers(2**119, U120_MAX),  # up to the limit of the escrow's 120-bit accounting
            "too_large": st.integers(U120_MAX + 1, 2**122),
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
    allow_partial = draw(st.booleans())
    return Recipe(
        token=draw(st.sampled_from(["USDC", "USDT", "native", "FEE", "BLOCK", "PAUSE"])),
        amount=amount,
        allow_partial=allow_partial,
        # A partial intent must name its payer (PayerRequired otherwise): mostly it does.
        payer=draw(
            weighted((None, 1), (0, 2), (1, 2)) if allow_partial else weighted((None, 3), (0, 1), (1, 1))
        ),
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
    how: str  # amount: rest, part, over, zero, u120_max, past_u120
    frac: int
    value_ok: bool  # msg.value as required (amount for native, 0 for tokens)


deposit_plans = st.builds(
    DepositPlan,
    i=INDEX,
    among=AMONG,
    who=weighted(("auto", 4), ("any", 1)),
    payer=st.integers(0, 3),
    how=weighted(("rest", 6), ("part", 4), ("over", 1), ("zero", 1), ("u120_max", 1), ("past_u120", 1)),
    frac=FRACTION,
    value_ok=weighted((True, 15), (False, 1)),
)
AMOUNTS = weighted(("all", 2), ("part", 3), ("over", 1), ("zero", 1), ("huge", 1))
MANAGERS = weighted(
    ("merchant", 3), ("relayer", 3), ("other_relayer", 1), ("signer", 1), ("payer", 1), ("attacker", 1)
)
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
    key: bytes  # struct hash of the intent completed with the payer
    status: int = OPEN
    deposited: int = 0
    captured: int = 0
    refunded: int = 0
    released: int = 0

    @property
    def available(self) -> int:
        return self.deposited - self.captured - self.refunded


@dataclass
class TokenModel:
    """The hostile tokens' switches."""

    fee_bps: int = 0  # FeeSwitchToken
    blocked: set[str] = field(default_factory=set)  # BlocklistToken
    paused: bool = False  # PausableToken


class EscrowMachine(RuleBasedStateMachine):
    env: ClassVar[Env]

    def __init__(self) -> None:
        super().__init__()
        self.env.reset()
        self.now = self.env.now  # timestamp of the latest block; the next transaction runs at now + 1
        self.intents: list[Held] = []
        self.escrows: dict[bytes, EscrowModel] = {}  # by key
        self.used_nonces: set[int] = set()
        self.paused = False
        self.signer = self.env.operators[0]
        self.previous_signer = (ZERO, 0)
        self.relayer = self.env.relayers[0]
        self.tokens = TokenModel()
        self.expected: dict[tuple[str, str], int] = defaultdict(int)  # balance changes since the snapshot
        self.claimable: dict[tuple[str, str], int] = defaultdict(int)
        self.paid: dict[tuple[str, str], int] = defaultdict(int)  # what the escrow paid out or credited
        self.version = 0  # bumped by every block, so observations are read once per step
        self._observed: tuple[tuple[int, int], Observed] | None = None

    # ----------------------------------------------------------------------------- helpers

    def _is_signer(self, account: str, timestamp: int) -> bool:
        previous, until = self.previous_signer
        return account != ZERO and (account == self.signer or (account == previous and timestamp < until))

    def _token_error(self, token: str, source: str, target: str) -> Error | None:
        """The revert a token transfer from `source` to `target` would raise now, if any."""
        if token == self.env.block_token:
            for account in (source, target):
                if account in self.tokens.blocked:
                    return ("Blocklisted", (account,))
        if token == self.env.pause_token and self.tokens.paused:
            return ("EnforcedPause", ())
        return None

    def _token_fee(self, token: str, amount: int) -> int:
        return amount * self.tokens.fee_bps // BPS if token == self.env.fee_token else 0

    def _move(self, token: str, source: str, target: str, amount: int) -> None:
        """A successful transfer: the FeeSwitchToken burns its fee from what the target gets."""
        self.expected[(token, source)] -= amount
        self.expected[(token, target)] += amount - self._token_fee(token, amount)

    def _push(self, intent_id: bytes, token: str, target: str, amount: int, events: list[Event]) -> None:
        """The escrow's payout: sent, or credited as claimable (with PushFailed) when the token refuses."""
        if amount == 0:
            return
        self.paid[(token, target)] += amount
        if token != ZERO and self._token_error(token, self.env.escrow, target) is not None:
            self.claimable[(token, target)] += amount
            events.append(("PushFailed", (intent_id, target, token, amount)))
        else:
            self._move(token, self.env.escrow, target, amount)

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

    def _key(self, intent: PaymentIntent, payer: str) -> bytes:
        return self._hash(replace(intent, payer=payer))

    def _escrow_of(self, held: Held) -> EscrowModel | None:
        """The escrow this very intent opened, whoever deposited."""
        return next((e for e in self.escrows.values() if e.opened_with.struct_hash == held.struct_hash), None)

    def _held(self, i: int, among: str = "all", deposit: bool = False) -> Held:
        """Intent number i among all intents, or among the live ones if there are any."""
        candidates = self.intents
        if among == "live":
            live = []
            for held in self.intents:
                e = self._escrow_of(held)
                is_open = e is not None and e.status == OPEN
                if (is_open and (not deposit or e.deposited < held.intent.amount)) or (deposit and e is None):
                    live.append(held)
            candidates = live or self.intents
        return candidates[i % len(candidates)]

    def _presented(self, i: int, among: str, tamper: bool) -> Held:
        """The intent as presented to capture, refund, void and reclaim: completed with its payer (the
        depositor when it names none), and possibly with the attacker substituted as merchant."""
        held = self._held(i, among)
        e = self._escrow_of(held)
        payer = e.payer if e else (held.intent.payer if held.intent.payer != ZERO else self.env.payers[0])
        intent = replace(held.intent, payer=payer)
        label = held.label
        if tamper:
            intent = replace(intent, merchant=self.env.attacker)
            label += " with attacker as merchant"
        return Held(intent, held.signature, held.signer, self._hash(intent), label)

    def _hash(self, intent: PaymentIntent) -> bytes:
        return struct_hash(intent, self.env.chain_id, self.env.escrow)

    def _manager(self, kind: str, held: Held) -> str:
        """Who calls capture, refund or void."""
        return {
            "merchant": held.intent.merchant if held.intent.merchant != ZERO else self.env.attacker,
            "relayer": self.relayer,
            "other_relayer": next(r for r in self.env.relayers if r != self.relayer),
            "signer": self.signer,
            "payer": held.intent.payer,
            "attacker": self.env.attacker,
        }[kind]

    def _amount(self, held: Held, how: str, frac: int) -> int:
        e = self.escrows.get(held.struct_hash)
        available = e.available if e and e.status == OPEN else 0
        return {
            "all": available,
            "part": 1 + frac % max(available, 1),
            "over": available + 1 + frac % 1000,
            "zero": 0,
            "huge": (U120_MAX, U120_MAX + 1, U256_MAX)[frac % 3],
        }[how]

    def _split_error(self, intent: PaymentIntent) -> Error | None:
        """Hashing the splits rejects a zero recipient wherever an intent is presented."""
        return ("ZeroAddress", ()) if any(s.recipient == ZERO for s in intent.splits) else None

    def _open_error(self, held: Held) -> Error | None:
        """_openEscrow: the presented (completed) intent must key an open escrow."""
        if error := self._split_error(held.intent):
            return error
        e = self.escrows.get(held.struct_hash)
        if e is None or e.status != OPEN:
            return ("EscrowNotOpen", (held.intent.id, e.status if e else NONE))
        return None

    def _manager_error(self, held: Held, sender: str) -> Error | None:
        if sender != held.intent.merchant and sender != self.relayer:
            return ("NotRelayerOrMerchant", (sender,))
        return None

    def _amount_error(self, held: Held, amount: int) -> Error | None:
        if amount == 0:
            return ("ZeroAmount", ())
        available = self.escrows[held.struct_hash].available
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
        tokens = {
            "USDC": env.usdc,
            "USDT": env.usdt,
            "native": ZERO,
            "FEE": env.fee_token,
            "BLOCK": env.block_token,
            "PAUSE": env.pause_token,
        }
        intent = PaymentIntent(
            id=intent_id,
            nonce=nonce,
            token=tokens[r.token],
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
        if intent.amount > U120_MAX:  # bounds every total, so the 120-bit counters stay exact
            return ("AmountTooLarge", (intent.amount,))
        if error := self._split_error(intent):
            return error
        e = self.escrows.get(self._key(intent, intent.payer if intent.payer != ZERO else sender))
        if e is None:  # first deposit: _verifyIntent
            if intent.allow_partial and intent.payer == ZERO:
                return ("PayerRequired", (intent.id,))
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
            total_bps = sum(s.bps for s in intent.splits)
            if total_bps > MAX_FEE_BPS:
                return ("FeeTooHigh", (total_bps, MAX_FEE_BPS))
            if not self._is_signer(held.signer, timestamp):
                return ("InvalidSigner", (held.signer,))
            if intent.nonce in self.used_nonces:
                return ("NonceAlreadyUsed", (intent.nonce,))
            if amount > intent.amount if intent.allow_partial else amount != intent.amount:
                return ("WrongAmount", (intent.id, intent.amount, amount))
        else:
            if e.status != OPEN:
                return ("EscrowNotOpen", (intent.id, e.status))
            if intent.payer not in (ZERO, sender):
                return ("WrongPayer", (intent.id, intent.payer, sender))
            if timestamp > intent.deadline:
                return ("IntentExpired", (intent.id, intent.deadline, timestamp))
            if e.deposited + amount > intent.amount:
                return ("WrongAmount", (intent.id, intent.amount - e.deposited, amount))
        if intent.token != ZERO:  # the transfer in, with its balance-delta check
            if error := self._token_error(intent.token, sender, self.env.escrow):
                return error
            if fee := self._token_fee(intent.token, amount):
                return ("TransferShortfall", (intent.token, self.env.escrow, amount, amount - fee))
        return None

    def _deposit(self, plan: DepositPlan) -> None:
        held = self._held(plan.i, plan.among, deposit=True)
        intent = held.intent
        sender = self.env.payers[plan.payer]
        if plan.who == "auto":
            if intent.payer != ZERO:
                sender = intent.payer
            elif (opened := self._escrow_of(held)) is not None:
                sender = opened.payer
        key = self._key(intent, intent.payer if intent.payer != ZERO else sender)
        e = self.escrows.get(key)
        rest = intent.amount - (e.deposited if e and e.status == OPEN else 0)
        amount = {
            "rest": rest,
            "part": 1 + plan.frac % max(rest, 1),
            "over": rest + 1 + plan.frac % 1000,
            "zero": 0,
            "u120_max": U120_MAX,
            "past_u120": U120_MAX + 1,
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
                e = self.escrows[key] = EscrowModel(held, sender, key)
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
            self._open_error(held)
            or self._manager_error(held, sender)
            or (
                ("CaptureWindowClosed", (intent.id, intent.reclaim_after, timestamp))
                if timestamp >= intent.reclaim_after
                else None
            )
            or self._amount_error(held, amount)
        )
        what = f"capture({amount}) of {held.label} by {sender}"
        data = self.env.abi.data("capture", intent.as_tuple(), amount)
        if error is not None:
            self._transact(what, sender, data, error, [])
            return
        e = self.escrows[held.struct_hash]
        before, total = e.captured, e.captured + amount
        left, fees = amount, []
        for split in intent.splits:  # each split's share of the running total, never more than is left
            fee = min(total * split.bps // BPS - before * split.bps // BPS, left)
            fees.append(fee)
            left -= fee
        events: list[Event] = [("Captured", (intent.id, intent.merchant, amount, left, tuple(fees), total))]
        self._push(intent.id, intent.token, intent.merchant, left, events)
        for split, fee in zip(intent.splits, fees, strict=True):
            self._push(intent.id, intent.token, split.recipient, fee, events)
        self._transact(what, sender, data, None, events)
        e.captured = total

    @rule(i=INDEX, among=AMONG, caller=MANAGERS, how=AMOUNTS, frac=FRACTION, tamper=TAMPER)
    def refund(self, i: int, among: str, caller: str, how: str, frac: int, tamper: bool) -> None:
        held = self._presented(i, among, tamper)
        intent = held.intent
        sender = self._manager(caller, held)
        amount = self._amount(held, how, frac)
        error = (
            self._open_error(held) or self._manager_error(held, sender) or self._amount_error(held, amount)
        )
        what = f"refund({amount}) of {held.label} by {sender}"
        data = self.env.abi.data("refund", intent.as_tuple(), amount)
        if error is not None:
            self._transact(what, sender, data, error, [])
            return
        e = self.escrows[held.struct_hash]
        events: list[Event] = [("Refunded", (intent.id, e.payer, amount, e.refunded + amount))]
        self._push(intent.id, intent.token, e.payer, amount, events)
        self._transact(what, sender, data, None, events)
        e.refunded += amount

    def _release(self, held: Held, status: int, name: str, sender: str, data: str) -> None:
        e = self.escrows[held.struct_hash]
        rest = e.available
        events: list[Event] = [(name, (held.intent.id, e.payer, rest))]
        self._push(held.intent.id, held.intent.token, e.payer, rest, events)
        self._transact(f"{name} of {held.label} by {sender}", sender, data, None, events)
        e.released = rest
        e.status = status

    @rule(i=INDEX, among=AMONG, caller=MANAGERS, tamper=TAMPER)
    def void(self, i: int, among: str, caller: str, tamper: bool) -> None:
        held = self._presented(i, among, tamper)
        sender = self._manager(caller, held)
        error = self._open_error(held) or self._manager_error(held, sender)
        data = self.env.abi.data("void", held.intent.as_tuple())
        if error is not None:
            self._transact(f"void of {held.label} by {sender}", sender, data, error, [])
            return
        self._release(held, VOIDED, "Voided", sender, data)

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
        payer = intent.payer
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
        data = self.env.abi.data("reclaim", intent.as_tuple())
        if error is not None:
            self._transact(f"reclaim of {held.label} by {sender}", sender, data, error, [])
            return
        self._release(held, RECLAIMED, "Reclaimed", sender, data)

    @rule(who=st.integers(0, 99), to=st.integers(0, 99), t=st.integers(0, 5))
    def claim(self, who: int, to: int, t: int) -> None:
        """An owner of a claimable balance (or anyone, usually refused) withdraws it to some address."""
        owed = sorted({h for (_, h), v in self.claimable.items() if v})
        holders = [h for h in self.env.holders if h != self.env.escrow]
        account = owed[who % len(owed)] if owed and who % 4 else holders[who % len(holders)]
        tokens = self.env.tokens
        token = next((tk for tk in tokens if self.claimable[(tk, account)]), tokens[t % len(tokens)])
        target = holders[to % len(holders)]
        amount = self.claimable[(token, account)]
        error: Error | None = None
        if amount == 0:
            error = ("NothingToClaim", (token, account))
        elif token != ZERO:
            error = self._token_error(token, self.env.escrow, target)
        events = [("Claimed", (account, token, target, amount))]
        data = self.env.abi.data("claim", token, target)
        if self._transact(
            f"claim of {amount} {token} by {account} to {target}", account, data, error, events
        ):
            self.claimable[(token, account)] = 0
            self._move(token, self.env.escrow, target, amount)

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
        action=weighted(
            ("unpause", 2), ("rotate_signer", 1), ("pause", 1), ("cancel_nonce", 1), ("set_relayer", 1)
        ),
        caller=weighted(("owner", 3), ("relayer", 1), ("signer", 1), ("attacker", 1)),
        i=INDEX,
        to=st.integers(0, 1),
        grace=weighted((1, 2), (MAX_SIGNER_GRACE, 2), (0, 1), (MAX_SIGNER_GRACE + 1, 1)).flatmap(
            lambda g: st.integers(1, MAX_SIGNER_GRACE - 1) if g == 1 else st.just(g)
        ),
    )
    def admin(self, action: str, caller: str, i: int, to: int, grace: int) -> None:
        sender = {
            "owner": self.env.owner,
            "relayer": self.relayer,
            "signer": self.signer,
            "attacker": self.env.attacker,
        }[caller]
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
            allowed = sender in (self.relayer, self.env.owner)
            error = None if allowed else ("NotRelayerOrOwner", (sender,))
            data = abi.data("invalidateNonces", word, mask)
            if self._transact(
                f"cancel nonce {nonce}", sender, data, error, [("NoncesInvalidated", (word, mask))]
            ):
                self.used_nonces.add(nonce)
        elif action == "set_relayer":
            new = self.env.relayers[to]
            events = [("RelayerChanged", (self.relayer, new))]
            if self._transact(f"set relayer {new}", sender, abi.data("setRelayer", new), not_owner, events):
                self.relayer = new
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

    @rule(
        switch=st.sampled_from(["fee_on", "fee_off", "block", "unblock", "token_pause", "token_unpause"]),
        who=st.integers(0, 99),
    )
    def token_switch(self, switch: str, who: int) -> None:
        """The hostile tokens' admins act: a fee switched on or off, an address (possibly the escrow
        itself) blocked or unblocked, the whole token paused or resumed."""
        env = self.env
        targets = [*env.payers, *env.merchants, *env.fee_recipients, env.escrow]
        account = targets[who % len(targets)]
        token, data = {
            "fee_on": (env.fee_token, env.token_abi.data("setFee", TOKEN_FEE_BPS)),
            "fee_off": (env.fee_token, env.token_abi.data("setFee", 0)),
            "block": (env.block_token, env.token_abi.data("setBlocked", account, True)),
            "unblock": (env.block_token, env.token_abi.data("setBlocked", account, False)),
            "token_pause": (env.pause_token, env.token_abi.data("pause")),
            "token_unpause": (env.pause_token, env.token_abi.data("unpause")),
        }[switch]
        if (switch == "token_pause" and self.tokens.paused) or (
            switch == "token_unpause" and not self.tokens.paused
        ):
            return  # OpenZeppelin's Pausable refuses a repeated switch; nothing to learn from it
        self.now += 1
        assert env.send(env.owner, data, self.now, to=token).revert is None
        self.version += 1
        if switch.startswith("fee"):
            self.tokens.fee_bps = TOKEN_FEE_BPS if switch == "fee_on" else 0
        elif switch == "block":
            self.tokens.blocked.add(account)
        elif switch == "unblock":
            self.tokens.blocked.discard(account)
        else:
            self.tokens.paused = switch == "token_pause"

    # ---------------------------------------------------------------------------- invariants

    def _completions(self) -> list[tuple[int, PaymentIntent]]:
        """Each intent completed with every payer that could have deposited it."""
        out = []
        for i, held in enumerate(self.intents):
            if self._split_error(held.intent):
                continue  # no escrow can exist, and getEscrow refuses to hash it (ZeroAddress)
            payers = [held.intent.payer] if held.intent.payer != ZERO else self.env.payers
            out += [(i, replace(held.intent, payer=p)) for p in payers]
        return out

    def _seen(self) -> Observed:
        version = (self.version, len(self.intents))
        if self._observed is None or self._observed[0] != version:
            nonces = list(dict.fromkeys(h.intent.nonce for h in self.intents))
            self._observed = (version, self.env.observe(self._completions(), nonces))
        return self._observed[1]

    def _observed_escrows(self) -> list[tuple[str, tuple[Any, ...]]]:
        """(token, getEscrow) of every escrow the chain reports, once per key."""
        seen, out = set(), []
        for i, completed in self._completions():
            got = self._seen().escrows[(i, completed.payer)]
            if got[0] not in seen:
                seen.add(got[0])
                out.append((completed.token, got))
        return out

    @invariant()
    def escrows_match_model(self) -> None:
        seen = self._seen()
        for i, completed in self._completions():
            got = seen.escrows[(i, completed.payer)]
            key = self._hash(completed)
            e = self.escrows.get(key)
            if e is None:
                want: tuple[Any, ...] = (key, ZERO, NONE, 0, 0, 0, 0)
            else:
                want = (key, e.payer, e.status, e.deposited, e.captured, e.refunded, e.released)
            diffs = [
                f"{n} chain {g!r} != model {w!r}"
                for n, g, w in zip(ESCROW_FIELDS, got, want, strict=True)
                if g != w
            ]
            assert not diffs, f"escrow of intent#{i} by {completed.payer}: {'; '.join(diffs)}"
            capturable = e.available if e and e.status == OPEN else 0
            got_capturable = seen.capturable[(i, completed.payer)]
            assert got_capturable == capturable, f"capturable {got_capturable} != {capturable}"
        for nonce, used in seen.nonce_used.items():
            assert used == (nonce in self.used_nonces), f"nonce {nonce} used={used}"
        assert seen.paused == self.paused
        assert (seen.signer, seen.previous_signer) == (self.signer, self.previous_signer)
        assert seen.relayer == self.relayer

    @invariant()
    def never_more_out_than_in(self) -> None:
        for _, (key, _, _, deposited, captured, refunded, released) in self._observed_escrows():
            assert captured + refunded + released <= deposited, (
                f"escrow {key.hex()}: captured {captured} + refunded {refunded} + released {released}"
                f" > deposited {deposited}"
            )

    @invariant()
    def contract_holds_open_balances_and_claims(self) -> None:
        seen = self._seen()
        for token in self.env.tokens:
            owed = sum(
                deposited - captured - refunded
                for t, (_, _, status, deposited, captured, refunded, _) in self._observed_escrows()
                if status == OPEN and t == token
            )
            claims = sum(seen.claimable[(token, holder)] for holder in self.env.holders)
            held = seen.balances[(token, self.env.escrow)]
            assert held == owed + claims, (
                f"token {token}: contract holds {held}, open escrows {owed} + claimable {claims}"
            )

    @invariant()
    def fees_within_bounds(self) -> None:
        for token in self.env.tokens:
            captured = sum(e[4] for t, e in self._observed_escrows() if t == token)
            fees = sum(self.paid[(token, r)] for r in self.env.fee_recipients)
            merchants = sum(self.paid[(token, m)] for m in self.env.merchants)
            max_bps = self.env.max_fee_bps
            assert fees * BPS <= captured * max_bps, (
                f"token {token}: split recipients got {fees} of {captured} captured (max {max_bps} bps)"
            )
            assert merchants + fees == captured, (
                f"token {token}: merchants {merchants} + fees {fees} != {captured}"
            )

    @invariant()
    def only_payers_get_money_back(self) -> None:
        paid_by_capture = {*self.env.merchants, *self.env.fee_recipients, self.env.escrow}
        for token in self.env.tokens:
            for holder in self.env.holders:
                if holder in paid_by_capture:
                    continue
                due = sum(
                    refunded + released
                    for t, (_, payer, _, _, _, refunded, released) in self._observed_escrows()
                    if payer == holder and t == token
                )
                got = self.paid[(token, holder)]
                assert got == due, f"token {token}: {holder} was paid {got}, its escrows returned it {due}"

    @invariant()
    def balances_and_claims_match_model(self) -> None:
        seen = self._seen()
        assert self.env.base is not None
        for token in self.env.tokens:
            for holder in self.env.holders:
                got = seen.balances[(token, holder)] - self.env.base[(token, holder)]
                want = self.expected[(token, holder)]
                assert got == want, f"token {token}: {holder} changed by {got}, model says {want}"
                got_claim, want_claim = seen.claimable[(token, holder)], self.claimable[(token, holder)]
                assert got_claim == want_claim, (
                    f"token {token}: {holder} may claim {got_claim}, model says {want_claim}"
                )


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
def test_partial_deposits_cannot_wrap_the_120_bit_accounting(env: Env, capture_first: bool) -> None:
    """Regression, found by the machine (then with 128-bit counters): deposits summed in uint256 were
    stored truncated, so an intent for 2**128 took deposits of 2**128 - 1 and 1 and recorded
    deposited = 0. Intents past the counters' width must be refused; one for exactly 2**120 - 1 must
    add up exactly."""
    machine = machine_class(env)()
    recipe = Recipe(
        token="USDC",
        amount=2**120,
        allow_partial=True,
        payer=0,
        merchant=0,
        splits=(),
        deadline_in=3600,
        reclaim_gap=86_400,
        key=0,
        nonce_seed=0,
        same_id_as=None,
        same_nonce_as=None,
    )
    limit = replace(recipe, amount=U120_MAX, nonce_seed=1)
    first = DepositPlan(i=0, among="all", who="auto", payer=0, how="u120_max", frac=0, value_ok=True)
    machine.start([recipe, limit], [first, replace(first, i=1, how="part", frac=U120_MAX - 2)])
    assert [e.opened_with.label for e in machine.escrows.values()] == ["intent#1"]  # 2**120 refused
    if capture_first:
        machine.capture(i=1, among="all", caller="merchant", how="all", frac=0, tamper=False)
    for i in (0, 1, 1):  # 1 more: refused for 2**120 (AmountTooLarge), fills 2**120 - 1, then WrongAmount
        machine.deposit(replace(first, i=i, how="part", frac=0))
    (escrow,) = machine.escrows.values()
    assert escrow.deposited == U120_MAX
    for check in (
        machine.escrows_match_model,
        machine.never_more_out_than_in,
        machine.contract_holds_open_balances_and_claims,
        machine.balances_and_claims_match_model,
    ):
        check()
    machine.void(i=1, among="all", caller="merchant", tamper=False)  # the rest goes back to the payer
    machine.balances_and_claims_match_model()
    machine.teardown()


def test_a_blocked_payer_and_a_paused_token_never_freeze_an_escrow(env: Env) -> None:
    """The review's findings in the machine's terms: with the payer blocklisted, the merchant blocked
    and the fee switched on after the deposits, every exit still goes through; what could not be
    pushed is claimable, and claimed to another address once the token lets it through."""
    machine = machine_class(env)()
    base = Recipe(
        token="BLOCK",
        amount=1_000_000,
        allow_partial=False,
        payer=0,
        merchant=0,
        splits=((0, 100),),
        deadline_in=3600,
        reclaim_gap=86_400,
        key=0,
        nonce_seed=7,
        same_id_as=None,
        same_nonce_as=None,
    )
    fee = replace(base, token="FEE", nonce_seed=100)
    plan = DepositPlan(i=0, among="all", who="auto", payer=0, how="rest", frac=0, value_ok=True)
    machine.start([base, fee], [plan, replace(plan, i=1)])
    assert len(machine.escrows) == 2
    payer, merchant = env.payers[0], env.merchants[0]
    machine.token_switch("block", env.payers.index(payer) + 0)  # the payer
    machine.token_switch("block", len(env.payers) + env.merchants.index(merchant))  # the merchant
    machine.token_switch("fee_on", 0)
    machine.capture(i=0, among="all", caller="relayer", how="part", frac=399_999, tamper=False)
    machine.void(i=0, among="all", caller="relayer", tamper=False)
    machine.refund(i=1, among="all", caller="merchant", how="part", frac=99_999, tamper=False)
    machine.capture(i=1, among="all", caller="merchant", how="all", frac=0, tamper=False)
    assert machine.claimable[(env.block_token, payer)] == 600_000
    assert machine.claimable[(env.block_token, merchant)] == 400_000 - 4_000
    machine.token_switch("unblock", env.payers.index(payer))
    machine.claim(who=1, to=len(env.payers) + 5, t=0)  # an owed balance, to another address
    for check in (
        machine.escrows_match_model,
        machine.contract_holds_open_balances_and_claims,
        machine.fees_within_bounds,
        machine.only_payers_get_money_back,
        machine.balances_and_claims_match_model,
    ):
        check()
    machine.teardown()


@pytest.mark.slow
@pytest.mark.timeout(3 * 3600)
def test_escrow_invariants_long(env: Env) -> None:
    """10,000 fresh random sequences (`make test-slow`, `pytest -m slow`)."""
    run_state_machine_as_test(machine_class(env), settings=settings(COMMON, max_examples=10_000))
