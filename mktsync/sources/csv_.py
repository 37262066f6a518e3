"""``type: csv`` — a header row, then one record per row; quoted fields may span lines.

>>> for number, row in iter_rows(spec):     # doctest: +SKIP
...     row["email"]

Options: ``path`` (required), ``delimiter`` (default ``,``), ``quotechar`` (default
``"``), ``encoding`` (default ``utf-8``; a UTF-8 BOM is accepted).  A header that reads
as one column holding ``;``, a tab or ``|`` is refused with the ``delimiter`` to set.  Cells are strings; an empty cell is ``""``.
The row number is the physical line where the record starts (the header is line 1),
so it matches what an editor shows even when a quoted field holds newlines.

A record with more *or fewer* cells than the header is an error, not a guess: a
short record is most often a cut line, and filling it with empty strings would send
e-mails with empty tokens.  Blank lines are skipped.
"""

from __future__ import annotations

import csv
from collections.abc import Generator, Iterator
from typing import Any

from mktsync.config.model import SourceSpec
from mktsync.errors import SourceError
from mktsync.row import Row
from mktsync.sources._files import decode_error, open_text, written_path

# The csv module refuses fields over 128 KiB by default; a long HTML snippet in a cell is
# legitimate.  The limit is process-wide, so raise it once and never lower it.
FIELD_SIZE_LIMIT = 64 * 1024 * 1024
if csv.field_size_limit() < FIELD_SIZE_LIMIT:
    csv.field_size_limit(FIELD_SIZE_LIMIT)

_OTHER_DELIMITERS = (";", "\t", "|", ",")

_MESSAGES = {
    "unexpected end of data": "unterminated quoted field",
}


def columns(spec: SourceSpec) -> tuple[str, ...]:
    """The header's column names, reading nothing past the header line."""
    records = _records(spec)
    try:
        _, header = next(records)
    finally:
        records.close()
    return tuple(header)


def iter_rows(spec: SourceSpec) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, row)`` for each record, streaming the file."""
    header, records = iter_records(spec)
    for number, record in records:
        yield number, Row(zip(header, record))  # noqa: B905 - lengths checked; strict= costs 40%


def iter_records(spec: SourceSpec) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header, and ``(line number, cells)`` for each record, each as long as the header.

    For callers that read cells by position (rendering's fast path) and need no dict per
    row.  The file is opened and the header read now; the records stream.
    """
    records = _records(spec)
    _, header = next(records)
    return header, records


def _records(spec: SourceSpec) -> Generator[tuple[int, list[str]], None, None]:
    """The header as ``(line, header)``, then each record; raises ``SourceError`` at the first fault."""
    delimiter = str(spec.options.get("delimiter", ","))
    quotechar = str(spec.options.get("quotechar", '"'))
    path = written_path(spec)
    with open_text(spec) as f:
        reader = csv.reader(f, delimiter=delimiter, quotechar=quotechar, strict=True)
        start = 1
        try:
            header = next(reader, None)
            while header == []:  # blank lines before the header
                start = reader.line_num + 1
                header = next(reader, None)
            if header is None:
                raise SourceError(spec.name, path, "no header row (the file is empty)")
            _check_header(spec, header, start)
            yield start, header
            width = len(header)
            start = reader.line_num + 1
            for record in reader:
                if len(record) == width:
                    yield start, record
                elif record:
                    raise SourceError(
                        spec.name,
                        f"{path}:{start}",
                        f"{len(record)} cells, but the header has {width} columns",
                    )
                start = reader.line_num + 1
        except csv.Error as exc:
            message = _MESSAGES.get(str(exc), str(exc))
            raise SourceError(spec.name, f"{path}:{start}", message) from None
        except UnicodeDecodeError as exc:
            raise decode_error(spec, exc) from None


def _check_header(spec: SourceSpec, header: list[str], line: int) -> None:
    delimiter = str(spec.options.get("delimiter", ","))
    if len(header) == 1:
        for other in _OTHER_DELIMITERS:
            if other != delimiter and other in header[0]:
                raise SourceError(
                    spec.name,
                    f"{written_path(spec)}:{line}",
                    f"the header is one column, {header[0][:60]!r}: the file looks delimited "
                    f"by {other!r}, not {delimiter!r}; set 'delimiter: {_yaml(other)}' on this source",
                )
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise SourceError(
                spec.name,
                f"{written_path(spec)}:{line}",
                f"column '{name}' appears twice in the header",
            )
        seen.add(name)


def _yaml(delimiter: str) -> str:
    """How to write the delimiter in YAML: a tab needs double quotes and an escape."""
    return '"\\t"' if delimiter == "\t" else f'"{delimiter}"'
