"""Compiling one template to a plain function, skipping Jinja for the common shapes.

>>> render = compile_template("https://example.com/join/{{ row.join_code }}")
>>> render(Row(join_code="WK3D"), NOW)                       # doctest: +SKIP
'https://example.com/join/WK3D'

Most templates in ``campaigns.yaml`` are a constant, ``{{ row.col }}``, or text around
a few ``{{ row.col | lower | trim }}``, and ``when`` is often ``row.a == 'x' and ...``.
Those become one Python expression over the row, ten or more times faster than
Jinja's ``render`` (which builds a context and a generator per call).  Everything else is
rendered by the sandboxed Jinja template.  A fast path gives exactly what Jinja
gives: ``str()`` of each value, Jinja's own filter functions, ``and``/``or``
short-circuits, and the same lazy ``Undefined`` for a missing column (a hypothesis
test compares the two paths).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from jinja2 import nodes

from mktsync.config.compiled import compiled
from mktsync.dates import today_of
from mktsync.row import Row
from mktsync.sandbox import make_environment

Render = Callable[[Row, datetime], str]

# Filters that take only the value.  Jinja's `lower`, `upper` and `trim` are
# `soft_str(value).lower()` etc.; `str(value)` gives the same text (and the same
# UndefinedError) without two Python calls.  Others call Jinja's own function.
FAST_FILTERS = frozenset({"lower", "upper", "trim", "html"})
_STR_METHODS = {"lower": "lower", "upper": "upper", "trim": "strip"}
_LONGEST_LITERAL = 256  # characters of template text written into generated code as a literal


def compile_template(text: str, *, fast: bool = True) -> Render:
    """A function ``(row, now) -> str``; raises what Jinja's render would raise.

    Made once per text and process: the Jinja parse and compilation come from
    ``config.compiled`` (where ``validate`` left them), the fast path's translation is
    kept here, so a text aliased into 2,000 campaigns is translated once.
    """
    return _compile_template(text, fast)


@functools.lru_cache(maxsize=65_536)
def _compile_template(text: str, fast: bool) -> Render:
    entry = compiled(text)
    if entry.error is not None:
        raise entry.error.with_traceback(None)
    if fast:
        assert entry.tree is not None
        shortcut = fast_path(entry.tree)
        if shortcut is not None:
            return shortcut
    template = entry.template

    def render(row: Row, now: datetime) -> str:
        return template.render({"row": row, "now": now, "today": today_of(now)})

    return render


def fast_path(tree: nodes.Template) -> Render | None:
    """The function for a template of a common shape, or None when Jinja must render it."""
    names: dict[str, Any] = {}
    source = python_source(tree, names)
    if source is None:
        return None
    code = compile(f"lambda row, now: {source}", "<mktsync fast path>", "eval")
    render: Render = eval(code, fast_globals(names))
    return render


def fast_globals(names: dict[str, Any]) -> dict[str, Any]:
    """Globals for generated code: its bound names and ``str``, no other builtin."""
    return {"__builtins__": {}, "str": str, "_u": make_environment().undefined, **names}


def python_source(
    tree: nodes.Template, names: dict[str, Any], columns: dict[str, str] | None = None
) -> str | None:
    """A Python expression over ``row`` rendering the template, or None if the shape is not covered.

    ``{{ row.code }}`` becomes ``str(row['code'] if 'code' in row else _u(obj=row, name='code'))``:
    only the node types handled here are translated, names and text go in as ``repr``
    literals, and constants and filter functions as entries added to ``names``, so nothing
    from the template runs as code.  Several templates may share one ``names``.  With
    ``columns``, a column becomes a local variable (``columns[column]``) that the caller
    assigns once per row (see ``column_lookup``).
    """
    if not tree.body:
        return "''"
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    translator = _Translator(names, columns)
    pieces: list[str] = []
    for child in tree.body[0].nodes:
        if isinstance(child, nodes.TemplateData):
            # A long text goes in as a bound name: one shared string, not a literal that
            # each campaign's generated function would compile (and hold) again.
            long = len(child.data) > _LONGEST_LITERAL
            pieces.append(translator.bind(child.data) if long else repr(child.data))
            continue
        expression = translator.expression(child)
        if expression is None:
            return None
        pieces.append(_as_str(expression))
    if len(pieces) > 4:
        return "''.join((" + ", ".join(pieces) + ",))"
    return "(" + " + ".join(pieces) + ")"


def column_lookup(column: str) -> str:
    """What Jinja's ``row.column`` gives: the value, or the lazy RowUndefined it returns.

    Being lazy, a missing column fails (or not) exactly where Jinja's would:
    ``row.a == (row.b | lower)`` blames ``b``; ``false and row.a`` does not fail.
    """
    c = repr(column)
    return f"(row[{c}] if {c} in row else _u(obj=row, name={c}))"


_Source = tuple[str, str]  # (python source, its type when known: "str", "bool" or "")


def _as_str(expression: _Source) -> str:
    source, kind = expression
    return source if kind == "str" else f"str({source})"


def python_condition(
    tree: nodes.Template, names: dict[str, Any], columns: dict[str, str] | None = None
) -> str | None:
    """For ``{{ <a bool expression> }}`` alone, the Python bool itself (None otherwise).

    Such a template renders ``True`` or ``False``, so ``when`` can test the bool
    instead of rendering and stripping a string.
    """
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    (child,) = tree.body[0].nodes if len(tree.body[0].nodes) == 1 else (None,)
    if child is None or isinstance(child, nodes.TemplateData):
        return None
    expression = _Translator(names, columns).expression(child)
    if expression is None or expression[1] != "bool":
        return None
    return expression[0]


class _Translator:
    """Jinja expression nodes to Python source, with the values they need in ``names``."""

    def __init__(self, names: dict[str, Any], columns: dict[str, str] | None) -> None:
        self.names = names
        self.columns = columns

    def bind(self, value: Any) -> str:
        name = f"_v{len(self.names)}"
        self.names[name] = value
        return name

    def expression(self, node: nodes.Node) -> _Source | None:
        column = _column(node)
        if column is not None:
            if self.columns is None:
                return column_lookup(column), ""
            return self.columns.setdefault(column, f"_c{len(self.columns)}"), ""
        if isinstance(node, nodes.Const) and isinstance(
            node.value, str | int | float | bool | None
        ):
            return self.bind(node.value), _KINDS.get(type(node.value), "")
        if isinstance(node, nodes.Filter):
            return self.filter(node)
        if isinstance(node, nodes.Compare) and len(node.ops) == 1 and node.ops[0].op in _COMPARE:
            left, right = self.expression(node.expr), self.expression(node.ops[0].expr)
            if left is None or right is None:
                return None
            return f"({left[0]} {_COMPARE[node.ops[0].op]} {right[0]})", "bool"
        if isinstance(node, nodes.And | nodes.Or):
            left, right = self.expression(node.left), self.expression(node.right)
            if left is None or right is None:
                return None
            operator = "and" if isinstance(node, nodes.And) else "or"
            # `a and b` is a or b; its type is known only when both sides share it.
            return f"({left[0]} {operator} {right[0]})", left[1] if left[1] == right[1] else ""
        if isinstance(node, nodes.Not):
            inner = self.expression(node.node)
            return None if inner is None else (f"(not {inner[0]})", "bool")
        return None

    def filter(self, node: nodes.Filter) -> _Source | None:
        if node.name not in FAST_FILTERS or node.node is None:
            return None
        if node.args or node.kwargs or node.dyn_args or node.dyn_kwargs:
            return None
        inner = self.expression(node.node)
        if inner is None:
            return None
        if node.name in _STR_METHODS:
            return f"{_as_str(inner)}.{_STR_METHODS[node.name]}()", "str"
        # Jinja's own filter function (``environment.filters``), so the output is its output.
        function = self.bind(make_environment().filters[node.name])
        return f"{function}({inner[0]})", "str" if node.name == "html" else ""


_COMPARE = {"eq": "==", "ne": "!="}
_KINDS = {str: "str", bool: "bool"}


def _column(node: nodes.Node) -> str | None:
    """``row.col`` or ``row['col']``, when Jinja would read the dict item."""
    if isinstance(node, nodes.Getattr):
        target, name = node.node, node.attr
    elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        target, name = node.node, node.arg.value
    else:
        return None
    if not (isinstance(target, nodes.Name) and target.name == "row" and isinstance(name, str)):
        return None
    # The sandbox prefers attributes: `row.items` is dict.items, not a column named "items".
    return None if hasattr(Row, name) else name
