"""The Jinja sandbox every template of ``campaigns.yaml`` runs in.

It sits below both ``config`` (which compiles every template at ``validate``) and
``render`` (which runs them), so neither imports the other to reach it.

>>> env = make_environment()
>>> env.from_string("{{ row.name | upper }}").render(row=Row(name="ada"))
'ADA'

Templates see only :data:`CONTEXT_NAMES` (``row``, ``now`` and ``today``), Jinja's safe
globals (:data:`SAFE_GLOBALS`) and the filters (Jinja's plus ``date``, ``html`` and the
date helpers of ``mktsync.dates``; listed in docs/templates.md): no
environment variable, file or socket is reachable.  The sandbox is Jinja's
*immutable* one, so a template cannot change the row the next template reads.
"""

from __future__ import annotations

import functools
import inspect
import operator
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any

from jinja2 import StrictUndefined, Template, Undefined, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
)
from jinja2.utils import Namespace
from markupsafe import Markup, escape

from mktsync.dates import FILTERS as DATE_FILTERS
from mktsync.row import Row

# `today` is `now`'s date in the config's timezone (a `mktsync.dates.Day`); one value per run.
CONTEXT_NAMES: frozenset[str] = frozenset({"row", "now", "today"})

# Jinja's default globals minus `lipsum`: it draws random text, so a token using it would
# change on every run and make `retrigger: on_change` fire forever.
SAFE_GLOBALS: frozenset[str] = frozenset({"range", "dict", "cycler", "joiner", "namespace"})

# `'x' * 10**9` or `9 ** 9 ** 9` would stall a run; no e-mail token needs more than this.
MAX_RESULT_SIZE = 1_000_000
# Bounds on one render (docs/security.md): a pull request's template may not exhaust CI.
MAX_RANGE = 10_000  # items of one `range(...)`
MAX_WIDTH = 10_000  # a padding or format width: `center`, `'{:>N}'.format`, `'%Ns' % x`
MAX_STEPS = 100_000  # loop iterations plus calls in one render: deterministic, so is the plan
RENDER_SECONDS = 5.0  # a backstop for what steps do not count (one huge sort, say)


class RowUndefined(StrictUndefined):
    """``StrictUndefined`` that says ``'row' has no attribute 'email'`` instead of ``'dict object'``.

    >>> make_environment().from_string("{{ row.email }}").render(row=Row())
    Traceback (most recent call last):
    jinja2.exceptions.UndefinedError: 'row' has no attribute 'email'
    """

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        # Jinja's hook for the message; only the wording for rows changes.
        if (
            self._undefined_hint is None
            and type(self._undefined_obj) is Row
            and isinstance(self._undefined_name, str)
        ):
            return f"'row' has no attribute {self._undefined_name!r}"
        message: str = super()._undefined_message
        return message


def format_date(value: Any, fmt: str = "%Y-%m-%d") -> str:
    """``{{ row.registered_at | date('%d %B %Y') }}``: a datetime, a date or an ISO 8601 string."""
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()  # "'row' has no attribute ...", not a type error
    if isinstance(value, str):
        try:
            parsed: date = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"date: {value!r} is not an ISO 8601 date or datetime") from None
        return parsed.strftime(fmt)
    if isinstance(value, date):  # a datetime is a date too
        return value.strftime(fmt)
    raise TypeError(
        f"date: expected a date, datetime or ISO 8601 string, got {type(value).__name__}"
    )


def html_escape(value: Any) -> str:
    """``{{ row.title | html }}``: escape ``& < > " '``; a plain str, since autoescape is off."""
    return str(escape(value))


FILTERS: dict[str, Callable[..., Any]] = {
    "date": format_date,
    "html": html_escape,
    **DATE_FILTERS,
}

_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "*": operator.mul,
    "**": operator.pow,
    "%": operator.mod,
    "+": operator.add,
}


class RenderLimitError(SecurityError):
    """A template went over a bound of the sandbox (size, width, steps or time)."""


class _Budget(threading.local):
    """The current render's step count and deadline (one per thread; inactive outside renders)."""

    steps = 0
    deadline = float("inf")
    active = False


_BUDGET = _Budget()


def _tick() -> None:
    budget = _BUDGET
    if not budget.active:
        return
    budget.steps += 1
    if budget.steps > MAX_STEPS:
        raise RenderLimitError(
            f"the template does too much work (over {MAX_STEPS:,} loop steps and calls)"
        )
    if budget.steps % 1024 == 0 and time.monotonic() > budget.deadline:
        raise RenderLimitError(f"the template ran longer than {RENDER_SECONDS:g} seconds")


def _check_size(value: Any, what: str = "a value") -> None:
    if isinstance(value, str | bytes | list | tuple | dict) and len(value) > MAX_RESULT_SIZE:
        raise RenderLimitError(f"{what} would be over {MAX_RESULT_SIZE:,} characters or items")


def _check_width(width: Any, what: str = "a width") -> None:
    if isinstance(width, int) and width > MAX_WIDTH:
        raise RenderLimitError(f"{what} of {width} is over the sandbox's {MAX_WIDTH:,}")


def _check_estimate(size: int, what: str) -> None:
    if size > MAX_RESULT_SIZE:
        raise RenderLimitError(f"{what} would be over {MAX_RESULT_SIZE:,} characters")


_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent_format(text: str) -> None:
    """``'%1000000000s' % x`` would build a gigabyte: refuse widths over ``MAX_WIDTH``."""
    for width, precision in _PERCENT.findall(text):
        for part in (width, precision):
            if part == "*":
                raise RenderLimitError("a '*' width in a % format is not allowed in templates")
            if part:
                _check_width(int(part), "a % format width")


def _check_format_spec(spec: str) -> None:
    for digits in re.findall(r"\d+", spec):
        _check_width(int(digits), "a format width")


class _BoundedFormatter(SandboxedFormatter):
    """``str.format`` in the sandbox, refusing ``'{:>1000000000}'``-sized fields."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_format_spec(format_spec)
        return super().format_field(value, format_spec)


class _BoundedEscapeFormatter(_BoundedFormatter, SandboxedEscapeFormatter):
    pass


class _BoundedNamespace(Namespace):
    """``namespace()`` whose attributes cannot grow past ``MAX_RESULT_SIZE`` in a loop."""

    def __setitem__(self, name: str, value: Any) -> None:
        _check_size(value, f"namespace attribute '{name}'")
        super().__setitem__(name, value)


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise RenderLimitError(
            f"range() of {len(numbers):,} items is over the sandbox's {MAX_RANGE:,}"
        )
    return numbers


def _materialise(value: Any) -> list[Any]:
    items = []
    for item in value:
        _tick()
        items.append(item)
        if len(items) > MAX_RESULT_SIZE:
            _check_size(items)
    return items


def _estimate_join(items: list[Any], separator: Any) -> None:
    size = len(str(separator)) * max(len(items) - 1, 0)
    size += sum(len(i) if isinstance(i, str) else 24 for i in items)
    _check_estimate(size, "join()")


def _replace_size(text: Any, old: Any, new: Any) -> int:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return 0
    count = text.count(old) if old else len(text) + 1
    return len(text) + count * len(new)


def _str_method_check(
    text: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """Refuse a ``str`` method call whose result would be huge, before it is built."""
    first = args[0] if args else None
    if name in ("center", "ljust", "rjust", "zfill"):
        _check_width(first, f"{name}() width")
    elif name == "expandtabs":
        size = text.count("\t") * (first if isinstance(first, int) else 8)
        _check_estimate(len(text) + size, "expandtabs()")
    elif name == "replace" and len(args) >= 2:
        _check_estimate(_replace_size(text, args[0], args[1]), "replace()")
    elif name == "join" and args:
        items = _materialise(first)
        _estimate_join(items, text)
        return (items, *args[1:])
    elif name == "translate" and isinstance(first, dict):
        longest = max((len(v) for v in first.values() if isinstance(v, str)), default=1)
        _check_estimate(len(text) * longest, "translate()")
    return args


def _filter_check(name: str, arguments: dict[str, Any]) -> None:
    """Refuse a filter call whose result would be huge (``center(10**9)``), before it runs."""
    if name == "center":
        _check_width(arguments.get("width"), "center width")
    elif name == "indent":
        width = arguments.get("width", 4)
        lines = str(arguments.get("s", "")).count("\n") + 1
        pad = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        _check_width(pad, "indent width")
        _check_estimate(lines * pad + len(str(arguments.get("s", ""))), "indent")
    elif name == "format" and isinstance(arguments.get("value"), str):
        _check_percent_format(arguments["value"])
    elif name == "replace":
        _check_estimate(
            _replace_size(arguments.get("s"), arguments.get("old"), arguments.get("new")),
            "replace",
        )
    elif name in ("batch", "slice"):
        count = arguments.get("linecount", arguments.get("slices"))
        if isinstance(count, int) and count > MAX_RANGE:
            raise RenderLimitError(f"{name} of {count:,} is over the sandbox's {MAX_RANGE:,}")
    elif name == "wordwrap":
        wrap = arguments.get("wrapstring") or "\n"
        _check_estimate(len(str(arguments.get("s", ""))) * (1 + len(str(wrap))), "wordwrap")
    elif name == "tojson":
        _check_width(arguments.get("indent"), "tojson indent")


def _guarded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(function)

    @functools.wraps(function)  # keeps Jinja's pass_context/pass_eval_context marker
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _tick()
        bound = signature.bind(*args, **kwargs)
        if name == "join" and "value" in bound.arguments:
            items = _materialise(bound.arguments["value"])
            bound.arguments["value"] = items
            if bound.arguments.get("attribute") is None:
                _estimate_join(items, bound.arguments.get("d", ""))
        else:
            _filter_check(name, bound.arguments)
        result = function(*bound.args, **bound.kwargs)
        _check_size(result, f"the {name} filter's result")
        return result

    return guarded


# Filters that can multiply their input, or call other filters per item.
GUARDED_FILTERS = (
    *("center", "indent", "format", "join", "replace", "batch", "slice", "wordwrap", "tojson"),
    *("map", "select", "reject", "selectattr", "rejectattr", "groupby", "unique", "sort"),
    "dictsort",
)


class _BoundedTemplate(Template):
    """A template whose ``render`` runs under the sandbox's budget and size bound."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        context = self.new_context(dict(*args, **kwargs))
        budget = _BUDGET
        outer = (budget.steps, budget.deadline, budget.active)
        budget.steps, budget.active = 0, True
        budget.deadline = time.monotonic() + RENDER_SECONDS
        try:
            pieces: list[str] = []
            size = 0
            for piece in self.root_render_func(context):
                size += len(piece)
                if size > MAX_RESULT_SIZE:
                    raise RenderLimitError(
                        f"the template's output would be over {MAX_RESULT_SIZE:,} characters"
                    )
                pieces.append(piece)
                _tick()
            return "".join(pieces)
        except Exception:
            self.environment.handle_exception()
        finally:
            budget.steps, budget.deadline, budget.active = outer


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, bounded: see :data:`MAX_STEPS` and its neighbours.

    Besides Jinja's own checks: every loop and call counts a step (a loop's iterable is
    wrapped at compile time, in ``_generate``), ``range`` and padding widths are capped,
    ``str`` methods and filters that multiply their input are refused before they build
    a huge result, and a render's output stops at ``MAX_RESULT_SIZE``.
    """

    intercepted_binops = frozenset(_BINOPS)
    template_class = _BoundedTemplate

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _bounded_range
        self.globals["namespace"] = _BoundedNamespace
        for name in GUARDED_FILTERS:
            self.filters[name] = _guarded_filter(name, self.filters[name])

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        # Count every loop step and bound every `~`: both are plain Python in the
        # generated code, out of the sandbox's reach unless routed through it here.
        for loop in list(source.find_all(nodes.For)):
            iterable: nodes.Expr = loop.iter  # type: ignore[assignment]  # typed Node upstream
            loop.iter = self._through("bounded_iter", [iterable], iterable.lineno)
        for concat in list(source.find_all(nodes.Concat)):
            concat.nodes = [self._through("bounded_concat", list(concat.nodes), concat.lineno)]
        generated: str = super()._generate(source, name, filename, defer_init=defer_init)
        return generated

    def _through(self, method: str, arguments: list[nodes.Expr], lineno: int) -> nodes.Call:
        target = nodes.EnvironmentAttribute(method, lineno=lineno)
        return nodes.Call(target, arguments, [], None, None, lineno=lineno)

    def bounded_iter(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            _tick()
            yield item

    def bounded_concat(self, *parts: Any) -> str:
        _check_estimate(sum(len(str(p)) for p in parts), "a ~ concatenation")
        return "".join(str(p) for p in parts)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        bound_self: str = value.__self__
        formatter: SandboxedFormatter = (
            _BoundedEscapeFormatter(self, escape=bound_self.escape)
            if isinstance(bound_self, Markup)
            else _BoundedFormatter(self)
        )
        format_map = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            if format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                return type(bound_self)(formatter.vformat(bound_self, (), args[0]))
            return type(bound_self)(formatter.vformat(bound_self, args, kwargs))

        return functools.update_wrapper(bounded, value)

    def call(
        __self,  # Jinja's own spelling, so keyword arguments named 'self' pass through
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        _tick()
        for argument in (*args, *kwargs.values()):
            _check_size(argument, "an argument")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and isinstance(getattr(__obj, "__name__", None), str):
            args = _str_method_check(owner, __obj.__name__, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        _check_size(result, "a call's result")
        return result

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        # Jinja returns an Undefined that fails only when used, so `row.__class__.__init__`
        # would blame `__init__` of an Undefined; refusing at once names the real attempt.
        raise SecurityError(
            f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe"
        )

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, int)
            and abs(left) > 1
            and right * abs(left).bit_length() > 64 * 1024
        ):
            raise OverflowError("the sandbox refuses a power this large")
        if operator == "%" and isinstance(left, str):
            _check_percent_format(left)
        if (
            operator == "+"
            and isinstance(left, str | list | tuple)
            and isinstance(right, type(left))
        ):
            _check_estimate(len(left) + len(right), "a + concatenation")
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(count, int)
                    and len(seq) * count > MAX_RESULT_SIZE
                ):
                    raise OverflowError(f"the sandbox refuses results over {MAX_RESULT_SIZE} items")
        return _BINOPS[operator](left, right)


@functools.cache
def make_environment() -> SandboxedEnvironment:
    """The one sandboxed environment of a process (cached: compiled templates share it)."""
    env = _Sandbox(undefined=RowUndefined, autoescape=False)
    for name in list(env.globals):
        if name not in SAFE_GLOBALS:
            del env.globals[name]
    env.filters.update(FILTERS)
    del env.filters["random"]  # like `lipsum`: a token using it would change on every run
    return env
