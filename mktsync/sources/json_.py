"""``type: json`` — an array of objects, streamed without loading the file.

>>> for number, row in iter_rows(spec):     # doctest: +SKIP
...     row["email"]

Options: ``path``, ``columns`` (declared: what ``validate`` checks templates against), ``encoding`` (default ``utf-8``) and ``records_path``: a dotted
path (``data.items``) to the array inside nested objects; without it the top level
must be the array.  The row number is the record's 1-based index in the array.

The file is read in 64 KiB chunks and each record decoded with the standard
library's ``raw_decode`` as soon as it is complete, so memory holds about one record
and one chunk.  Keys skipped on the way to ``records_path`` are decoded (and freed)
whole, and nothing after the records array is checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

from mktsync.config.model import SourceSpec
from mktsync.errors import SourceError
from mktsync.row import Row
from mktsync.sources._files import decode_error, open_text, written_path
from mktsync.sources.columns import declared
from mktsync.sources.jsonl import json_limit_message, json_type, lone_surrogate

CHUNK = 64 * 1024
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_raw_decode = json.JSONDecoder().raw_decode
_KINDS = {"{": "an object", "[": "an array", '"': "a string", "t": "a boolean", "f": "a boolean"}


def columns(spec: SourceSpec) -> tuple[str, ...] | None:
    """The declared ``columns:`` (the data is not read to find them), or None."""
    found = declared(spec.options)
    return None if found is None else tuple(found)


def iter_rows(spec: SourceSpec) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(index, record)`` for each object of the records array."""
    records_path = str(spec.options.get("records_path") or "")
    with open_text(spec) as f:
        stream = _Stream(f, spec)
        try:
            for segment_index, segment in enumerate(
                records_path.split(".") if records_path else []
            ):
                _enter(stream, segment, records_path.split(".")[:segment_index])
            yield from _records(stream, records_path)
        except UnicodeDecodeError as exc:
            raise decode_error(spec, exc) from None


class _Stream:
    """A window on the text: ``buf[pos:]`` is what is not consumed yet."""

    def __init__(self, f: TextIO, spec: SourceSpec) -> None:
        self.f = f
        self.spec = spec
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.line_base = 1  # line number of buf[0]
        self.value_start = 0

    def fill(self, want: int = CHUNK) -> bool:
        if self.eof:
            return False
        chunk = self.f.read(max(want, CHUNK))
        if not chunk:
            self.eof = True
            return False
        self.line_base += self.buf.count("\n", 0, self.pos)
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next non-blank character, or "" at the end of the file."""
        while True:
            match = _WHITESPACE.match(self.buf, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def expect(self, allowed: str, what: str) -> str:
        char = self.peek()
        if not char or char not in allowed:
            found = repr(char) if char else "the end of the file"
            raise self.error(self.pos, f"expected {what}, found {found}")
        self.pos += 1
        return char

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                value, end = _raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof or not _maybe_truncated(exc, len(self.buf)):
                    raise self.error(exc.pos, f"invalid JSON: {exc.msg}") from None
                # Read as much again as is pending: a record of any size costs linear time.
                self.fill(len(self.buf) - self.pos)
                continue
            except (ValueError, RecursionError) as exc:  # 5,000-digit numbers, deep nesting
                raise self.error(self.pos, f"invalid JSON: {json_limit_message(exc)}") from None
            if end == len(self.buf) and self.fill():
                continue  # a number at the very end of the chunk may go on in the next one
            self.value_start, self.pos = self.pos, end
            return value

    def line_at(self, index: int) -> int:
        return self.line_base + self.buf.count("\n", 0, index)

    def error(self, index: int, message: str) -> SourceError:
        where = f"{written_path(self.spec)}:{self.line_at(index)}"
        return SourceError(self.spec.name, where, message)


def _maybe_truncated(exc: json.JSONDecodeError, size: int) -> bool:
    """Could more text make this parse?  (Otherwise it is a real syntax error.)"""
    return exc.msg.startswith("Unterminated string") or exc.pos >= size - 8


def _kind_at(stream: _Stream) -> str:
    char = stream.peek()
    if not char:
        return "nothing (the file ends)"
    if char == "n":
        return "null"
    return _KINDS.get(char, "a number")


def _enter(stream: _Stream, segment: str, parents: list[str]) -> None:
    """Move into the value of key ``segment`` of the object at the current position."""
    at = ".".join(parents) or "the top level"
    if stream.peek() != "{":
        raise stream.error(
            stream.pos, f"records_path: expected an object at {at}, found {_kind_at(stream)}"
        )
    stream.pos += 1
    if stream.peek() == "}":
        stream.pos += 1
    else:
        while True:
            if stream.peek() != '"':
                raise stream.error(stream.pos, "invalid JSON: expected a key in double quotes")
            key = stream.value()
            stream.expect(":", "':'")
            if key == segment:
                return
            stream.value()  # a sibling: decoded and dropped
            if stream.expect(",}", "',' or '}'") == "}":
                break
    raise stream.error(stream.pos, f"records_path: no key '{segment}' in {at}")


def _records(stream: _Stream, records_path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    if stream.peek() != "[":
        where = f"at '{records_path}'" if records_path else "at the top level"
        hint = "" if records_path else " (set records_path if the records are inside an object)"
        raise stream.error(
            stream.pos, f"expected an array of objects {where}, found {_kind_at(stream)}{hint}"
        )
    stream.pos += 1
    if stream.peek() == "]":
        stream.pos += 1
    else:
        index = 0
        while True:
            record = stream.value()
            index += 1
            if not isinstance(record, dict):
                raise stream.error(
                    stream.value_start, f"record {index} is {json_type(record)}, expected an object"
                )
            bad = lone_surrogate(stream.buf[stream.value_start : stream.pos], record)
            if bad is not None:
                raise stream.error(stream.value_start, bad)
            yield index, Row(record)
            if stream.expect(",]", "',' or ']'") == "]":
                break
    if not records_path and stream.peek():
        raise stream.error(stream.pos, "unexpected data after the array")
