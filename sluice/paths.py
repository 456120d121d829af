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


def anvil_binary() -> Path:
    """The native anvil of the npm package for this platform (signals reach it directly, so it saves
    its state when stopped), else the package's node launcher."""
    import platform

    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower()
    )
    system = platform.system().lower()
    native = NODE_MODULES / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / "anvil"
    return native if native.is_file() else ANVIL_BIN


def deployments_dir() -> Path:
    """Deployment manifests: deployments/, or $SLUICE_DEPLOYMENTS_DIR (tests, separate environments)."""
    return Path(os.environ.get("SLUICE_DEPLOYMENTS_DIR") or DEPLOYMENTS_DIR)
