"""The committed artifacts are exactly what the pinned compiler makes of the sources."""

import json

import pytest

from sluice.contracts.build import build_artifacts, render, stale_artifacts, write_artifacts
from sluice.paths import ARTIFACTS_DIR

pytestmark = pytest.mark.contracts


@pytest.fixture(scope="module")
def fresh():
    return build_artifacts()


def test_committed_artifacts_are_not_stale(fresh):
    assert stale_artifacts(fresh) == [], "run `sluice contracts build` and commit contracts/artifacts"


def test_changed_artifact_is_reported_stale(fresh, tmp_path):
    write_artifacts(fresh, tmp_path)
    changed = json.loads((tmp_path / "SluiceEscrow.json").read_text())
    changed["bytecode"] += "00"
    (tmp_path / "SluiceEscrow.json").write_text(render(changed))
    (tmp_path / "Leftover.json").write_text("{}")
    assert stale_artifacts(fresh, tmp_path) == ["Leftover", "SluiceEscrow"]


def test_artifacts_pin_compiler_and_settings(fresh):
    artifact = json.loads((ARTIFACTS_DIR / "SluicePayments.json").read_text())
    assert artifact["compiler"]["version"].startswith("0.8.30+")
    assert artifact["compiler"]["settings"]["viaIR"] is True
    assert artifact["compiler"]["settings"]["evmVersion"] == "cancun"
    assert {"SluicePayments", "SluiceEscrow", "DevUSDC", "DevUSDT"} <= set(fresh)
