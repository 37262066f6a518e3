"""The shape of a saved plan, checked before it is read: damage said in words.

>>> damage(json.loads('{"format_version": 1, "campaigns": "x"}'))     # doctest: +SKIP
'config is missing'

A saved or reviewed plan is a file someone may have edited, truncated or replaced (issue
21): ``apply`` must refuse it with a message a person can act on, never a Python error
("string indices must be integers") and never a crash.  ``damage`` walks the parsed JSON
along ``PLAN`` -- every field ``plan.file`` reads, with its type -- and names the first
field that is missing or of another type, by its path (``campaigns[0].calls[1].leads[3].row
is text, not a whole number``).  ``loads`` parses the text itself, refusing numbers too long
to be a count (Python would stop at 4,300 digits with an error of its own) and nesting too
deep to parse.

Fields ``plan.file`` does not know are left alone (``format_version`` 1 grows by additive
fields, docs/plan-json.md); the shape says only what a reader needs.  A lead line is checked
by the same ``LEAD`` wherever it is read: in the file whole, or a line at a time
(``plan.filecalls``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_DIGITS = 30  # a count, an id, a row number: never longer


class Damaged(ValueError):
    """A plan file's damage, in words (``str()``), without the file's name."""


@dataclass(frozen=True)
class Kind:
    """A JSON value of one or more types: ``text``, ``int``, ``number``, ``bool``, ``null``."""

    types: tuple[str, ...]
    choices: tuple[str, ...] = ()  # for text: the values allowed


@dataclass(frozen=True)
class Obj:
    """An object with these fields (``optional``: may be absent); others are ignored."""

    fields: Mapping[str, Shape]
    optional: frozenset[str] = frozenset()
    nullable: bool = False


@dataclass(frozen=True)
class ListOf:
    item: Shape
    nullable: bool = False


@dataclass(frozen=True)
class MapOf:
    """An object whose keys are names and whose values are all of one shape."""

    value: Shape
    nullable: bool = False


@dataclass(frozen=True)
class AnyValue:
    note: str = field(default="")


Shape = Kind | Obj | ListOf | MapOf | AnyValue

TEXT = Kind(("text",))
INT = Kind(("int",))
NUMBER = Kind(("number",))
BOOL = Kind(("bool",))
OPT_TEXT = Kind(("text", "null"))
OPT_INT = Kind(("int", "null"))
OPT_BOOL = Kind(("bool", "null"))
TOKENS = MapOf(TEXT)
ACTIONS = (
    "trigger",
    "retrigger",
    "unchanged",
    "filtered",
    "invalid",
    "unknown",
    "changed",
    "schedule",
    "reschedule",
    "orphaned",
)

LEAD = Obj(
    {
        "action": Kind(("text",), ACTIONS),
        "key": TEXT,
        "lead": TEXT,
        "lead_id": OPT_INT,
        "email": OPT_TEXT,
        "source": TEXT,
        "row": INT,
        "fields": MapOf(Kind(("text", "null"))),
        "old_tokens": TOKENS,
        "retry_of": OPT_TEXT,
        "campaign": TEXT,
    },
    optional=frozenset({"fields", "old_tokens", "retry_of", "campaign"}),
)
CALL = Obj({"tokens": TOKENS, "leads": ListOf(LEAD)})
BATCH_RUN = Obj(
    {
        "key": TEXT,
        "action": Kind(("text",), ACTIONS),
        "run_at": TEXT,
        "tokens": MapOf(Kind(("text", "null")), nullable=True),
        "clone_to_program": OPT_TEXT,
        "row": OPT_INT,
        "old": MapOf(Kind(("text", "null")), nullable=True),
        "retry_of": OPT_TEXT,
        "note": OPT_TEXT,
    },
    optional=frozenset({"tokens", "clone_to_program", "row", "old", "retry_of", "note"}),
)
ORPHAN = Obj(
    {
        "key": TEXT,
        "run_at": OPT_TEXT,
        "tokens": MapOf(Kind(("text", "null")), nullable=True),
        "clone_to_program": OPT_TEXT,
        "scheduled_at": OPT_TEXT,
        "request_id": OPT_TEXT,
    },
    optional=frozenset({"run_at", "tokens", "clone_to_program", "scheduled_at", "request_id"}),
)
EVIDENCE = Obj(
    {
        "kind": Kind(("text",), ("base_branch", "previous_config", "environment")),
        "ledger": TEXT,
        "ref": OPT_TEXT,
        "path": OPT_TEXT,
        "environment": OPT_TEXT,
        "sends": OPT_INT,
        "in_use": OPT_BOOL,
        "unread": OPT_TEXT,
    },
    optional=frozenset({"ref", "path", "environment", "sends", "in_use", "unread"}),
)
CAMPAIGN = Obj(
    {
        "name": TEXT,
        "campaign_id": INT,
        "source": TEXT,
        "counts": MapOf(INT),
        "lookup_emails": INT,
        "lookup_calls": INT,
        "one_lead_per_call": BOOL,
        "missing_forecast": INT,
        "field_leads": INT,
        "per_lead_token": OPT_TEXT,
        "fields_written": ListOf(
            Obj(
                {
                    "field": TEXT,
                    "leads": INT,
                    "created_only": BOOL,
                    "protected": Obj(
                        {"category": OPT_TEXT, "reason": OPT_TEXT, "grant_consent": BOOL},
                        optional=frozenset({"category", "reason", "grant_consent"}),
                        nullable=True,
                    ),
                },
                optional=frozenset({"created_only", "protected"}),
            )
        ),
        "calls": ListOf(CALL),
        "unknown": ListOf(AnyValue()),
        "changed": ListOf(
            Obj(
                {
                    "key": TEXT,
                    "lead": TEXT,
                    "source": TEXT,
                    "row": INT,
                    "old_tokens": TOKENS,
                    "tokens": TOKENS,
                }
            )
        ),
        "invalid": ListOf(Obj({"source": TEXT, "row": INT, "key": OPT_TEXT, "reason": TEXT})),
        # Issue 22: rows deferred to the next run, as plan.file reads them back
        "deferred": ListOf(
            Obj(
                {
                    "key": TEXT,
                    "lead": TEXT,
                    "source": TEXT,
                    "row": INT,
                    "tokens": TOKENS,
                    "fields": MapOf(Kind(("text", "null"))),
                    "first": Obj({"campaign": TEXT, "source": TEXT, "row": INT, "key": TEXT}),
                    "differs": ListOf(Obj({"name": TEXT, "first": OPT_TEXT, "this": OPT_TEXT})),
                },
                optional=frozenset({"fields"}),
            )
        ),
    },
    optional=frozenset(
        {
            "missing_forecast",
            "field_leads",
            "per_lead_token",
            "fields_written",
            "changed",
            "deferred",
        }
    ),
)
# Issue 22: what the plan says about its data; of them plan.file reads back the warnings
# of `when` literals no row holds (the others it derives again from the campaigns).
# ``NOTE`` is every note; ``WHEN_NOTE`` what a ``when_matches_no_row`` note has besides.
NOTE = Obj({"kind": TEXT, "campaign": TEXT})
WHEN_NOTE = Obj(
    {
        "comparison": TEXT,
        "column": TEXT,
        "literal": TEXT,
        "values": ListOf(TEXT),
        "more_values": BOOL,
        "nearest": OPT_TEXT,
    },
    optional=frozenset({"more_values", "nearest"}),
)
PLAN = Obj(
    {
        "format_version": INT,
        "config": Obj({"path": TEXT, "digest": TEXT}),
        "ledger": Obj({"fingerprint": TEXT}),
        "retry_unknown": BOOL,
        "now": TEXT,
        "timezone": TEXT,
        "binding": Obj(
            {
                "environment": OPT_TEXT,
                "instance": OPT_TEXT,
                "ledger_id": OPT_TEXT,
                "ledger": OPT_TEXT,
            },
            optional=frozenset({"environment", "instance", "ledger_id", "ledger"}),
            nullable=True,
        ),
        "summary": Obj(
            {
                **{name: INT for name in ACTIONS},
                "trigger_calls": INT,
                "lookup_calls": INT,
                "preflight_calls": INT,
                "field_calls": INT,
                "schedule_calls": INT,
                "missing_forecast": INT,
                "calls_per_window": INT,
                "window_seconds": NUMBER,
                "daily_quota": INT,
            },
            optional=frozenset({*ACTIONS, "field_calls", "schedule_calls", "missing_forecast"}),
        ),
        "environment": OPT_TEXT,
        "new_ledger": Obj(
            {
                "ledger": TEXT,
                "state": Kind(("text",), ("absent", "empty")),
                "evidence": ListOf(EVIDENCE),
                "unset": ListOf(TEXT),
                "unchecked_base": Obj({"ref": TEXT, "from": TEXT}, nullable=True),
            },
            optional=frozenset({"evidence", "unset", "unchecked_base"}),
            nullable=True,
        ),
        "schedules": ListOf(
            Obj(
                {
                    "name": TEXT,
                    "campaign_id": INT,
                    "source": OPT_TEXT,
                    "counts": MapOf(INT),
                    "send": ListOf(BATCH_RUN),
                    "changed": ListOf(BATCH_RUN, nullable=True),
                    "orphaned": ListOf(ORPHAN, nullable=True),
                },
                optional=frozenset({"source", "changed", "orphaned"}),
            )
        ),
        "campaigns": ListOf(CAMPAIGN),
        "notes": ListOf(NOTE),
    },
    optional=frozenset(
        {"now", "timezone", "binding", "environment", "new_ledger", "schedules", "notes"}
    ),
)


def loads(text: str) -> Any:
    """Parse a plan file's text; ``Damaged`` for a number too long to be a count or
    nesting too deep to parse (``json.JSONDecodeError`` for text that is not JSON)."""

    def whole(digits: str) -> int:
        if len(digits.lstrip("-")) > MAX_DIGITS:
            raise Damaged(f"it holds a number of {len(digits.lstrip('-')):,} digits")
        return int(digits)

    def real(digits: str) -> float:
        if len(digits) > 4 * MAX_DIGITS:
            raise Damaged(f"it holds a number written with {len(digits):,} characters")
        return float(digits)

    try:
        return json.loads(text, parse_int=whole, parse_float=real)
    except RecursionError:  # the C parser stops cleanly at Python's recursion limit
        raise Damaged("it nests lists and objects deeper than a plan ever does") from None


def damage(data: Any, shape: Shape = PLAN, path: str = "") -> str | None:
    """The first field of ``data`` that does not have ``shape``, in words; None if none."""
    if isinstance(shape, AnyValue):
        return None
    if data is None and getattr(shape, "nullable", False):
        return None
    if isinstance(shape, Kind):
        return _kind_damage(data, shape, path)
    if isinstance(shape, Obj):
        if not isinstance(data, dict):
            return _wrong(data, "an object", path)
        for name, inner in shape.fields.items():
            where = f"{path}.{name}" if path else name
            if name not in data:
                if name in shape.optional:
                    continue
                return f"{where} is missing"
            found = damage(data[name], inner, where)
            if found:
                return found
        return None
    if isinstance(shape, ListOf):
        if not isinstance(data, list):
            return _wrong(data, "a list", path)
        for n, value in enumerate(data):
            found = damage(value, shape.item, f"{path}[{n}]")
            if found:
                return found
        return None
    if not isinstance(data, dict):
        return _wrong(data, "an object", path)
    for name, value in data.items():
        found = damage(value, shape.value, f"{path}.{name}" if path else name)
        if found:
            return found
    return None


_WORDS = {"text": "text", "int": "a whole number", "number": "a number", "bool": "true or false"}


def _kind_damage(value: Any, kind: Kind, path: str) -> str | None:
    if _is(value, kind.types):
        if kind.choices and isinstance(value, str) and value not in kind.choices:
            return f"{path} is {_show(value)}, not one of {', '.join(kind.choices)}"
        return None
    wanted = " or ".join(_WORDS.get(t, t) for t in kind.types)
    return _wrong(value, wanted, path)


def _is(value: Any, types: tuple[str, ...]) -> bool:
    if value is None:
        return "null" in types
    if isinstance(value, bool):
        return "bool" in types
    if isinstance(value, int):
        return "int" in types or "number" in types
    if isinstance(value, float):
        return "number" in types
    if isinstance(value, str):
        return "text" in types
    return False


def _wrong(value: Any, wanted: str, path: str) -> str:
    return f"{path or 'the file'} is {_described(value)}, not {wanted}"


def _described(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"the text {_show(value)}"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _show(text: str) -> str:
    from mktsync.errors import one_line

    shown = one_line(repr(text))
    return shown if len(shown) <= 40 else shown[:36] + "...'"
