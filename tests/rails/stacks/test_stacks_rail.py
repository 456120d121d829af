"""The Stacks rail's own rules: addresses per network, finality, the payer's instructions, and
what `decode` believes (unit tests; the contract and the HTTP path are tested on simnet)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from stacks_helpers import CONTRACT, FEE_RECIPIENT, MERCHANT, PAYER, TOKEN

from sluice.errors import InvalidRequestError, SluiceValueError
from sluice.ledger.entries import EntryKind, ReleaseReason
from sluice.rails.base import Rail
from sluice.rails.stacks import clarity as cl
from sluice.rails.stacks.events import StacksEventError
from sluice.rails.stacks.rail import StacksRail
from sluice.rails.stacks.sip018 import Split, StacksIntent

MAINNET_PAYER = "SP3FBR2AGK5H9QBDH3EEN6DF8EK8JY7RX8QJ5SVTE"
rail = StacksRail({"stacks-local": CONTRACT}, assets={TOKEN: "test-token"})


def _intent(**overrides: Any) -> StacksIntent:
    fields: dict[str, Any] = {
        "id": b"\7" * 32,
        "nonce": 9,
        "token": None,
        "amount": 1_000,
        "payer": None,
        "deadline": 2_000_000_000,
        "merchant": MERCHANT,
        "splits": (Split(FEE_RECIPIENT, 100),),
    }
    return StacksIntent(**(fields | overrides))


def test_is_a_rail() -> None:
    assert isinstance(rail, Rail)
    assert (rail.name, rail.family) == ("stacks-contract", "stacks")


def test_addresses_are_validated_as_the_rail_protocol_says_and_checked_against_the_network() -> None:
    assert rail.validate_address(PAYER, "payer") == PAYER
    assert rail.validate_address(MAINNET_PAYER) == MAINNET_PAYER
    with pytest.raises(InvalidRequestError) as bad:
        rail.validate_address("0x" + "ab" * 20, "splits.0.recipient")
    assert (bad.value.code, bad.value.param) == ("invalid_address", "splits.0.recipient")
    with pytest.raises(InvalidRequestError):
        rail.validate_address(PAYER.lower(), "payer")  # canonical upper case only
    rail.check_chain(PAYER, "stacks-local", "payer")
    with pytest.raises(InvalidRequestError, match="expected mainnet") as wrong:
        rail.check_chain(PAYER, "stacks-mainnet", "payer")
    assert (wrong.value.code, wrong.value.param) == ("invalid_address", "payer")


async def test_a_payer_of_the_other_chain_gets_no_instructions() -> None:
    with pytest.raises(InvalidRequestError, match="expected testnet"):
        await rail.build(_intent(), MAINNET_PAYER, network="stacks-local", signature=bytes(65))
    with pytest.raises(InvalidRequestError, match="no method"):
        await rail.build(_intent(), PAYER, network="stacks-local", signature=bytes(65), method="native")


def test_finality_is_a_depth_in_stacks_blocks() -> None:
    assert rail.finality("stacks-local").confirmations == 1
    assert rail.finality("stacks-mainnet").confirmations > rail.finality("stacks-testnet").confirmations > 1


async def test_instructions_for_stx_limit_the_payer_to_the_amount() -> None:
    signature = secrets.token_bytes(65)
    out = await rail.build(_intent(), PAYER, network="stacks-local", signature=signature, nonce=4, fee=3000)
    [call] = out.transactions
    assert (call["contract"], call["function_name"], call["chain_id"]) == (CONTRACT, "pay", 0x80000000)
    intent_arg, signature_arg, token_arg = (cl.deserialize_hex(a) for a in call["function_args"])
    assert cl.to_python(intent_arg)["amount"] == 1_000
    assert signature_arg == cl.Buffer(signature)
    assert token_arg == cl.NoneValue()
    assert call["post_conditions"] == [
        {"type": "stx-postcondition", "address": PAYER, "condition": "eq", "amount": "1000"}
    ]
    assert call["wallet_request"]["params"]["postConditionMode"] == "deny"
    assert call["wallet_request"]["params"]["functionArgs"] == call["function_args"]
    unsigned = bytes.fromhex(call["unsigned_transaction"])
    assert unsigned[0] == 0x80 and int.from_bytes(unsigned[27:35], "big") == 4  # testnet, nonce 4
    assert out.extra["intent_ref"] == "07" * 32


async def test_instructions_for_a_token_name_its_asset_and_omit_the_transaction_offline() -> None:
    out = await rail.build(_intent(token=TOKEN), PAYER, network="stacks-local", signature=bytes(65))
    [call] = out.transactions
    assert call["post_conditions"][0]["asset"] == f"{TOKEN}::test-token"
    assert "unsigned_transaction" not in call  # no nonce, no API: the wallet fills them in
    assert cl.deserialize_hex(call["function_args"][2]) == cl.Some(cl.Principal(TOKEN))


async def test_escrow_intents_deposit_the_requested_part() -> None:
    intent = _intent(reclaim_after=2_000_100_000, allow_partial=True)
    out = await rail.build(intent, PAYER, network="stacks-local", signature=bytes(65), amount=400)
    [call] = out.transactions
    assert call["function_name"] == "deposit"
    assert cl.deserialize_hex(call["function_args"][3]) == cl.UInt(400)
    assert call["post_conditions"][0]["amount"] == "400"
    with pytest.raises(SluiceValueError, match="deposit"):
        await rail.build(intent, PAYER, network="stacks-local", signature=bytes(65), amount=1_001)


@pytest.mark.parametrize(
    ("intent", "payer", "options", "message"),
    [
        (_intent(payer=FEE_RECIPIENT), PAYER, {}, "its payer"),
        (_intent(), PAYER, {"signature": bytes(64)}, "65 bytes"),
        (_intent(), PAYER, {"network": "stacks-testnet"}, "not deployed"),
        (_intent(), "SN020G30G2GC1R81450P30D1R7H048J2FP426YD", {}, "multi-signature"),
    ],
)
async def test_build_refuses(intent: StacksIntent, payer: str, options: dict[str, Any], message: str) -> None:
    kwargs = {"network": "stacks-local", "signature": bytes(65), "nonce": 0, "fee": 1} | options
    # Refusals about the payer are request errors (HTTP 400); the others are the caller's own bugs.
    with pytest.raises(
        InvalidRequestError if "payer" in message or "multi" in message else SluiceValueError, match=message
    ):
        await rail.build(intent, payer, **kwargs)


def test_intents_out_of_the_contracts_bounds_are_refused() -> None:
    with pytest.raises(SluiceValueError, match="basis points"):
        _intent(splits=(Split(FEE_RECIPIENT, 5_001),))
    with pytest.raises(SluiceValueError, match="at most 5"):
        _intent(splits=tuple(Split(FEE_RECIPIENT, 1) for _ in range(6)))
    with pytest.raises(SluiceValueError, match="positive"):
        _intent(amount=0)


def _tx(
    value: cl.ClarityValue, *, contract: str = CONTRACT, status: str = "success", **extra: Any
) -> dict[str, Any]:
    return {
        "tx_id": "0x" + "ab" * 32,
        "tx_status": status,
        "canonical": True,
        "block_height": 7,
        "block_hash": "0x" + "cd" * 32,
        "block_time": 1_800_000_000,
        "tx_index": 2,
        "events": [
            {"event_index": 0, "event_type": "stx_asset", "tx_id": "0x" + "ab" * 32},
            {
                "event_index": 1,
                "event_type": "smart_contract_log",
                "contract_log": {
                    "contract_id": contract,
                    "topic": "print",
                    "value": {"hex": value.hex(), "repr": "?"},
                },
            },
        ],
    } | extra


def _event(name: str, **fields: cl.ClarityValue) -> cl.Tuple:
    return cl.Tuple(
        {"event": cl.StringAscii(name), "id": cl.Buffer(b"\1" * 32), "token": cl.NoneValue(), **fields}
    )


def test_decode_reads_the_contracts_events_only() -> None:
    voided = _event("voided", payer=cl.Principal(PAYER), amount=cl.UInt(5))
    [entry] = rail.decode("stacks-local", [_tx(voided)])
    assert (entry.kind, entry.amount, entry.reason, entry.asset) == (
        EntryKind.released,
        5,
        ReleaseReason.void,
        None,
    )
    assert (entry.position.height, entry.position.index, entry.position.tx_index) == (7, 200_001, 0)
    assert entry.position.time == 1_800_000_000
    # Another contract printing the same tuple, a failed transaction, a non-canonical one, an
    # administrative event: nothing.
    assert rail.decode("stacks-local", [_tx(voided, contract=f"{PAYER}.impostor")]) == []
    assert rail.decode("stacks-local", [_tx(voided, status="abort_by_response")]) == []
    assert rail.decode("stacks-local", [_tx(voided, canonical=False)]) == []
    paused = cl.Tuple({"event": cl.StringAscii("paused"), "account": cl.Principal(PAYER)})
    assert rail.decode("stacks-local", [_tx(paused)]) == []


def test_decode_refuses_malformed_events_of_the_contract() -> None:
    with pytest.raises(StacksEventError, match="lacks"):
        rail.decode("stacks-local", [_tx(_event("refunded", amount=cl.UInt(1)))])
    with pytest.raises(StacksEventError, match="event tuple"):
        rail.decode("stacks-local", [_tx(cl.UInt(1))])
    broken = _tx(cl.UInt(1))
    broken["events"][1]["contract_log"]["value"]["hex"] = "0x0c00"
    with pytest.raises(StacksEventError, match="undecodable"):
        rail.decode("stacks-local", [broken])


def test_operator_calls_are_signed_by_the_operator_and_checked() -> None:
    key = secrets.token_bytes(32)
    signed = rail.operator_call(
        "stacks-local", "capture", b"\1" * 32, TOKEN, amount=5, operator_key=key, nonce=3, fee=9
    )
    assert signed[44:109] != bytes(65)  # signature present
    assert signed[-17:] == cl.UInt(5).serialize()
    with pytest.raises(SluiceValueError, match="take an amount"):
        rail.operator_call(
            "stacks-local", "void", b"\1" * 32, None, amount=5, operator_key=key, nonce=0, fee=1
        )
    with pytest.raises(SluiceValueError, match="take an amount"):
        rail.operator_call("stacks-local", "pause", b"\1" * 32, None, operator_key=key, nonce=0, fee=1)


async def test_authorize_signs_the_terms_per_sip018_for_the_networks_contract() -> None:
    from datetime import UTC, datetime

    from coincurve import PublicKey

    from sluice.rails.base import Terms
    from sluice.rails.stacks.networks import get_stacks_network
    from sluice.rails.stacks.sip018 import intent_hash, public_key

    key = secrets.token_bytes(32)
    signer = StacksRail({"stacks-local": CONTRACT}, operator_key=key)
    terms = Terms(
        network="stacks-local",
        capture_method="automatic",
        token=None,
        amount=1_000,
        payer=None,
        payout_address=MERCHANT,
        splits=({"recipient": FEE_RECIPIENT, "bps": 100, "kind": "platform"},),
        deadline=datetime.fromtimestamp(2_000_000_000, UTC),
        reclaim_after=None,
        allow_partial=False,
    )
    first, second = await signer.authorize(terms), await signer.authorize(terms)
    assert first.source == CONTRACT and len(first.intent_ref) == 32 and len(first.signature) == 65
    assert first.intent_ref != second.intent_ref and first.nonce != second.nonce
    signed = StacksIntent(
        id=first.intent_ref, nonce=first.nonce, token=None, amount=1_000, payer=None,
        deadline=2_000_000_000, merchant=MERCHANT, splits=(Split(FEE_RECIPIENT, 100),),
    )  # fmt: skip
    digest = intent_hash(signed, get_stacks_network("stacks-local").chain_id, CONTRACT)
    recovered = PublicKey.from_signature_and_message(first.signature, digest, hasher=None)
    assert recovered.format(compressed=True) == public_key(key)
    with pytest.raises(SluiceValueError):
        await rail.authorize(terms)  # no operator key
