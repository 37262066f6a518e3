"""Rows grouped on disk: what lets a plan send a million items without holding them.

>>> with Spill() as spill:
...     writer = spill.writer(part=0)
...     for n, code in enumerate(["a", "b", "a"]):
...         writer.add((("{{my.Code}}", code),), (f"key{n}",))
...     writer.finish()
...     [(tokens, [row[OFFSET] for row in rows]) for tokens, rows in spill.chunks(0, size=100)]
[((('{{my.Code}}', 'a'),), ['key0', 'key2']), ((('{{my.Code}}', 'b'),), ['key1'])]

``plan`` groups the items it will send by token set, in order of first appearance, and
cuts each group into calls of at most 100 leads.  Holding every item to do that cost
about 840 bytes per item (1.6 GB at a million rows), so the items go to a private
temporary SQLite database instead (``sqlite3.connect("")``: on disk, in the temp folder,
deleted when closed), in a table whose primary key is (part, group, sequence).  A new
token set takes the next group number, so reading the table in key order gives the
groups in order of first appearance and each group's members in input order: no sort.
Inserts are appends, except into the few groups that keep growing (shared token sets),
whose last page stays in SQLite's cache.

What stays in memory per part is a dict from a token set's ``hash()`` to its group
number: about 100 bytes per distinct token set, freed by ``finish``.  ``hash`` is 64
bits, so two token sets could share a group by chance (about 1 in 10^7 at a million
distinct sets); every row keeps its exact token set, ``finish`` checks that each group
holds one, and on a collision the part is written again keyed by the exact token text
(:class:`Collision` tells the caller to do so).  Nothing here knows what an item is:
``plan`` decides the columns.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any, Self

Tokens = tuple[tuple[str, str], ...]
_BATCH = 2000  # rows per executemany
OFFSET = 3  # rows come back as stored, (group, token set, sequence, c0, c1, ...): c0 is row[3]


class Collision(Exception):
    """Two different token sets got one group: write the part again with ``exact=True``."""


def encode_tokens(tokens: Tokens) -> str:
    """A token set as exact text: names and values joined by NUL.

    Unambiguous for NUL-free text (``n`` tokens give ``2n - 1`` separators); a set with a
    NUL in a name or value is written as its ``repr`` instead, which holds no NUL byte
    (repr escapes it), so the two forms never meet.
    """
    text = "\0".join(chain.from_iterable(tokens))
    if text.count("\0") != 2 * len(tokens) - 1:
        return repr(tokens)
    return text


def decode_tokens(text: str) -> Tokens:
    if "\0" not in text:
        if not text:
            return ()
        if text.startswith("("):  # the repr form (see encode_tokens)
            import ast

            return tuple((str(n), str(v)) for n, v in ast.literal_eval(text))
        raise ValueError(f"damaged token set in the plan spill: {text[:40]!r}")
    parts = text.split("\0")
    return tuple(zip(parts[0::2], parts[1::2], strict=True))


class Spill:
    """A private temporary SQLite database of grouped rows; see the module docstring."""

    def __init__(self, columns: int = 1) -> None:
        self.columns = columns  # values per row besides its token set (``plan`` decides)
        # "" is SQLite's private temporary database: a file in the temp folder, removed
        # when the connection closes (or the process dies: it is unlinked at once).
        self._conn = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode = OFF",  # a spill outlives nothing: no rollback journal
            "synchronous = OFF",
            "cache_size = -16384",  # 16 MB of page cache, whatever the size of the plan
            "temp_store = FILE",
        ):
            self._conn.execute(f"PRAGMA {pragma}")
        marks = ", ".join(f"c{i}" for i in range(columns))
        self._conn.execute(
            f"CREATE TABLE spill (part INTEGER NOT NULL, grp INTEGER NOT NULL,"
            f" seq INTEGER NOT NULL, tokens TEXT NOT NULL, {marks},"
            f" PRIMARY KEY (part, grp, seq)) WITHOUT ROWID"
        )
        self._mutex = threading.Lock()  # apply's worker threads may read while one writes
        self._seq = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._mutex:
            self._conn.close()

    def writer(self, part: int, *, exact: bool = False) -> GroupWriter:
        """A writer for one part (rows of an earlier writer of the same part are dropped)."""
        with self._mutex:
            self._conn.execute("DELETE FROM spill WHERE part = ?", (part,))
        return GroupWriter(self, part, exact=exact)

    def chunks(
        self, part: int, size: int, *, owner: tuple[int, Any] | None = None
    ) -> Iterator[tuple[Tokens, list[tuple[Any, ...]]]]:
        """``part``'s rows cut into chunks of at most ``size`` rows of one token set: each
        group in order of first appearance, its rows in the order they were added.  Read
        a page at a time, so memory stays flat.  Each row comes back as stored (no copy):
        column ``n`` of what was added is ``row[OFFSET + n]``.

        ``owner=(column, value)`` keeps only the groups whose first row has that value in
        that column (``plan``: the campaign entry a shared call is listed under).
        """
        group: int | None = None
        tokens: Tokens = ()
        chunk: list[tuple[Any, ...]] = []
        keep = True
        for row in self._scan(part):
            if row[0] != group:
                if chunk:
                    yield tokens, chunk
                group, chunk = row[0], []
                keep = owner is None or row[OFFSET + owner[0]] == owner[1]
                if keep:
                    tokens = decode_tokens(row[1])
            if not keep:
                continue
            if len(chunk) == size:
                yield tokens, chunk
                chunk = []
            chunk.append(row)
        if chunk:
            yield tokens, chunk

    def chunk_counts(self, part: int, size: int, *, owner: int) -> dict[Any, int]:
        """How many chunks ``chunks(part, size, owner=(owner, value))`` gives, per value:
        counted in the database, so a million groups cost no memory here."""
        with self._mutex:
            rows = self._conn.execute(
                f"SELECT first, SUM((n + ?) / ?) FROM (SELECT COUNT(*) AS n, MIN(c{owner})"
                " AS first FROM spill WHERE part = ? GROUP BY grp) GROUP BY first",
                (size - 1, size, part),
            ).fetchall()
        return {first: int(n) for first, n in rows}

    def distinct(
        self, index: int, by: int, page: int = 900
    ) -> Iterator[list[tuple[Any, set[int]]]]:
        """The distinct non-null values of column ``index`` over every part, each with the
        values of integer column ``by`` it occurs with, a page at a time (e.g. the emails
        apply must look up, and the campaign entries that send to each)."""
        after: Any = None
        while True:
            where = "" if after is None else f" AND c{index} > ?"
            with self._mutex:
                rows = self._conn.execute(
                    f"SELECT c{index}, GROUP_CONCAT(DISTINCT c{by}) FROM spill"
                    f" WHERE c{index} IS NOT NULL{where} GROUP BY c{index}"
                    f" ORDER BY c{index} LIMIT ?",
                    (page,) if after is None else (after, page),
                ).fetchall()
            if rows:
                yield [(value, {int(p) for p in str(parts).split(",")}) for value, parts in rows]
            if len(rows) < page:
                return
            after = rows[-1][0]

    def distinct_sets(self, index: int, by: int) -> dict[frozenset[int], int]:
        """For the distinct non-null values of column ``index``: how many occur with each
        set of values of integer column ``by`` (e.g. emails per set of campaign entries).
        One sort in the database, however many values (two ``COUNT(DISTINCT)`` cost two)."""
        with self._mutex:
            rows = self._conn.execute(
                f"SELECT seen, COUNT(*) FROM (SELECT GROUP_CONCAT(DISTINCT c{by}) AS seen"
                f" FROM spill WHERE c{index} IS NOT NULL GROUP BY c{index}) GROUP BY seen"
            ).fetchall()
        return {frozenset(int(v) for v in str(seen).split(",")): int(n) for seen, n in rows}

    def count_distinct(self, index: int) -> int:
        """How many distinct non-null values column ``index`` holds over every part."""
        with self._mutex:
            (n,) = self._conn.execute(f"SELECT COUNT(DISTINCT c{index}) FROM spill").fetchone()
        return int(n)

    def index(self, index: int) -> None:
        """Index column ``index`` (before ``distinct``, so each page is a range scan)."""
        with self._mutex:
            self._conn.execute(f"CREATE INDEX IF NOT EXISTS spill_c{index} ON spill (c{index})")

    def _scan(self, part: int, page: int = 5000) -> Iterator[tuple[Any, ...]]:
        cols = ", ".join(f"c{i}" for i in range(self.columns))
        after = (-1, -1)
        while True:
            with self._mutex:
                rows = self._conn.execute(
                    f"SELECT grp, tokens, seq, {cols} FROM spill WHERE part = ?"
                    " AND (grp, seq) > (?, ?) ORDER BY grp, seq LIMIT ?",
                    (part, *after, page),
                ).fetchall()
            yield from rows
            if len(rows) < page:
                return
            after = (rows[-1][0], rows[-1][2])

    def _insert(self, rows: Sequence[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * (self.columns + 4))
        with self._mutex:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(f"INSERT INTO spill VALUES ({marks})", rows)
            finally:
                self._conn.execute("COMMIT")

    def _next_seq(self, n: int) -> int:
        start, self._seq = self._seq, self._seq + n
        return start

    def _mixed_groups(self, part: int) -> bool:
        with self._mutex:
            found = self._conn.execute(
                "SELECT 1 FROM spill WHERE part = ? GROUP BY grp"
                " HAVING MIN(tokens) != MAX(tokens) LIMIT 1",
                (part,),
            ).fetchone()
        return found is not None


class GroupWriter:
    """Adds rows to one part of a ``Spill``, numbering token sets as they first appear."""

    def __init__(self, spill: Spill, part: int, *, exact: bool) -> None:
        self._spill = spill
        self._part = part
        self._exact = exact
        self._groups: dict[Any, int] = {}
        self._rows: list[tuple[Any, ...]] = []
        self.count = 0

    def add(self, tokens: Tokens, row: tuple[Any, ...]) -> None:
        self.add_many([(tokens, row)])

    def add_many(self, rows: Sequence[tuple[Tokens, tuple[Any, ...]]]) -> None:
        """Add ``(token set, row)`` pairs, in order (the loop ``plan`` runs per item)."""
        groups, out, part, exact = self._groups, self._rows, self._part, self._exact
        new_group, join, flat = groups.setdefault, "\0".join, chain.from_iterable
        seq = self._spill._next_seq(len(rows))
        for tokens, row in rows:
            text = join(flat(tokens))  # encode_tokens, inlined: this runs once per item
            if text.count("\0") != 2 * len(tokens) - 1:
                text = repr(tokens)
            out.append(
                (part, new_group(text if exact else hash(tokens), len(groups)), seq, text, *row)
            )
            seq += 1
        self.count += len(rows)
        if len(out) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if self._rows:
            self._spill._insert(self._rows)
            self._rows = []

    @property
    def groups(self) -> int:
        return len(self._groups)

    def finish(self) -> None:
        """Write what is buffered, free the group map, and check every group holds one
        token set (``Collision`` if not: write the part again with ``exact=True``)."""
        self.flush()
        self._groups = {}
        if not self._exact and self._spill._mixed_groups(self._part):
            raise Collision(self._part)
