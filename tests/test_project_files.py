"""What a newcomer meets first: `make demo` installs only what running needs, and the README points
at documents that are part of the repository."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _planned(target: str) -> str:
    """The commands `make TARGET` would run (make -n runs none of them)."""
    if shutil.which("make") is None:
        pytest.fail("make is not installed")
    done = subprocess.run(
        ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def test_make_demo_installs_no_browser_but_make_test_does():
    assert "chromium" not in _planned("demo")
    assert "apt-get install -y -qq chromium" in _planned("test")


def test_readme_links_only_files_of_the_repository():
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme) + re.findall(r"`(\.\./[^`]+)`", readme)
    local = [t for t in targets if not t.startswith(("http://", "https://"))]
    assert local, "the README links no document at all"
    assert not [t for t in local if t.startswith("../")], "links outside the repository"
