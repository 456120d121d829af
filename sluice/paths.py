"""Where the project's files live, so that commands work from any working directory."""

from __future__ import annotations

import os
from pathlib import Path

#: The project checkout (holds contracts/, deployments/, node_modules/). Override with SLUICE_PROJECT_ROOT.
PROJECT_ROOT = Path(os.environ.get("SLUICE_PROJECT_ROOT") or Path(__file__).resolve().parent.parent)
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
ARTIFACTS_DIR = CONTRACTS_DIR / "artifacts"
DEPLOYMENTS_DIR = PROJECT_ROOT / "deployments"
NODE_MODULES = PROJECT_ROOT / "node_modules"
ANVIL_BIN = NODE_MODULES / ".bin" / "anvil"


def deployments_dir() -> Path:
    """Deployment manifests: deployments/, or $SLUICE_DEPLOYMENTS_DIR (tests, separate environments)."""
    return Path(os.environ.get("SLUICE_DEPLOYMENTS_DIR") or DEPLOYMENTS_DIR)
