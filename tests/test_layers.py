"""The layering of pyproject.toml's [tool.importlinter] holds, inside the suite as in `make lint`:
sluice/ imports neither api/, indexer/ nor launcher/; api/ and indexer/ never import each other; the
scheduled jobs do not import the webhook worker. And the contracts do catch a broken rule, and
nobody hides an arrow from them behind a module name in a string."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sluice", "api", "indexer", "launcher")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the packages under `root` (it puts its working directory first on sys.path)."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def contract_names() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [c["name"] for c in config["tool"]["importlinter"]["contracts"]]


def test_every_layering_contract_is_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    names = contract_names()
    assert len(names) >= 2
    kept = re.sub(r"\s+", " ", result.stdout)
    for name in names:
        assert f"{name} KEPT" in kept
    assert f"Contracts: {len(names)} kept, 0 broken." in kept


@pytest.mark.parametrize(
    ("module", "statement", "arrow"),
    [
        ("sluice/errors.py", "import api.app", "sluice.errors -> api.app"),
        ("sluice/intents/service.py", "from indexer import runner", "sluice.intents.service -> indexer"),
        ("sluice/config.py", "import launcher.cli", "sluice.config -> launcher.cli"),
        ("api/errors.py", "import indexer.rpc", "api.errors -> indexer.rpc"),
        ("indexer/metrics.py", "from api import schemas", "indexer.metrics -> api"),
        ("indexer/rpc.py", "import launcher.dev", "indexer.rpc -> launcher.dev"),
        ("sluice/jobs/tasks.py", "import sluice.webhooks.worker", "sluice.jobs.tasks -> sluice.webhooks"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(tmp_path: Path, module: str, statement: str, arrow: str):
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    # Inside a function, as a lazy import would be: the contracts see those too.
    target.write_text(
        target.read_text(encoding="utf-8") + f"\n\ndef _layering_probe() -> None:\n    {statement}\n",
        encoding="utf-8",
    )
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout
    assert arrow in result.stdout


#: A dotted name that may be handed to importlib or uvicorn: `indexer.runner`, `api.main:app`.
_MODULE_STRING = re.compile(r"^(api|indexer|launcher)(\.\w+)+(:\w+)?$")


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split(":")[0].split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_sluice_names_no_module_of_api_indexer_or_launcher_in_a_string() -> None:
    """import-linter sees `import` statements only; `importlib.import_module("indexer.runner")` in
    sluice/ would be the same arrow, hidden (as sluice/cli.py and sluice/devstack.py once did)."""
    hidden = [
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
        for path in sorted((ROOT / "sluice").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and _MODULE_STRING.match(node.value)
        and _is_module(node.value)
    ]
    assert hidden == []
    assert _is_module("indexer.runner") and _is_module("api.main:app")  # the check can find one


def test_the_sluice_command_and_every_package_are_declared() -> None:
    """The console script points at the launcher, and the packages the contracts name are the ones
    setuptools installs and mypy checks (a new top-level package must be added everywhere)."""
    import importlib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    module, _, attribute = config["project"]["scripts"]["sluice"].partition(":")
    assert module == "launcher.cli"
    assert callable(getattr(importlib.import_module(module), attribute))
    roots = set(config["tool"]["importlinter"]["root_packages"])
    assert roots == set(PACKAGES)
    assert {p.rstrip("*") for p in config["tool"]["setuptools"]["packages"]["find"]["include"]} == roots
    assert set(config["tool"]["mypy"]["packages"]) == roots
