"""Each distinct template text parsed and compiled once per process.

>>> entry = compiled("{{ row.email | lower }}")
>>> sorted(entry.undeclared)
['row']
>>> entry.template.render(row={"email": "Ada@Example.com"})
'ada@example.com'

``validate`` (every template of the file), the data contract (the columns each one
reads) and ``render`` (the fast path's translation, Jinja for other shapes) all take
their templates from here, so a text written once and aliased 2,000 times, or the same
``{{ row.email }}`` in 60,000 campaigns, is parsed and compiled once, and ``plan`` and
``apply`` compile nothing ``validate`` compiled in the same process.

- The key is the text alone: there is one sandboxed environment per process
  (``make_environment``), and what else changes a compilation is already in the text
  (a bare ``when`` expression is wrapped by ``as_condition`` before it gets here).
- ``Compiled.tree`` is shared: read it, never change it.  Jinja's compiler rewrites the
  tree it is given (constant folding, the sandbox's loop counters), so code is compiled
  from the text, not from ``tree``.
- Most templates are expressions in ``{{ }}`` and ``{% if %}`` (the shapes of
  :data:`_SIMPLE`).  For those the only errors compiling can raise are an unknown
  filter or test (Jinja's), a keyword given twice and nesting past Python's parser
  (Python's, on the code Jinja writes), which the tree shows; ``render`` needs no Jinja
  code for most of them (its fast path), so they are compiled only when ``template`` is
  first asked for.  Other templates (loops, ``set``, macros...) are compiled when first
  parsed, so ``validate`` sees every error compiling them would raise (Python's
  included: 21 nested loops are too many statically nested blocks).
- A text that does not parse or compile keeps its error (``Compiled.error``): the same
  text fails the same way, and 60,000 aliases of a broken template cost one parse.
- The cache holds at most ``MAX_CACHED_TEXT`` characters of template text, least
  recently used out first: more than a config file may hold (``yamlfile.MAX_BYTES``),
  so one run never compiles a text twice, while a long-lived process stays bounded.
- ``counts()`` says how many parses and compilations the process has done: the tests'
  work counts (one parse per distinct text, at most one compilation) rather than wall
  time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from types import CodeType

from jinja2 import Template, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import TemplateAssertionError

from mktsync.sandbox import make_environment

MAX_CACHED_TEXT = 32 * 1024 * 1024  # characters of template text kept compiled


@dataclass(frozen=True, kw_only=True)
class Counts:
    """Work done since the process started (or since ``clear``)."""

    parses: int
    compiles: int


@dataclass(kw_only=True, eq=False)
class Compiled:
    """One template text, parsed and checked in the sandbox (see the module docstring)."""

    text: str
    tree: nodes.Template | None  # None when the text does not parse
    error: TemplateSyntaxError | None  # the parse or compile error, else None
    code: CodeType | None = None  # compiled when first needed (at once for complex shapes)
    _template: Template | None = field(default=None, repr=False)
    _undeclared: frozenset[str] | None = field(default=None, repr=False)

    @property
    def template(self) -> Template:
        """The sandboxed ``jinja2.Template`` (compiled on first use)."""
        if self.error is not None:
            raise self.error.with_traceback(None)  # raised again and again: keep it short
        if self._template is None:
            env = make_environment()
            if self.code is None:
                self.code = _jinja_compile(self.text)
            self._template = env.template_class.from_code(
                env, self.code, env.make_globals(None), None
            )
        return self._template

    @property
    def undeclared(self) -> frozenset[str]:
        """The names the template reads from its context (``row``, ``now``...), as
        ``jinja2.meta.find_undeclared_variables`` says (whose code generation simple
        shapes skip: their names are found when the text is parsed)."""
        if self._undeclared is None:
            found = meta.find_undeclared_variables(self.tree) if self.tree is not None else ()
            self._undeclared = frozenset(found)
        return self._undeclared


_cache: OrderedDict[str, Compiled] = OrderedDict()
_lock = threading.Lock()
_held = 0  # characters of text in the cache
_parses = 0
_compiles = 0


def compiled(text: str) -> Compiled:
    """The parsed and compiled template for ``text``, made once per process."""
    global _held
    with _lock:
        entry = _cache.get(text)
        if entry is not None:
            _cache.move_to_end(text)
            return entry
    entry = _compile(text)
    with _lock:
        if text not in _cache:
            _cache[text] = entry
            _held += len(text)
            while _held > MAX_CACHED_TEXT and len(_cache) > 1:
                old, _ = _cache.popitem(last=False)
                _held -= len(old)
    return entry


def _compile(text: str) -> Compiled:
    global _parses
    env = make_environment()
    try:
        _parses += 1
        tree = env.parse(text)
    except TemplateSyntaxError as exc:  # kept: drop the frames it holds
        return Compiled(text=text, tree=None, error=exc.with_traceback(None))
    except RecursionError:  # `{{ ((((...)))) }}` nested past the parser's stack
        return Compiled(text=text, tree=None, error=_too_deep(1))
    simple, loaded, problem = _survey(tree)
    if problem is not None:
        return Compiled(text=text, tree=tree, error=problem)
    if simple:
        # Nothing in a simple tree binds a name: every name loaded comes from the
        # context, except the globals and `self` (Jinja's reference to the template).
        names = frozenset(n for n in loaded if n not in env.globals and n != "self")
        return Compiled(text=text, tree=tree, error=None, _undeclared=names)
    try:
        code = _jinja_compile(text)
    except TemplateSyntaxError as exc:
        return Compiled(text=text, tree=tree, error=exc.with_traceback(None))
    return Compiled(text=text, tree=tree, error=None, code=code)


def _jinja_compile(text: str) -> CodeType:
    """Jinja's compilation of ``text``; any failure is a ``TemplateSyntaxError``.

    Jinja's compiler gives its own errors, but the Python code it writes can still fail
    Python's compiler (``{% for %}`` nested 21 deep: "too many statically nested
    blocks"; ``f(a=1, a=2)``: "keyword argument repeated") or recurse too deep.
    """
    global _compiles
    _compiles += 1
    # From the text, not a shared tree: Jinja's compiler rewrites the tree it compiles.
    try:
        code: CodeType = make_environment().compile(text)
    except SyntaxError as exc:  # Python's, about the code Jinja wrote
        why = _PYTHON_LIMITS.get(exc.msg, f"Python cannot compile this template: {exc.msg}")
        raise TemplateSyntaxError(why, 1) from None
    except RecursionError:
        raise _too_deep(1) from None
    return code


MAX_DEPTH = 150  # nodes inside each other: Python's parser stops at 200 nested brackets
_PYTHON_LIMITS = {
    "too many statically nested blocks": "loops are nested more than 20 deep",
    "too many nested parentheses": "expressions are nested more than 200 deep",
}


def _too_deep(line: int) -> TemplateSyntaxError:
    return TemplateSyntaxError(
        f"the template is nested too deeply (over {MAX_DEPTH} levels of expressions or "
        "blocks: a long chain of 'or', 'and' or '+'?)",
        line,
    )


# Expressions and `{% if %}`: no node here binds a name or needs more of the compiler
# than to know its filters and tests (jinja2.compiler's `fail` calls: unknown filter
# or test, macros, blocks, `extends`, a loop assigning to `loop`).
_SIMPLE = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.If, nodes.Const, nodes.Name,
    nodes.Getattr, nodes.Getitem, nodes.Slice, nodes.Filter, nodes.Test, nodes.Call,
    nodes.Keyword, nodes.Compare, nodes.Operand, nodes.And, nodes.Or, nodes.Not,
    nodes.Neg, nodes.Pos, nodes.Add, nodes.Sub, nodes.Mul, nodes.Div, nodes.FloorDiv,
    nodes.Mod, nodes.Pow, nodes.Concat, nodes.CondExpr, nodes.List, nodes.Tuple,
    nodes.Dict, nodes.Pair,
)  # fmt: skip


def _survey(tree: nodes.Template) -> tuple[bool, set[str], TemplateSyntaxError | None]:
    """One walk: is the tree simple, the names it loads, its first problem.

    Problems are Jinja's own unknown filter or test (``No filter named 'x'.``), a keyword
    given twice, and nesting deeper than ``MAX_DEPTH``: the Jinja compilation that simple
    trees skip (and the fast path's Python) would fail on them.  Jinja lets an unknown
    filter inside ``{% if %}`` pass until it is rendered; it is a mistake wherever it
    stands, so it is refused everywhere.  The walk is iterative: a chain of 10,000 ``+``
    is a tree 10,000 deep, past Python's recursion limit.
    """
    env = make_environment()
    simple, loaded = True, set[str]()
    stack: list[tuple[nodes.Node, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return simple, loaded, _too_deep(node.lineno or 1)
        kind = type(node)
        if kind not in _SIMPLE:
            simple = False
        elif kind is nodes.Name:
            if node.ctx == "load":  # type: ignore[attr-defined]  # Name's field
                loaded.add(node.name)  # type: ignore[attr-defined]
        elif kind is nodes.Filter or kind is nodes.Test:
            name: str = node.name  # type: ignore[attr-defined]
            if name not in (env.filters if kind is nodes.Filter else env.tests):
                word = "filter" if kind is nodes.Filter else "test"
                error = TemplateAssertionError(f"No {word} named {name!r}.", node.lineno)
                return simple, loaded, error
        if kind is nodes.Call or kind is nodes.Filter or kind is nodes.Test:
            keys = [k.key for k in node.kwargs]  # type: ignore[attr-defined]
            twice = sorted({k for k in keys if keys.count(k) > 1})
            if twice:
                message = f"the keyword argument {twice[0]!r} is given twice"
                return simple, loaded, TemplateSyntaxError(message, node.lineno)
        stack.extend((child, depth + 1) for child in node.iter_child_nodes())
    return simple, loaded, None


def counts() -> Counts:
    """Parses and compilations done so far (each distinct text costs one of each)."""
    return Counts(parses=_parses, compiles=_compiles)


def clear() -> None:
    """Forget every compiled text (for tests that count work from a clean start)."""
    global _held
    with _lock:
        _cache.clear()
        _held = 0


def cached(text: str) -> bool:
    """Whether ``text`` is compiled already (for tests)."""
    return text in _cache


__all__ = ["Compiled", "Counts", "cached", "clear", "compiled", "counts"]
