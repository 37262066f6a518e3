"""Data flows one way: config -> sources -> render -> plan -> apply -> ledger/report.

Each top-level module of the package has a layer; a module may import only from lower
layers (its own package aside), including imports made lazily inside functions.  A new
module must be given a layer here, which is where its place in the flow is decided.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mktsync"

LAYERS = {
    # records and the sandbox, known to everyone
    "errors": 0,
    "row": 0,
    "items": 0,
    "dates": 2,
    "sandbox": 5,
    "config": 10,
    # where rows, calls and state come from (sources also holds the data contract)
    "sources": 20,
    "marketo": 20,
    "ledger": 20,
    "emulator": 20,
    "render": 30,
    "plan": 40,
    "apply": 50,
    "report": 60,
    "__init__": 80,  # the library API: load, plan, apply
    "cli": 90,
    "__main__": 95,
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "mktsync":
                found.add(parts[1] if len(parts) > 1 else "__init__")
    return found


def _top(path: Path) -> str:
    return path.relative_to(PACKAGE).with_suffix("").parts[0]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    assert {_top(p) for p in MODULES} <= set(LAYERS)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    top = _top(path)
    upward = sorted(
        target
        for target in _imports(path) - {top}
        if LAYERS.get(target, 999) >= LAYERS.get(top, -1)
    )
    assert not upward, f"{path.relative_to(PACKAGE)} imports upward: {upward}"
