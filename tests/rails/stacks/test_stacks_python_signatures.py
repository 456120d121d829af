"""The contract accepts intents signed by sluice.rails.stacks.sip018, and refuses tampered ones with
its own error codes: the cases are made here and checked on clarinet-sdk's simnet (the Clarity VM).
The same run reports its transactions as the Stacks API would, and the rail decodes them."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import pytest
from stacks_helpers import (
    CONTRACT,
    FEE_RECIPIENT,
    MERCHANT,
    PAYER,
    SIMNET_CHAIN_ID,
    STACKS_PROJECT,
    TOKEN,
    VITEST,
    needs_node,
)

from sluice.ledger.entries import EntryKind, ReleaseReason
from sluice.rails.stacks.events import contract_events, ledger_entries
from sluice.rails.stacks.sip018 import (
    Split,
    StacksIntent,
    intent_hash,
    public_key,
    sign_intent,
    split_amounts,
)

pytestmark = [pytest.mark.contracts, needs_node]

ERR_WRONG_SIGNER = 1005
ERR_EXPIRED = 1006
ERR_NONCE_USED = 1007


def _intent(nonce: int, **overrides: Any) -> StacksIntent:
    fields: dict[str, Any] = {
        "id": secrets.token_bytes(32),
        "nonce": nonce,
        "token": None,
        "amount": 1_000_000 + nonce,
        "payer": None,
        "deadline": int(time.time()) + 3600,
        "merchant": MERCHANT,
        "splits": (Split(FEE_RECIPIENT, 250),),
    }
    fields.update(overrides)
    return StacksIntent(**fields)


def _case(name: str, intent: StacksIntent, signature: bytes, expect: str | int) -> dict[str, Any]:
    data = asdict(intent)
    data["id"] = intent.id.hex()
    data["splits"] = [{"recipient": s.recipient, "bps": s.bps} for s in intent.splits]
    return {
        "name": name,
        "intent": data,
        "signature": signature.hex(),
        "hash": intent_hash(intent, SIMNET_CHAIN_ID, CONTRACT).hex(),
        "expect": expect,
    }


@dataclass(frozen=True)
class SimnetRun:
    returncode: int
    output: str
    cases: list[dict[str, Any]]
    escrow: StacksIntent
    observed: list[dict[str, Any]]


@pytest.fixture(scope="module")
def simnet_run(tmp_path_factory: pytest.TempPathFactory) -> SimnetRun:
    """One vitest run of contracts/stacks/tests/python-signatures.test.mjs on cases made here."""
    tmp_path = tmp_path_factory.mktemp("stacks")
    operator = secrets.token_bytes(32)
    other = secrets.token_bytes(32)

    def sign(intent: StacksIntent, key: bytes = operator, chain_id: int = SIMNET_CHAIN_ID) -> bytes:
        return sign_intent(intent, chain_id, CONTRACT, key)

    stx = _intent(1, splits=(Split(FEE_RECIPIENT, 250), Split(MERCHANT, 10)))
    token = _intent(2, token=TOKEN, amount=123_456_789)
    tampered = _intent(3)
    replayed = _intent(4)
    cases = [
        _case("stx", stx, sign(stx), "ok"),
        _case("token", token, sign(token), "ok"),
        _case(
            "lower amount", replace(tampered, amount=tampered.amount - 1), sign(tampered), ERR_WRONG_SIGNER
        ),
        _case("other merchant", replace(tampered, merchant=FEE_RECIPIENT), sign(tampered), ERR_WRONG_SIGNER),
        _case("other key", tampered, sign(tampered, other), ERR_WRONG_SIGNER),
        _case("other chain", tampered, sign(tampered, chain_id=1), ERR_WRONG_SIGNER),
        _case("valid after the refusals", tampered, sign(tampered), "ok"),
        _case("replay 1", replayed, sign(replayed), "ok"),
        _case("replay 2", replayed, sign(replayed), ERR_NONCE_USED),
        _case("expired", _intent(5, deadline=int(time.time()) - 10_000), sign(_intent(5)), ERR_WRONG_SIGNER),
    ]
    expired = _intent(6, deadline=int(time.time()) - 10_000)
    cases.append(_case("expired, signed", expired, sign(expired), ERR_EXPIRED))
    escrow = _intent(7, amount=10_000, reclaim_after=int(time.time()) + 7200)
    fixture = tmp_path / "python-signatures.json"
    observed = tmp_path / "observed.json"
    fixture.write_text(
        json.dumps(
            {
                "contract": CONTRACT,
                "operator_public_key": public_key(operator).hex(),
                "cases": cases,
                "escrow": {**_case("escrow", escrow, sign(escrow), "ok"), "capture": 4_000, "refund": 1_000},
            }
        )
    )

    done = subprocess.run(
        [str(VITEST), "run", "tests/python-signatures.test.mjs"],
        cwd=STACKS_PROJECT,
        env={
            **os.environ,
            "SLUICE_STACKS_FIXTURE": str(fixture),
            "SLUICE_STACKS_OBSERVED_OUT": str(observed),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    return SimnetRun(
        returncode=done.returncode,
        output=done.stdout[-4000:] + done.stderr[-2000:],
        cases=cases,
        escrow=escrow,
        observed=json.loads(observed.read_text()) if observed.exists() else [],
    )


def test_contract_accepts_python_signatures_and_refuses_tampered_ones(simnet_run: SimnetRun) -> None:
    assert simnet_run.returncode == 0, simnet_run.output
    assert "2 passed" in simnet_run.output


def test_rail_decodes_the_contracts_events_into_ledger_entries(simnet_run: SimnetRun) -> None:
    assert simnet_run.returncode == 0, simnet_run.output
    entries = ledger_entries("stacks-local", contract_events(simnet_run.observed, CONTRACT))
    paid_ok = [c for c in simnet_run.cases if c["expect"] == "ok"]
    received = [e for e in entries if e.kind is EntryKind.received]
    assert [e.intent_ref.hex() for e in received] == [c["intent"]["id"] for c in paid_ok]
    for entry, case in zip(received, paid_ok, strict=True):
        intent = case["intent"]
        splits = [Split(s["recipient"], s["bps"]) for s in intent["splits"]]
        merchant_amount, fees = split_amounts(intent["amount"], splits)
        assert (entry.amount, entry.asset, entry.payer, entry.merchant) == (
            intent["amount"],
            intent["token"],
            PAYER,
            intent["merchant"],
        )
        assert (entry.merchant_amount, entry.fee_amounts) == (merchant_amount, fees)
        assert (entry.merchant_amount or 0) + sum(entry.fee_amounts or ()) == entry.amount
        assert entry.rail == "stacks-contract" and entry.network == "stacks-local"
    escrow_id = simnet_run.escrow.id
    escrow_entries = [(e.kind, e.amount, e.total, e.reason) for e in entries if e.intent_ref == escrow_id]
    assert escrow_entries == [
        (EntryKind.escrow_deposited, 10_000, 10_000, None),
        (EntryKind.captured, 4_000, 4_000, None),
        (EntryKind.refunded, 1_000, 1_000, None),
        (EntryKind.released, 5_000, None, ReleaseReason.void),
    ]
    # Refused payments printed nothing that counts: their transactions were not successful.
    assert len(received) == len(paid_ok)
