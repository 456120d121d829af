"""Shared by the Stacks rail tests: the simnet accounts and running node/vitest from pytest."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sluice.paths import NODE_MODULES, PROJECT_ROOT

STACKS_PROJECT = PROJECT_ROOT / "contracts" / "stacks"
VITEST = NODE_MODULES / ".bin" / "vitest"
HERE = Path(__file__).parent

#: The simnet accounts of contracts/stacks/settings/Devnet.toml.
DEPLOYER = "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM"
PAYER = "ST1SJ3DTE5DN7X54YDH5D64R3BCB6A2AG2ZQ8YPD5"
MERCHANT = "ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG"
FEE_RECIPIENT = "ST2JHG361ZXG51QTKY2NQCVBPPRRE2KZB1HR05NNC"
CONTRACT = f"{DEPLOYER}.sluice-payments"
TOKEN = f"{DEPLOYER}.test-token"
SIMNET_CHAIN_ID = 0x80000000

needs_node = pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_MODULES / "@stacks" / "transactions").exists(),
    reason="node or node_modules/@stacks/transactions missing (npm ci)",
)


def reference(request: dict[str, Any]) -> dict[str, Any]:
    """@stacks/transactions' answers to `request` (see reference.mjs)."""
    done = subprocess.run(
        ["node", str(HERE / "reference.mjs")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
        timeout=60,
    )
    return json.loads(done.stdout)
