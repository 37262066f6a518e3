"""What a template reads from ``row``, and whether a ``when`` can tell rows apart.

>>> as_condition("row.status == 'registered'")
"{{ (row.status == 'registered') }}"
>>> as_condition("{{ row.status == 'registered' }}")
"{{ row.status == 'registered' }}"
>>> [r.column for r in fields_read(make_environment().parse("{{ row.a }}{{ row['b'] }}"))]
['a', 'b']

``when`` is an expression, as Ansible's ``when:`` is: a text without ``{{`` or ``{%``
is wrapped into ``{{ (...) }}``, so the bare and the braced form are one template
from here on (rendering and its generated fast path see no difference).

:func:`constant_when` says why a ``when`` would be the same for every row: a
literal, a plain word, an expression that reads no ``row`` field, or text outside the
braces (which always renders non-empty, so always true).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import nodes

from mktsync.row import Row
from mktsync.sandbox import make_environment

__all__ = [
    "Comparison",
    "Read",
    "as_condition",
    "column_of",
    "comparisons",
    "constant_when",
    "fields_read",
    "is_braced",
    "make_environment",
]


def is_braced(text: str) -> bool:
    """A template (``{{ }}`` or ``{% %}`` somewhere), rather than a bare expression."""
    return "{{" in text or "{%" in text


def as_condition(text: str) -> str:
    """The template a ``when`` stands for: bare expressions are wrapped, templates kept."""
    return text if is_braced(text) else "{{ (" + text + ") }}"


@dataclass(frozen=True, kw_only=True)
class Read:
    """One field read from ``row``, with the template line (1-based) it is read on."""

    column: str
    line: int


def fields_read(tree: nodes.Template) -> list[Read]:
    """Every ``row.x``, ``row['x']`` and ``row.get('x')`` in the template, in source order.

    Attributes that ``dict`` itself has (``row.items``, ``row.get``) are not columns:
    the sandbox reads the attribute first, as Jinja does.
    """
    found: list[Read] = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Call)):
        column = column_of(node)
        if column is not None:
            found.append(Read(column=column, line=node.lineno))
    return sorted(found, key=lambda r: r.line)


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """A column compared with literals in a ``when``: ``row.status == 'registered'``,
    ``!=``, ``in ['a', 'b']`` or ``not in [...]`` (either side first for ``==``/``!=``).

    >>> tree = make_environment().parse(as_condition("row.status in ['a', 'b']"))
    >>> [(c.text, c.literals) for c in comparisons(tree)]
    [("row.status in ['a', 'b']", ('a', 'b'))]
    """

    column: str
    op: str  # "==", "!=", "in", "not in"
    literals: tuple[Any, ...]

    @property
    def text(self) -> str:
        """The comparison as written (spacing and quotes normalised)."""
        column = f"row.{self.column}" if self.column.isidentifier() else f"row[{self.column!r}]"
        if self.op in ("in", "not in"):
            return f"{column} {self.op} {list(self.literals)!r}"
        return f"{column} {self.op} {self.literals[0]!r}"


_OPS = {"eq": "==", "ne": "!=", "in": "in", "notin": "not in"}


def comparisons(tree: nodes.Template) -> list[Comparison]:
    """Every ``row.X`` compared with literals in the template, in source order: what the
    plan checks against the values the rows hold (a literal no row holds is a typo)."""
    found: list[tuple[int, Comparison]] = []
    for node in tree.find_all(nodes.Compare):
        if len(node.ops) != 1 or node.ops[0].op not in _OPS:
            continue  # a chain (a < b < c) or an order: no value to look for
        op, left, right = _OPS[node.ops[0].op], node.expr, node.ops[0].expr
        if op in ("==", "!=") and column_of(right) is not None:
            left, right = right, left  # 'registered' == row.status
        column = column_of(left)
        if column is None:
            continue
        if op in ("in", "not in"):
            items = right.items if isinstance(right, nodes.List | nodes.Tuple) else None
            if not items or not all(isinstance(i, nodes.Const) for i in items):
                continue
            literals = tuple(i.value for i in items if isinstance(i, nodes.Const))
        elif isinstance(right, nodes.Const):
            literals = (right.value,)
        else:
            continue
        found.append((node.lineno, Comparison(column=column, op=op, literals=literals)))
    return [c for _, c in sorted(found, key=lambda pair: pair[0])]


def reads_row_dynamically(tree: nodes.Template) -> bool:
    """``row`` used other than by a constant field name (``row[name]``, ``row | length``...)."""
    plain: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Call)):
        if column_of(node) is not None:
            target = node.node.node if isinstance(node, nodes.Call) else node.node  # type: ignore[attr-defined]
            plain.add(id(target))
        elif isinstance(node, nodes.Getattr) and _is_row(node.node) and node.attr == "get":
            plain.add(id(node.node))  # the `row.get` of a `row.get('x')` counted above
    return any(id(n) not in plain for n in tree.find_all(nodes.Name) if n.name == "row")


def constant_when(tree: nodes.Template, text: str) -> str | None:
    """Why this ``when`` is the same for every row, or None when it depends on the row."""
    body = tree.body
    if not body:
        return "it is empty, so it is false for every row"
    braced = is_braced(text)
    outputs = [n for n in body if isinstance(n, nodes.Output)]
    if braced and len(outputs) == len(body):
        outside = [c.data for o in outputs for c in o.nodes if isinstance(c, nodes.TemplateData)]
        if any(t.strip() for t in outside):
            shown = next(t.strip() for t in outside if t.strip())
            return (
                f"the text '{shown}' outside {{{{ }}}} always renders, so it is true for every "
                "row; write the whole condition inside {{ }}, or without braces"
            )
    if not braced and len(outputs) == 1 and len(outputs[0].nodes) == 1:
        expr = outputs[0].nodes[0]
        if isinstance(expr, nodes.Const):
            truth = "true" if expr.value else "false"
            return f"it is the literal {text.strip()}, so it is {truth} for every row"
        if _is_row(expr):
            return "it tests 'row' as a whole, which is true for every row; compare a column"
        if isinstance(expr, nodes.Name):
            return (
                f"'{expr.name}' is a plain word, not a condition on the row, so it is the same "
                f"for every row; compare a column, e.g. row.status == '{expr.name}'"
            )
    if len(outputs) == len(body) == 1 and len(outputs[0].nodes) == 1:
        why = _constant_operand(outputs[0].nodes[0])
        if why:
            return why
    if not fields_read(tree) and not reads_row_dynamically(tree):
        return (
            "it reads no field of 'row', so it is the same for every row; compare a column, "
            "e.g. row.status == 'registered'"
        )
    return None


def _constant_operand(expr: nodes.Node) -> str | None:
    """``row.status == 'a' or 'b'``: an ``or`` with a true literal (or an ``and`` with a
    false one) at the top is the same for every row, whatever the rest reads."""
    if isinstance(expr, nodes.Or | nodes.And):
        truthy = isinstance(expr, nodes.Or)
        for side in (expr.left, expr.right):
            if isinstance(side, nodes.Const) and bool(side.value) is truthy:
                word, value = ("or", "true") if truthy else ("and", "false")
                why = (
                    f"'{word} {side.value!r}' makes it {value} for every row: a literal on its "
                    f"own is always {value}"
                )
                if truthy:
                    why += (
                        "; compare the column again (row.status == 'a' or row.status == 'b'), "
                        "or write row.status in ['a', 'b']"
                    )
                return why
            found = _constant_operand(side)
            if found:
                return found
    return None


def _is_row(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Name) and node.name == "row"


def column_of(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Getattr) and _is_row(node.node):
        name: object = node.attr
    elif (
        isinstance(node, nodes.Getitem) and _is_row(node.node) and isinstance(node.arg, nodes.Const)
    ):
        name = node.arg.value
    elif (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Getattr)
        and _is_row(node.node.node)
        and node.node.attr == "get"
        and node.args
        and isinstance(node.args[0], nodes.Const)
    ):
        name = node.args[0].value
        return name if isinstance(name, str) else None
    else:
        return None
    if not isinstance(name, str) or hasattr(Row, name):
        return None
    return name
