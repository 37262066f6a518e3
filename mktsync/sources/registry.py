"""The registry of source kinds: ``type:`` -> the module that reads it (``SOURCES``).

A test keeps the schema's ``type`` enum equal to this dict's keys (STYLE.md, practice 6).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from mktsync.config.model import SourceSpec
from mktsync.errors import SourceError
from mktsync.sources import csv_, inline, json_, jsonl, sql


class Source(Protocol):
    """What every source kind provides (a module satisfies it)."""

    def iter_rows(self, spec: SourceSpec) -> Iterator[tuple[int, dict[str, Any]]]: ...

    def columns(self, spec: SourceSpec) -> tuple[str, ...] | None:
        """The columns every row has, known without reading the rows; None when unknown."""


SOURCES: dict[str, Source] = {
    "csv": csv_,
    "json": json_,
    "jsonl": jsonl,
    "inline": inline,
    "sql": sql,
}


def iter_rows(spec: SourceSpec) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows of ``spec``, from the module registered for ``spec.type``."""
    try:
        kind = SOURCES[spec.type]
    except KeyError:
        known = ", ".join(sorted(SOURCES))
        raise SourceError(
            spec.name, "", f"unknown source type '{spec.type}' (known: {known})"
        ) from None
    return kind.iter_rows(spec)
