"""GitHub Actions expressions, as the runner evaluates them: ``${{ ... }}`` and ``if:``.

Enough of the language for the workflows we ship, written from GitHub's reference
("Evaluate expressions in workflows and actions"): literals, contexts with ``.name``,
``['name']`` and the ``.*`` object filter, ``! && || == != < <= > >=`` and parentheses
(``&&``/``||`` return an operand, as in JavaScript), loose equality (strings compared
ignoring case, other mixed types as numbers), and the functions ``contains``,
``startsWith``, ``endsWith``, ``format``, ``join``, ``toJSON``, ``fromJSON`` and the status
checks ``success``, ``always``, ``failure``, ``cancelled``.  Anything else is an error, so
a workflow that uses more fails the test loudly instead of being misread.

>>> evaluate("vars.X || 'production'", {"vars": {}})
'production'
>>> interpolate("a ${{ 1 == 1 }} b", {})
'a true b'
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

TOKEN = re.compile(
    r"\s*(?:(?P<number>-?\d+(?:\.\d+)?)|(?P<string>'(?:[^']|'')*')|(?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\],.*])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)
EMBEDDED = re.compile(r"\$\{\{(.*?)\}\}", re.S)
WHOLE = re.compile(r"\$\{\{((?:(?!\}\}).)*)\}\}", re.S)  # one expression, nothing around it


class ExpressionError(ValueError):
    pass


def interpolate(text: str, context: Mapping[str, Any]) -> str:
    """``text`` with each ``${{ expr }}`` replaced by its value as a string."""
    return EMBEDDED.sub(lambda m: as_string(evaluate(m.group(1), context)), text)


def value_of(text: Any, context: Mapping[str, Any]) -> Any:
    """A YAML value: a string that is one whole ``${{ expr }}`` keeps its type."""
    if not isinstance(text, str):
        return text
    whole = WHOLE.fullmatch(text.strip())
    if whole:
        return evaluate(whole.group(1), context)
    return interpolate(text, context)


def condition(text: Any, context: Mapping[str, Any]) -> bool:
    """An ``if:``: ``${{ }}`` optional; without a status function it means
    ``success() && (...)``."""
    if text is None:
        text = "success()"
    if isinstance(text, bool):
        return text
    expr = str(text).strip()
    whole = WHOLE.fullmatch(expr)
    if whole:
        expr = whole.group(1).strip()
    if not re.search(r"\b(success|always|failure|cancelled)\s*\(", expr):
        expr = f"success() && ({expr})"
    return truthy(evaluate(expr, context))


def as_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, indent=2)
    return str(value)


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, 0.0, "")


def evaluate(expr: str, context: Mapping[str, Any]) -> Any:
    parser = _Parser(_tokens(expr), context)
    value = parser.any()
    if parser.peek() is not None:
        raise ExpressionError(f"unexpected {parser.peek()!r} in {expr!r}")
    return value


def _tokens(expr: str) -> list[tuple[str, str]]:
    found, at, expr = [], 0, expr.strip()
    while at < len(expr):
        m = TOKEN.match(expr, at)
        if not m or m.end() == at:
            raise ExpressionError(f"cannot read {expr[at:]!r}")
        kind = m.lastgroup
        assert kind is not None
        found.append((kind, m.group(kind)))
        at = m.end()
        while at < len(expr) and expr[at].isspace():
            at += 1
    return found


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if not value.strip():
            return 0.0
        try:
            return float(value)
        except ValueError:
            return math.nan
    return math.nan


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if type(a) is type(b) and isinstance(a, dict | list):
        return a is b
    return _number(a) == _number(b)


def _contains(search: Any, item: Any) -> bool:
    if isinstance(search, list):
        return any(_equal(x, item) for x in search)
    return as_string(item).casefold() in as_string(search).casefold()


def _format(template: str, *args: Any) -> str:
    return re.sub(r"\{(\d+)\}", lambda m: as_string(args[int(m.group(1))]), template)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": _contains,
    "startswith": lambda s, p: as_string(s).casefold().startswith(as_string(p).casefold()),
    "endswith": lambda s, p: as_string(s).casefold().endswith(as_string(p).casefold()),
    "format": _format,
    "join": lambda xs, sep=",": (
        sep.join(as_string(x) for x in xs) if isinstance(xs, list) else as_string(xs)
    ),
    "tojson": lambda v: json.dumps(v, indent=2),
    "fromjson": lambda s: json.loads(s),
}


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], context: Mapping[str, Any]) -> None:
        self.tokens = tokens
        self.at = 0
        self.context = context

    def peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise ExpressionError("the expression ends too soon")
        token = self.tokens[self.at]
        if expected is not None and token[1] != expected:
            raise ExpressionError(f"expected {expected!r}, found {token[1]!r}")
        self.at += 1
        return token

    def any(self) -> Any:
        value = self.conjunction()
        while self.peek() == "||":
            self.take()
            right = self.conjunction()
            value = value if truthy(value) else right
        return value

    def conjunction(self) -> Any:
        value = self.comparison()
        while self.peek() == "&&":
            self.take()
            right = self.comparison()
            value = right if truthy(value) else value
        return value

    def comparison(self) -> Any:
        left = self.unary()
        op = self.peek()
        if op in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            right = self.unary()
            if op == "==":
                return _equal(left, right)
            if op == "!=":
                return not _equal(left, right)
            a, b = _number(left), _number(right)
            return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        return left

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.postfix(self.primary())

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "number":
            return float(text)
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if text == "(":
            value = self.any()
            self.take(")")
            return value
        if kind != "name":
            raise ExpressionError(f"unexpected {text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek() == "(":
            return self.call(text)
        if text not in self.context:
            raise ExpressionError(f"unknown context {text!r}")
        return self.context[text]

    def call(self, name: str) -> Any:
        self.take("(")
        args = []
        while self.peek() != ")":
            args.append(self.any())
            if self.peek() == ",":
                self.take()
        self.take(")")
        status = self.context.get("job", {}).get("status", "success")
        if name in ("success", "always", "failure", "cancelled"):
            return {
                "success": status == "success",
                "always": True,
                "failure": status == "failure",
                "cancelled": status == "cancelled",
            }[name]
        function = FUNCTIONS.get(name.lower())
        if function is None:
            raise ExpressionError(f"function {name}() is not known to this evaluator")
        return function(*args)

    def postfix(self, value: Any) -> Any:
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                kind, text = self.take()
                if text == "*":
                    value = _star(value)
                    continue
                value = _property(value, text)
            else:
                key = self.any()
                self.take("]")
                value = _property(value, as_string(key))
        return value


def _property(value: Any, name: str) -> Any:
    if isinstance(value, list):  # after .*: the property of each
        return [_property(v, name) for v in value]
    if isinstance(value, dict):
        for key, v in value.items():
            if key.casefold() == name.casefold():
                return v
    return None


def _star(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return list(value)
    return []
