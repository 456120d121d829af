"""The contract accepts intents signed by sluice.rails.stacks.sip018, and refuses tampered ones with
its own error codes: the cases are made here and checked on clarinet-sdk's simnet (the Clarity VM)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from sluice.rails.stacks.sip018 import Split, StacksIntent, intent_hash, public_key, sign_intent
from stacks_helpers import (
    CONTRACT,
    FEE_RECIPIENT,
    MERCHANT,
    SIMNET_CHAIN_ID,
    STACKS_PROJECT,
    TOKEN,
    VITEST,
    needs_node,
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


def test_contract_accepts_python_signatures_and_refuses_tampered_ones(tmp_path: Path) -> None:
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
        _case("lower amount", replace(tampered, amount=tampered.amount - 1), sign(tampered), ERR_WRONG_SIGNER),
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
    fixture = tmp_path / "python-signatures.json"
    fixture.write_text(
        json.dumps(
            {"contract": CONTRACT, "operator_public_key": public_key(operator).hex(), "cases": cases}
        )
    )

    done = subprocess.run(
        [str(VITEST), "run", "tests/python-signatures.test.mjs"],
        cwd=STACKS_PROJECT,
        env={**os.environ, "SLUICE_STACKS_FIXTURE": str(fixture)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
