"""The exception tree drawn in ``mktsync/errors.py`` is the tree the classes form.

Every class derived from ``MktsyncError`` anywhere in the package appears in the drawing,
under its own base, with its ``exit_code``; every other exception class of the package is
named in the docstring's list of those that never reach the user.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass

import mktsync
from mktsync import errors
from mktsync.errors import MktsyncError

_LINE = re.compile(r"^(?P<indent>[ │├└─]*)(?P<name>[A-Z]\w+)\s+exit (?P<code>\d+)\b")


@dataclass(frozen=True)
class Drawn:
    parent: str | None
    exit_code: int


def _drawing() -> dict[str, Drawn]:
    """name -> (parent, exit code), read from the ``::`` block of the module docstring."""
    doc = errors.__doc__ or ""
    block = doc.split("::", 1)[1].split("\n\n", 2)[1]  # the paragraph after "::"
    drawn: dict[str, Drawn] = {}
    stack: list[str] = []  # the open branches, one per depth
    for line in block.splitlines():
        match = _LINE.match(line.strip("\n")[4:])  # the block is indented by 4
        if match is None:
            continue  # a continuation line of a description
        depth = len(match["indent"]) // 4
        del stack[depth:]
        name = match["name"]
        assert name not in drawn, f"{name} is drawn twice"
        drawn[name] = Drawn(parent=stack[-1] if stack else None, exit_code=int(match["code"]))
        stack.append(name)
    return drawn


def _package_classes() -> list[type[BaseException]]:
    """Every exception class defined in mktsync (each module imported once)."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(mktsync.__path__, "mktsync."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == info.name
            ):
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def test_the_drawing_is_the_class_tree() -> None:
    drawn = _drawing()
    classes = [c for c in _package_classes() if issubclass(c, MktsyncError)]
    real = {
        c.__name__: Drawn(
            parent=None if c is MktsyncError else c.__bases__[0].__name__,
            exit_code=c.exit_code,
        )
        for c in [MktsyncError, *classes]
    }
    assert len(real) == len(set(real)), "two error classes share a name"
    assert drawn == real


def test_every_other_exception_is_named_as_never_reaching_the_user() -> None:
    doc = " ".join((errors.__doc__ or "").split())
    listed = doc.split("never reach the user as such:", 1)[1].split(".", 1)[0]
    names = {n.strip() for n in listed.split(",")}
    others = {
        c.__name__
        for c in _package_classes()
        if not issubclass(c, MktsyncError) and not c.__name__.startswith("_")
    }
    assert names == others


def test_the_drawing_is_read_whole() -> None:
    """The parser reads depth, parent and exit code as drawn."""
    drawn = _drawing()
    assert drawn["MktsyncError"] == Drawn(parent=None, exit_code=1)
    assert drawn["QuotaExceeded"] == Drawn(parent="MarketoError", exit_code=4)
    assert drawn["ConnectFailed"].parent == "Retryable"
    assert drawn["WrongInstance"].parent == "LedgerError"
    assert drawn["NotSent"] == Drawn(parent="MktsyncError", exit_code=130)
