"""A source's declared ``columns:``: each column's type, and converting a row to those types.

>>> columns = declared({"columns": {"days_left": "integer", "email": {"type": "email"}}})
>>> convert(Row(days_left=" 3 ", email="ada@example.com"), columns)
{'days_left': 3, 'email': 'ada@example.com'}
>>> from mktsync.errors import shown_personal
>>> reason = convert(Row(days_left="three", email="Ada Lovelace"), columns)
>>> shown_personal(reason, show_pii=True)
"column 'days_left': 'three' is not an integer; column 'email': 'Ada Lovelace' is not an email address"
>>> shown_personal(reason, show_pii=False)
"column 'days_left': 'three' is not an integer; column 'email': 'A***' is not an email address"

Types: ``string``, ``integer``, ``number``, ``boolean``, ``date``, ``datetime`` and
``email``.  Text cells (a CSV's) are parsed; values that already have the type (a
JSON number) are kept.  A column is ``required`` unless it says otherwise: missing or
empty, it makes the row invalid; an optional one that is empty becomes ``None``
(``""`` for a string or an email).  Dates become :class:`mktsync.dates.Day`, so ``row.trial_end -
today`` is a whole number of days; a datetime without a zone is taken as UTC.

A failed value is named in the reason with its column and the type expected; a value
of an ``email`` column, or one with an ``@``, is marked personal (``errors.personal``):
reasons travel into plans, logs and pull-request comments, and each display masks it
(``'a***@example.com'``) unless ``--show-pii``, as it masks leads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from mktsync.dates import Day, as_day
from mktsync.errors import personal, quoted
from mktsync.row import Row

TYPES = ("string", "integer", "number", "boolean", "date", "datetime", "email")
# A plausible e-mail address, the one pattern for it: an ``email`` column's values, and a
# lead's rendered ``lead.email`` (``mktsync.render``).
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_INTEGER = re.compile(r"[+-]?\d+")
_TRUE = frozenset({"true", "yes", "1", "y", "t"})
_FALSE = frozenset({"false", "no", "0", "n", "f"})
_ARTICLE = {
    "integer": "an integer",
    "email": "an email address",
    "datetime": "a date and time",
    "string": "text",
}


@dataclass(frozen=True, kw_only=True)
class Column:
    """One declared column: ``type``, ``required`` (default true), ``format`` for dates."""

    name: str
    type: str = "string"
    required: bool = True
    format: str | None = None


def declared(options: Mapping[str, Any]) -> dict[str, Column] | None:
    """The ``columns:`` of a source's options, or None when it declares none."""
    raw = options.get("columns")
    if not isinstance(raw, Mapping):
        return None
    columns = {}
    for name, value in raw.items():
        if isinstance(value, str):
            columns[str(name)] = Column(name=str(name), type=value)
        elif isinstance(value, Mapping):
            columns[str(name)] = Column(
                name=str(name),
                type=str(value.get("type", "string")),
                required=bool(value.get("required", True)),
                format=value.get("format"),
            )
    return columns


def convert(row: Row, columns: Mapping[str, Column]) -> Row | str:
    """The row with declared columns converted, or the reason it is invalid."""
    problems = []
    for name, column in columns.items():
        value = row.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if column.required:
                what = "missing" if name not in row else "empty"
                problems.append(f"column '{name}': {what}, but required ({column.type})")
            else:
                row[name] = "" if column.type in ("string", "email") else None
            continue
        try:
            row[name] = _CONVERTERS[column.type](value, column)
        except (ValueError, TypeError, OverflowError):
            # Marked, not masked: each display masks it unless --show-pii (errors.personal).
            if isinstance(value, str) and (column.type == "email" or "@" in value):
                shown = personal(value)
            else:
                shown = quoted(value)
            expected = _ARTICLE.get(column.type, f"a {column.type}")
            hint = f" ({column.format})" if column.format else _HINTS.get(column.type, "")
            problems.append(f"column '{name}': {shown} is not {expected}{hint}")
    return "; ".join(problems) if problems else row


def _string(value: Any, column: Column) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):  # JSON: str() would send Python's text for it
        raise TypeError(value)
    return str(value)


def _integer(value: Any, column: Column) -> int:
    if isinstance(value, bool):
        raise TypeError(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    raise ValueError(value)


def _number(value: Any, column: Column) -> int | float:
    if isinstance(value, bool):
        raise TypeError(value)
    if isinstance(value, int | float):
        return value
    text = str(value).strip()
    if _INTEGER.fullmatch(text):
        return int(text)
    number = float(text)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(value)
    return number


def _boolean(value: Any, column: Column) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(value)


def _date(value: Any, column: Column) -> Day:
    if isinstance(value, datetime):
        raise ValueError(value)
    if isinstance(value, date):
        return as_day(value)
    text = str(value).strip()
    if column.format:
        return as_day(datetime.strptime(text, column.format).date())
    return as_day(date.fromisoformat(text))


def _datetime(value: Any, column: Column) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if column.format:
            parsed = datetime.strptime(text, column.format)
        else:
            parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _email(value: Any, column: Column) -> str:
    text = str(value).strip()
    if not EMAIL.fullmatch(text):
        raise ValueError(value)
    return text


_CONVERTERS: dict[str, Callable[[Any, Column], Any]] = {
    "string": _string,
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "email": _email,
}
_HINTS = {
    "date": " (expected YYYY-MM-DD)",
    "datetime": " (expected ISO 8601, e.g. 2026-12-01T09:00:00Z)",
    "boolean": " (expected true/false, yes/no or 1/0)",
}
