"""``type: jsonl`` — one JSON object per line (JSON Lines).

>>> for number, row in iter_rows(spec):     # doctest: +SKIP
...     row["lead_id"]

Options: ``path``, ``columns`` (declared: what ``validate`` checks templates against), ``encoding`` (default ``utf-8``).  The row number is the line
number; blank lines are skipped.  Values keep their JSON types (numbers, booleans,
``null``, nested objects), so ``{{ row.lead_id }}`` renders ``5000``, not ``5000.0``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from mktsync.config.model import SourceSpec
from mktsync.errors import SourceError
from mktsync.row import Row
from mktsync.sources._files import decode_error, open_text, written_path
from mktsync.sources.columns import declared

_decode = json.JSONDecoder().decode


def columns(spec: SourceSpec) -> tuple[str, ...] | None:
    """The declared ``columns:`` (the data is not read to find them), or None."""
    found = declared(spec.options)
    return None if found is None else tuple(found)


def iter_rows(spec: SourceSpec) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` for each non-blank line, streaming the file."""
    path = written_path(spec)
    with open_text(spec) as f:
        try:
            # newline="" also splits at a lone "\r"; JSON strings cannot hold one raw,
            # so only stray separators are affected, and they count as lines as in editors.
            for number, line in enumerate(f, start=1):
                if line.isspace() or not line:
                    continue
                try:
                    row = _decode(line)
                except json.JSONDecodeError as exc:
                    column = min(exc.pos, len(line.rstrip("\r\n"))) + 1  # not past the line's end
                    raise SourceError(
                        spec.name, f"{path}:{number}", f"invalid JSON: {exc.msg} (column {column})"
                    ) from None
                except (ValueError, RecursionError) as exc:  # 5,000-digit numbers, deep nesting
                    raise SourceError(
                        spec.name, f"{path}:{number}", f"invalid JSON: {json_limit_message(exc)}"
                    ) from None
                if not isinstance(row, dict):
                    raise SourceError(
                        spec.name,
                        f"{path}:{number}",
                        f"expected a JSON object, got {json_type(row)}",
                    )
                bad = lone_surrogate(line, row)
                if bad is not None:
                    raise SourceError(spec.name, f"{path}:{number}", bad)
                yield number, Row(row)
        except UnicodeDecodeError as exc:
            raise decode_error(spec, exc) from None


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate(text: str, value: Any) -> str | None:
    """Why a decoded record is not valid Unicode, or None.  JSON may escape half of a
    UTF-16 surrogate pair alone (``"\\ud800"``); Python decodes it to a string no UTF-8
    can hold, which would fail far away (in the plan's spill, in a hash).  Checked only
    when the record's text has such an escape: a substring test per record."""
    if "\\u" not in text or not _SURROGATE_ESCAPE.search(text):
        return None
    for name, found in _strings(value, ""):
        if _SURROGATE.search(found):
            where = f" in {name!r}" if name else ""
            return (
                f"a \\u escape{where} is half of a UTF-16 surrogate pair, not a character:"
                " not valid Unicode (fix the data where it is written)"
            )
    return None


def _strings(value: Any, name: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield name, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, name)
            yield from _strings(item, key if not name else f"{name}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, name)


def json_limit_message(exc: BaseException) -> str:
    """Python's own limits on JSON, in plain words."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return "a number has too many digits (over 4,300)"
