"""``type: inline`` — rows written in ``campaigns.yaml`` itself.

>>> spec.options["rows"]                       # doctest: +SKIP
[{'email': 'ada@example.com', 'webinar_id': 'wb-101'}]

The row number is the YAML line where the row starts (``spec.positions["rows[i]"]``),
so a bad row points into the config file.  Without a recorded position (records built
in code) it is the 1-based index.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mktsync.config.model import SourceSpec
from mktsync.errors import SourceError
from mktsync.row import Row


def columns(spec: SourceSpec) -> tuple[str, ...]:
    """Every key any written row has, in first-seen order."""
    seen: dict[str, None] = {}
    for row in spec.options.get("rows") or ():
        if isinstance(row, Mapping):
            seen.update(dict.fromkeys(str(k) for k in row))
    return tuple(seen)


def iter_rows(spec: SourceSpec) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(YAML line, row)`` for each written row."""
    for index, row in enumerate(spec.options.get("rows") or ()):
        position = spec.positions.get(f"rows[{index}]")
        if not isinstance(row, Mapping):
            where = str(position) if position else f"rows[{index}]"
            raise SourceError(spec.name, where, "each inline row must be a mapping")
        yield (position.line if position else index + 1), Row(row)
