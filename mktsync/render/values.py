"""What rows hold in the columns a ``when`` compares with literals (issue 22).

>>> from mktsync.row import Row
>>> watch = WhenValues.of("reminder", "row.status == 'Registered'", header=None)
>>> for row in [Row(status="registered"), Row(status="cancelled"), Row(status="registered")]:
...     _ = watch.see(row)
>>> [(m.comparison, m.values, m.nearest) for m in watch.misses()]
[("row.status == 'Registered'", ('registered', 'cancelled'), "'registered'")]

``when: row.status == 'Registered'`` on data that says ``registered`` filters every row,
and the plan would only say "No changes: nothing to trigger".  While rendering, a
``WhenValues`` looks at each column a ``when`` compares with literals (``==``, ``!=``,
``in``, ``not in``: ``config.reads.comparisons``), row by row: does any row hold each
literal, and which values does the column hold instead.  After the stream, ``misses``
names each literal no row held, with the column's values, most frequent first, and the
nearest of them ("did you mean 'registered'?").

- ``==`` and ``in`` with a literal no row holds are false for every row: always a miss.
  ``!=`` and ``not in`` are then true for every row, which a defensive ``row.email != ''``
  means to be; they are a miss only when a value is near the literal (a typo:
  ``row.status != 'Cancelled'`` keeps the cancelled registrations in).
- Bounded: per compared column its literals, and at most ``KEPT`` distinct values with
  their counts; past that the column's other values are only counted as "more".  Once
  every literal of a column was met, the column is no longer looked at: in the common
  case the watch costs a few rows.
- A column no row holds (a JSON row without the key) is not judged; neither is a source
  without rows.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mktsync.config.compiled import compiled
from mktsync.config.reads import Comparison, as_condition, comparisons

KEPT = 50  # distinct values kept per compared column (what the warning can show)
_ABSENT = object()


@dataclass(frozen=True, kw_only=True)
class WhenMiss:
    """A literal of a ``when`` that no row of the source holds.

    ``values`` are the column's values as shown (``shown``), most frequent first, at most
    ``KEPT``; ``more`` says the column holds other values besides (not kept).
    ``literal`` and ``nearest`` are written as in a template (``'registered'``)."""

    campaign: str
    comparison: str  # "row.status == 'Registered'"
    column: str
    literal: str
    values: tuple[str, ...]
    more: bool = False
    nearest: str | None = None


def shown(value: Any) -> str:
    """A value as a warning lists it: text as it is, unless empty, padded or holding a
    separator (then quoted); other values as Jinja writes them (``none``, ``true``)."""
    if isinstance(value, str):
        plain = value and value == value.strip() and not any(c in value for c in ",;'\"")
        return value if plain else repr(value)
    if value is None or isinstance(value, bool):
        return str(value).lower()
    return str(value)


class _Column:
    """One compared column: its literals still to meet, and the values seen meanwhile."""

    def __init__(self, name: str, position: int | None) -> None:
        self.name = name
        self.position = position
        self.literals: dict[Any, bool] = {}  # literal -> met by some row
        self.counts: dict[Any, int] = {}  # value -> rows (at most KEPT values)
        self.more = False
        self.rows = 0

    def see(self, value: Any) -> bool:
        """Look at one row's value; True once every literal has been met."""
        self.rows += 1
        try:
            if value in self.literals:
                self.literals[value] = True
                if all(self.literals.values()):
                    return True
            counts = self.counts
            if value in counts:
                counts[value] += 1
            elif len(counts) < KEPT:
                counts[value] = 1
            else:
                self.more = True
        except TypeError:  # an unhashable value (a JSON list or object) equals no literal
            self.more = True
        return False


class WhenValues:
    """The watch of one campaign's ``when`` over its rows (see the module docstring)."""

    def __init__(self, campaign: str, found: Sequence[Comparison], header: Sequence[str] | None):
        self.campaign = campaign
        self._comparisons = list(found)
        self._columns: dict[str, _Column] = {}
        for c in self._comparisons:
            position = None
            if header is not None:
                if c.column not in header:
                    continue  # every row is invalid for that: nothing to judge
                position = list(header).index(c.column)
            column = self._columns.setdefault(c.column, _Column(c.column, position))
            for literal in c.literals:
                try:
                    column.literals.setdefault(literal, False)
                except TypeError:
                    continue
        self._open = [c for c in self._columns.values() if c.literals]

    @classmethod
    def of(cls, campaign: str, when: str | None, header: Sequence[str] | None) -> WhenValues | None:
        """The watch of ``when`` (the text as written), or None when it compares no column
        with a literal: then there is nothing to look at."""
        if when is None:
            return None
        entry = compiled(as_condition(when))
        if entry.tree is None:
            return None
        found = comparisons(entry.tree)
        watch = cls(campaign, found, header)
        return watch if watch._open else None

    def see(self, data: Any) -> bool:
        """Look at one row (a ``Row``, or a CSV record's cells by position); True once there
        is nothing left to look for."""
        still = []
        for column in self._open:
            if column.position is None:
                value = data.get(column.name, _ABSENT)
            else:
                value = data[column.position]
            if value is _ABSENT or not column.see(value):
                still.append(column)
        if len(still) != len(self._open):
            self._open = still
        return not still

    def misses(self) -> list[WhenMiss]:
        """Each literal no row held (see the module docstring for ``!=`` and ``not in``)."""
        out = []
        for c in self._comparisons:
            column = self._columns.get(c.column)
            if column is None or not column.rows:
                continue
            for literal in c.literals:
                try:
                    met = column.literals.get(literal, True)
                except TypeError:
                    met = True
                if met:
                    continue
                nearest = _nearest(literal, column.counts)
                if c.op in ("!=", "not in") and nearest is None:
                    continue  # true for every row, as a defensive check means to be
                ordered = sorted(column.counts.items(), key=lambda kv: -kv[1])
                out.append(
                    WhenMiss(
                        campaign=self.campaign,
                        comparison=c.text,
                        column=c.column,
                        literal=repr(literal),
                        values=tuple(shown(v) for v, _ in ordered),
                        more=column.more,
                        nearest=None if nearest is None else repr(nearest),
                    )
                )
        return out


def _nearest(literal: Any, counts: dict[Any, int]) -> Any | None:
    """The value most like ``literal``: equal but for case, spaces or type (``'3'`` for
    ``3``), else the closest text; None when nothing is close."""
    wanted = str(literal).strip().casefold()
    for value in sorted(counts, key=lambda v: -counts[v]):
        if str(value).strip().casefold() == wanted:
            return value
    if not isinstance(literal, str):
        return None
    texts = {v: v for v in counts if isinstance(v, str)}
    close = difflib.get_close_matches(literal, list(texts), n=1, cutoff=0.6)
    return texts[close[0]] if close else None
