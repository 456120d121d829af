"""The deposit factory's event topics the indexer filters on are those of the compiled SluiceDeposits."""

from __future__ import annotations

from sluice.chain.hashing import keccak
from sluice.contracts import load_artifact
from sluice.rails.evm_deposit import REFUNDED_TOPIC, SWEPT_TOPIC


def _topic(name: str) -> str:
    for entry in load_artifact("SluiceDeposits").abi:
        if entry.get("type") == "event" and entry["name"] == name:
            types = ",".join(i["type"] for i in entry["inputs"])
            return "0x" + keccak(f"{name}({types})".encode()).hex()
    raise KeyError(name)


def test_swept_and_refunded_topics_match_the_abi():
    assert _topic("Swept") == SWEPT_TOPIC
    assert _topic("Refunded") == REFUNDED_TOPIC
