"""Where rows come from: one module per ``type:`` of source, behind one registry.

>>> from mktsync.sources import iter_rows
>>> for number, row in iter_rows(config.sources["registrations"]):   # doctest: +SKIP
...     print(number, row["email"])

Each kind is a module with ``iter_rows(spec) -> Iterator[(row_number, row)]`` and
``columns(spec)``, the column names when they are known without reading the rows
(the :class:`Source` protocol); each row is a :class:`Row`, a plain dict.  Rows
stream: no kind holds the whole source in memory.  A source that cannot be read raises ``SourceError`` naming the file and
line as written in the config; the row number is what messages about that row show
(a line of the file, a YAML line, or a 1-based index — each module says which).

Every kind accepts ``columns:`` (``mktsync.sources.columns``): declared names and types.
Sources yield values as read; ``render`` converts them to the declared types, so a
value that does not convert becomes an invalid item rather than a stopped run.
"""

from __future__ import annotations

from mktsync.row import Row
from mktsync.sources.registry import SOURCES, Source, iter_rows

__all__ = ["SOURCES", "Row", "Source", "iter_rows"]
