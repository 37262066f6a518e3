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
import operator
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from jinja2 import StrictUndefined, Undefined
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment
from markupsafe import escape

from mktsync.dates import FILTERS as DATE_FILTERS
from mktsync.row import Row

# `today` is `now`'s UTC date (a `mktsync.dates.Day`); both are one value per run.
CONTEXT_NAMES: frozenset[str] = frozenset({"row", "now", "today"})

# Jinja's default globals minus `lipsum`: it draws random text, so a token using it would
# change on every run and make `retrigger: on_change` fire forever.
SAFE_GLOBALS: frozenset[str] = frozenset({"range", "dict", "cycler", "joiner", "namespace"})

# `'x' * 10**9` or `9 ** 9 ** 9` would stall a run; no e-mail token needs more than this.
MAX_RESULT_SIZE = 1_000_000


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

_BINOPS: dict[str, Callable[[Any, Any], Any]] = {"*": operator.mul, "**": operator.pow}


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(_BINOPS)

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
