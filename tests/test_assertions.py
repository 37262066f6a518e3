"""Every test asserts what it means: one that passes merely by not raising says too little.

A test function asserts when its body holds an ``assert``, a ``pytest.raises``, ``warns``
or ``fail``, or calls a helper that asserts: a function of the same module that does
(itself or through another), or one whose name says so (``assert_*``, ``check_*``,
``check``) wherever it is defined.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ASSERTING_CALLS = {"raises", "warns", "fail", "check"}
ASSERTING_PREFIXES = ("assert_", "check_")


def _called(node: ast.AST) -> set[str]:
    names = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            if isinstance(call.func, ast.Attribute):
                names.add(call.func.attr)
            elif isinstance(call.func, ast.Name):
                names.add(call.func.id)
    return names


def _asserts_itself(node: ast.AST) -> bool:
    if any(isinstance(n, ast.Assert) for n in ast.walk(node)):
        return True
    called = _called(node)
    return bool(called & ASSERTING_CALLS) or any(n.startswith(ASSERTING_PREFIXES) for n in called)


def silent_tests(source: str) -> list[str]:
    """The test functions of a module's ``source`` that assert nothing."""
    tree = ast.parse(source)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            functions.setdefault(node.name, node)
    asserting = {name for name, f in functions.items() if _asserts_itself(f)}
    while True:  # helpers that call helpers that assert
        more = {n for n, f in functions.items() if n not in asserting and _called(f) & asserting}
        if not more:
            break
        asserting |= more
    return sorted(
        f"{f.name} (line {f.lineno})"
        for name, f in functions.items()
        if name.startswith("test") and name not in asserting
    )


MODULES = sorted(TESTS.rglob("test_*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(TESTS)))
def test_every_test_asserts(path: Path) -> None:
    silent = silent_tests(path.read_text(encoding="utf-8"))
    assert not silent, f"{path.relative_to(TESTS)}: tests that assert nothing: {silent}"


def test_a_test_that_only_runs_code_is_found() -> None:
    source = """
def helper(x):
    assert x
def indirect(x):
    helper(x)
def quiet(x):
    return x
def test_quiet():
    quiet(1)
def test_through_helpers():
    indirect(1)
def test_raises():
    with pytest.raises(ValueError):
        int("x")
def test_named_helper():
    assert_fine(1)
"""
    assert silent_tests(source) == ["test_quiet (line 8)"]
