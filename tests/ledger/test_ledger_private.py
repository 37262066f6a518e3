"""No module reaches into the ledger: its private names stay inside the class and module
that define them (issue 23); a write from elsewhere goes through ``Ledger.transaction``.

Private: a ``_name`` of ``Ledger``/``LedgerReader`` (an attribute or method, e.g.
``_tx``, ``_writable``, ``_needs_lock``, ``_store``) used on anything but ``self``
outside ``ledger/core.py`` and ``ledger/reader.py``; and a module-level ``_name`` of a
``mktsync.ledger`` module (``core._bump``) imported or read outside that module.  Every
module of mktsync, tests, benchmarks and tools is scanned, the ledger package too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LEDGER = ROOT / "mktsync" / "ledger"
CLASS_FILES = {LEDGER / "core.py", LEDGER / "reader.py"}  # Ledger and LedgerReader
SCANNED = sorted(
    p
    for folder in ("mktsync", "tests", "benchmarks", "tools")
    for p in (ROOT / folder).rglob("*.py")
    if ".venv" not in p.parts
)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _class_privates() -> frozenset[str]:
    """The private attributes and methods of ``Ledger`` and ``LedgerReader``."""
    names = set()
    for path in CLASS_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ClassDef) and node.name in ("Ledger", "LedgerReader")):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.FunctionDef) and _private(inner.name):
                    names.add(inner.name)
                elif (
                    isinstance(inner, ast.Attribute)
                    and isinstance(inner.value, ast.Name)
                    and inner.value.id == "self"
                    and _private(inner.attr)
                ):
                    names.add(inner.attr)
    return frozenset(names)


CLASS_PRIVATES = _class_privates()


def _ledger_module(name: str) -> bool:
    return name == "mktsync.ledger" or name.startswith("mktsync.ledger.")


def uses(source: str, *, class_file: bool = False, module: str = "") -> Iterator[str]:
    """Where ``source`` (a module named ``module``) uses a private name of the ledger."""
    tree = ast.parse(source)
    aliases: set[str] = set()  # local names bound to what mktsync.ledger modules define
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if _ledger_module(a.name) and a.asname:  # else used by its dotted name
                    aliases.add(a.asname)
        elif isinstance(node, ast.ImportFrom) and node.module and _ledger_module(node.module):
            for a in node.names:
                if _private(a.name) and node.module != module:
                    yield f"line {node.lineno}: imports {a.name} from {node.module}"
                elif _ledger_module(f"{node.module}.{a.name}"):
                    aliases.add(a.asname or a.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            on = ast.unparse(node.value)
            if on in ("self", "cls"):
                continue
            root = on.split(".")[0]
            if root in aliases or on.startswith("mktsync.ledger"):
                yield f"line {node.lineno}: {on}.{node.attr} (a private name of {on})"
            elif node.attr in CLASS_PRIVATES and not class_file:
                yield f"line {node.lineno}: {on}.{node.attr} (private to Ledger)"
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in CLASS_PRIVATES
            and not class_file
        ):
            yield f"line {node.lineno}: {node.func.id}(..., {node.args[1].value!r})"


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_the_scan_knows_the_ledgers_private_names() -> None:
    assert {"_tx", "_writable", "_needs_lock", "_store", "_locked"} <= CLASS_PRIVATES


@pytest.mark.parametrize(
    "source",
    [
        "with ledger._tx() as tx: pass",
        "ledger._writable('x')",
        "reader._needs_lock('record_sent')",
        "size = ledger._store.max_params",
        "getattr(ledger._store, 'path', '')",
        "getattr(ledger, '_store')",
        "from mktsync.ledger.core import Ledger, _bump",
        "from mktsync.ledger import core\ncore._bump(tx)",
        "import mktsync.ledger.core\nmktsync.ledger.core._bump(tx)",
        "import mktsync.ledger.core as c\nc._UPSERT_PENDING",
    ],
)
def test_the_scan_finds_a_reach_inside(source: str) -> None:
    assert list(uses(source)), source


@pytest.mark.parametrize(
    "source",
    [
        "with ledger.transaction(writing='bind_instance') as tx:\n    tx.items_changed()",
        "class Spill:\n    def f(self):\n        return self._store, self._mutex",
        "import mktsync.ledger.core\nimport mktsync.plan.spill\nmktsync.plan.spill._PAGE",
    ],
)
def test_the_scan_leaves_public_use_alone(source: str) -> None:
    assert not list(uses(source))


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_uses_a_private_name_of_the_ledger(path: Path) -> None:
    found = list(
        uses(
            path.read_text(encoding="utf-8"),
            class_file=path in CLASS_FILES,
            module=_module_name(path),
        )
    )
    assert not found, f"{path.relative_to(ROOT)} reaches into the ledger: {found}"
