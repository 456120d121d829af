"""The indexer process starts without SQLAlchemy and the ORM models (~0.4 s of every start, and of
every backfill's time to its last intent): it works on an asyncpg pool (`sluice.db.pool`), the views,
state machine and outbox take plain records. An import added on that path must not undo it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
import indexer.runner, launcher.cli, sluice.logging
from indexer import apply, batch, follower, store
heavy = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in (
    "sqlalchemy", "alembic", "web3", "eth_utils", "eth_account", "psycopg", "fastapi"
)} | {m for m in sys.modules if m.startswith("sluice.models")})
print(json.dumps(heavy))
"""


def test_the_indexer_imports_neither_sqlalchemy_nor_the_orm_models() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
