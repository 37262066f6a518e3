"""Data flows one way: config -> sources -> render -> plan -> apply -> ledger/report.

Each top-level package has a layer; a module may import only from lower layers (its own
package aside).  Inside a package there are no circles: the graph of which module imports
which has no cycle, and a module never imports its own package's face (``mktsync.plan``
from ``mktsync/plan/spill.py``): the face imports the package's modules, so that is a
circle too, one waiting for the next import to close it.

The graph is built from every ``import`` and ``from ... import`` anywhere in a file:
at the top, inside functions (lazy imports), under ``if TYPE_CHECKING:``, relative ones
resolved.  ``from P import name`` is an import of the module ``P.name`` when there is one,
else of ``P`` itself.  A new package must be given a layer here, which is where its place
in the flow is decided.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
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


def _name(path: Path) -> str:
    """``mktsync/plan/spill.py`` -> ``mktsync.plan.spill``; a package's face is its name."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_face(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _package_of(module: str) -> str:
    """The package a module is in: itself for a face."""
    return module if _is_face(module) else module.rpartition(".")[0]


def _imports(module: str, text: str | None = None) -> Iterator[tuple[int, str]]:
    """(line, imported module of mktsync) for every import anywhere in ``module``'s text."""
    if text is None:
        text = MODULES[module].read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(module).split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            if source.partition(".")[0] != "mktsync":
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in MODULES:
                    yield node.lineno, submodule
                else:
                    assert source in MODULES, f"{module}:{node.lineno}: no module {source}"
                    yield node.lineno, source


GRAPH = {module: sorted({target for _, target in _imports(module)}) for module in MODULES}


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _cycles() -> list[list[str]]:
    """One cycle through each strongly connected part of the graph (Tarjan), as a path
    that starts and ends at its smallest module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    parts: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            part = set()
            while True:
                member = stack.pop()
                part.add(member)
                if member == node:
                    break
            if len(part) > 1 or node in GRAPH[node]:
                parts.append(part)

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return [_path_through(part) for part in sorted(parts, key=min)]


def _path_through(part: set[str]) -> list[str]:
    """The shortest way from the part's smallest module back to itself, within the part."""
    start = min(part)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in GRAPH[node]:
            if target == start:
                return [*paths[node], start]
            if target in part and target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"no cycle through {start}")  # a strongly connected part has one


def test_every_module_has_a_layer() -> None:
    assert {_top(m) for m in MODULES} <= set(LAYERS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module: str) -> None:
    top = _top(module)
    upward = sorted(
        {
            f"{target} (line {line})"
            for line, target in _imports(module)
            if _top(target) != top and LAYERS.get(_top(target), 999) >= LAYERS.get(top, -1)
        }
    )
    assert not upward, f"{module} imports upward: {upward}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not _is_face(m)))
def test_no_module_imports_its_own_face(module: str) -> None:
    # From the second part on: ``mktsync`` itself is the library API, a layer of its own
    # (above), which the command layer is meant to call.
    parts = module.split(".")
    faces = {".".join(parts[:n]) for n in range(2, len(parts))}
    found = sorted(
        {f"{target} (line {line})" for line, target in _imports(module) if target in faces}
    )
    assert not found, f"{module} imports the face of its own package: {found}"


def test_no_import_cycles() -> None:
    cycles = [" -> ".join(cycle) for cycle in _cycles()]
    assert not cycles, "import cycles:\n  " + "\n  ".join(cycles)


def test_the_graph_sees_lazy_type_checking_and_relative_imports() -> None:
    text = """
from typing import TYPE_CHECKING
import mktsync.errors
if TYPE_CHECKING:
    from mktsync.apply import result
def later() -> None:
    from . import records, spill
    from .lists import HELD
    from ..config import model
"""
    assert {target for _, target in _imports("mktsync.plan.spill", text)} == {
        "mktsync.errors",
        "mktsync.apply.result",
        "mktsync.plan.records",
        "mktsync.plan.spill",
        "mktsync.plan.lists",
        "mktsync.config.model",
    }
    assert {target for _, target in _imports("mktsync.plan", "from . import Plan")} == {
        "mktsync.plan"
    }


def test_the_cycle_finder_names_a_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(GRAPH, "mktsync.errors", [*GRAPH["mktsync.errors"], "mktsync.row"])
    monkeypatch.setitem(GRAPH, "mktsync.row", [*GRAPH["mktsync.row"], "mktsync.errors"])
    assert ["mktsync.errors", "mktsync.row", "mktsync.errors"] in _cycles()
