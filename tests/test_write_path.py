"""One write path: only `sluice.intents.repository` writes payment intents, quotes and outbox events.

A static scan of the product's modules (sluice/, api/, indexer/, launcher/; not the migrations): SQL text
that inserts, updates, deletes or copies into those tables, SQLAlchemy `insert/update/delete` of their
models, COPY through asyncpg, and ORM instances of the models built outside the repository (what
`session.add` would write) all fail it. One presenter builds the intent's public view, and the write
path serialises JSON with `sluice.jsoncodec` only.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sluice", "api", "indexer", "launcher")
REPOSITORY = ROOT / "sluice" / "intents" / "repository"
EXCLUDED = (ROOT / "sluice" / "migrations",)
TABLES = ("payment_intents", "quotes", "events")
MODELS = {
    "sluice.models.payment_intent": "PaymentIntent",
    "sluice.models.quote": "Quote",
    "sluice.models.event": "Event",
}

_WRITE_SQL = re.compile(
    r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY|TRUNCATE(?:\s+TABLE)?)\s+(?:ONLY\s+)?"
    rf"(?:public\.)?\"?({'|'.join(TABLES)})\"?(?![\w.])",
    re.IGNORECASE,
)

#: A write whose table is a placeholder: the scan cannot tell which table, so only the repository may.
_DYNAMIC_WRITE = re.compile(r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY)\s+\{\}", re.IGNORECASE)

#: Writes outside the repository, each with its reason. Keep this short.
ALLOWED = {
    # The webhook fan-out is the outbox's consumer: it claims undelivered events and marks them
    # dispatched in the statement that creates their deliveries (no event is written, none moved).
    ("sluice/webhooks/delivery.py", "UPDATE events"),
}


def product_modules() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if not any(path.is_relative_to(e) for e in EXCLUDED):
                yield path


def outside_repository() -> Iterator[tuple[str, ast.Module]]:
    for path in product_modules():
        if not path.is_relative_to(REPOSITORY):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _strings(tree: ast.AST) -> Iterator[str]:
    """Every string constant, and every f-string with its placeholders blanked."""
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            yield "".join(v.value if isinstance(v, ast.Constant) else " {} " for v in node.values)  # type: ignore[misc]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def _model_names(tree: ast.Module) -> set[str]:
    """Local names bound to the ORM models of the three tables."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            for alias in node.names:
                if MODELS.get(node.module) == alias.name or (
                    node.module == "sluice.models" and alias.name in MODELS.values()
                ):
                    names.add(alias.asname or alias.name)
    return names


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def writes_in(path: str, tree: ast.Module) -> list[str]:
    found: list[str] = []
    for text in _strings(tree):
        for match in _WRITE_SQL.finditer(text):
            verb = match.group(0)[: match.start(1) - match.start()].replace('"', " ").replace("public.", " ")
            statement = f"{' '.join(verb.split()).upper()} {match.group(1)}"
            if (path, statement) not in ALLOWED:
                found.append(f"{path}: SQL {statement}")
        for match in _DYNAMIC_WRITE.finditer(text):
            found.append(f"{path}: SQL {' '.join(match.group(1).split()).upper()} {{table}}")
    models = _model_names(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        callee = _name(node.func)
        if callee in models:
            found.append(f"{path}:{node.lineno}: builds an ORM {callee} (session.add would write it)")
        if callee in ("insert", "update", "delete") and node.args and _name(node.args[0]) in models:
            found.append(f"{path}:{node.lineno}: SQLAlchemy {callee}({_name(node.args[0])})")
        if callee == "copy_records_to_table" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and first.value in TABLES:
                found.append(f"{path}:{node.lineno}: COPY into {first.value}")
    return found


def test_only_the_repository_writes_intents_quotes_and_events() -> None:
    found = [w for path, tree in outside_repository() for w in writes_in(path, tree)]
    assert found == []


def test_the_scan_sees_the_repository_writes() -> None:
    """The scan is not blind: it finds the repository's own statements (each kind of write)."""
    found: list[str] = []
    for path in sorted(REPOSITORY.rglob("*.py")):
        found += writes_in(path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
    text = "\n".join(found)
    assert "SQL UPDATE payment_intents" in text
    assert "SQL INSERT INTO events" in text
    assert "COPY into events" in text
    # The create path's statements name their tables from the models.
    assert "create.py: SQL INSERT INTO {table}" in text


def test_the_scan_catches_writes_elsewhere() -> None:
    sample = ast.parse(
        "from sluice.models.quote import Quote as Q\n"
        "from sqlalchemy import update\n"
        "S = 'update  payment_intents set status = 1'\n"
        'T = f"INSERT INTO events ({cols}) VALUES ($1)"\n'
        "U = f'DELETE FROM {table} WHERE id = $1'\n"
        "async def f(conn, session):\n"
        "    session.add(Q(id='qt_1'))\n"
        "    await session.execute(update(Q).values(amount=1))\n"
        "    await conn.copy_records_to_table('quotes', records=[])\n"
    )
    found = "\n".join(writes_in("x.py", sample))
    assert "SQL UPDATE payment_intents" in found
    assert "SQL INSERT INTO events" in found
    assert "builds an ORM Q" in found
    assert "SQLAlchemy update(Q)" in found
    assert "COPY into quotes" in found
    assert "SQL DELETE FROM {table}" in found
    # Reads and other tables pass.
    assert (
        writes_in("y.py", ast.parse("S = 'SELECT * FROM payment_intents'; T = 'UPDATE events_x SET a = 1'"))
        == []
    )


def test_one_presenter_of_the_intent_view() -> None:
    """Only `sluice.intents.views.present` builds an intent's public view; nothing builds the pydantic
    models as a second presenter (they are the schema that tests validate `present` against)."""
    views = "sluice/intents/views.py"
    builders: list[str] = []
    for path, tree in [*outside_repository()]:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node.func) in ("PaymentIntentPublic", "OnchainPublic"):
                builders.append(f"{path}:{node.lineno}: {_name(node.func)}(...)")
            if isinstance(node, ast.Dict):
                pairs = {
                    k.value: v.value
                    for k, v in zip(node.keys, node.values, strict=True)
                    if isinstance(k, ast.Constant) and isinstance(v, ast.Constant)
                }
                if pairs.get("object") == "payment_intent" and path != views:
                    builders.append(f"{path}:{node.lineno}: a payment_intent object literal")
            if isinstance(node, ast.FunctionDef) and node.name in (
                "present_json",
                "onchain_view",
                "detached",
            ):
                builders.append(f"{path}:{node.lineno}: def {node.name}")
    assert builders == []
    tree = ast.parse((ROOT / views).read_text(encoding="utf-8"))
    presenters = [
        n.name
        for n in tree.body
        if isinstance(n, ast.FunctionDef)
        and any(isinstance(c, ast.Constant) and c.value == "payment_intent" for c in ast.walk(n))
    ]
    assert presenters == ["present"]


def test_the_write_path_uses_the_one_json_codec() -> None:
    """The repository and what builds the rows it writes encode JSON with sluice.jsoncodec only."""
    modules = [*REPOSITORY.rglob("*.py"), *(ROOT / "sluice" / "events").rglob("*.py")]
    modules += [
        ROOT / "sluice" / "intents" / n for n in ("record.py", "views.py", "service.py", "onchain.py")
    ]
    modules += [ROOT / "indexer" / n for n in ("apply.py", "batch.py", "store.py")]
    offenders = []
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in ("json", "orjson")
            ]
    assert offenders == []
