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
deleted when closed), in a table whose primary key is (part, group, sequence); each
group's token set is stored once, in ``groups``.  A new token set takes the next group
number, so reading the table in key order gives the groups in order of first appearance
and each group's members in input order: no sort.

What stays in memory is bounded, whatever the number of rows (issue 16: flat in N):

- ``GroupWriter`` numbers token sets with an exact dict keyed by the token set itself,
  of at most ``GROUPS_HELD`` sets.  When it fills, the sets seen only once are dropped
  (per-lead token sets never come back; shared ones are kept).  A dropped set that does
  come back gets a new number; ``finish`` finds such split groups in the database (each
  group keeps its set's ``hash()`` and exact text) and joins each to its first number,
  so the result is exactly that of an unbounded dict.  A plan whose parts hold fewer sets
  than that never drops one and never runs the check.
Nothing here knows what an item is: ``plan`` decides the columns.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from itertools import chain
from typing import Any, Self

from mktsync.errors import disk_full, no_temp_space

Tokens = tuple[tuple[str, str], ...]
_BATCH = 2000  # rows per executemany
OFFSET = 3  # rows come back as (group, token set, sequence, c0, c1, ...): c0 is row[3]
GROUPS_HELD = 1 << 15  # token sets a GroupWriter numbers in memory (module doc)


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
        # A plan's spill lives as long as its calls are read (the plan, a report): closed
        # when it is collected, explicitly (Python 3.13 warns of a connection left open).
        weakref.finalize(self, self._conn.close)
        for pragma in (
            "page_size = 16384",  # rows of a few hundred bytes: fewer, larger pages
            "journal_mode = OFF",  # a spill outlives nothing: no rollback journal
            "synchronous = OFF",
            "cache_size = -16384",  # 16 MB of page cache, whatever the size of the plan
            "temp_store = FILE",
        ):
            self._conn.execute(f"PRAGMA {pragma}")
        marks = ", ".join(f"c{i}" for i in range(columns))
        self._conn.execute(
            f"CREATE TABLE spill (part INTEGER NOT NULL, grp INTEGER NOT NULL,"
            f" seq INTEGER NOT NULL, {marks}, PRIMARY KEY (part, grp, seq)) WITHOUT ROWID"
        )
        self._conn.execute(
            "CREATE TABLE groups (part INTEGER NOT NULL, grp INTEGER NOT NULL,"
            " th INTEGER NOT NULL, tokens TEXT NOT NULL, PRIMARY KEY (part, grp)) WITHOUT ROWID"
        )
        self._conn.execute(
            "CREATE TABLE records (list INTEGER NOT NULL, seq INTEGER NOT NULL,"
            " data TEXT NOT NULL, PRIMARY KEY (list, seq)) WITHOUT ROWID"
        )
        self._lists = 0
        self._mutex = threading.Lock()  # apply's worker threads may read while one writes
        self._seq = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._mutex:
            self._conn.close()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The spill's lock, held for one use of the database; a full temp folder is the
        user's problem to solve, said in plain words (not an internal error)."""
        with self._mutex:
            try:
                yield
            except sqlite3.OperationalError as exc:
                if disk_full(exc):
                    raise no_temp_space(
                        "the plan keeps its items to send there, about 370 bytes each"
                    ) from None
                raise

    def writer(self, part: int) -> GroupWriter:
        """A writer for one part (rows of an earlier writer of the same part are dropped)."""
        with self._locked():
            self._conn.execute("DELETE FROM spill WHERE part = ?", (part,))
            self._conn.execute("DELETE FROM groups WHERE part = ?", (part,))
        return GroupWriter(self, part)

    def appender(self) -> Appender:
        """A new list of text records, appended in order and read back by position."""
        self._lists += 1
        return Appender(self, self._lists)

    def records(self, list_id: int, start: int, stop: int) -> list[str]:
        """Records ``start`` to ``stop - 1`` of an ``Appender``'s list."""
        with self._locked():
            rows = self._conn.execute(
                "SELECT data FROM records WHERE list = ? AND seq >= ? AND seq < ? ORDER BY seq",
                (list_id, start, stop),
            ).fetchall()
        return [data for (data,) in rows]

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
        with self._locked():
            rows = self._conn.execute(
                f"SELECT first, SUM((n + ?) / ?) FROM (SELECT COUNT(*) AS n, MIN(c{owner})"
                " AS first FROM spill WHERE part = ? GROUP BY grp) GROUP BY first",
                (size - 1, size, part),
            ).fetchall()
        return {first: int(n) for first, n in rows}

    def distinct(
        self, index: int, by: int, page: int = 900
    ) -> Iterator[list[tuple[Any, dict[int, int]]]]:
        """The distinct non-null values of column ``index`` over every part, each with the
        values of integer column ``by`` it occurs with and in how many rows, a page at a
        time (e.g. the emails apply must look up, and the campaign entries that send to
        each, with their items to each)."""
        after: Any = None
        while True:
            where = "" if after is None else f" AND c{index} > ?"
            with self._locked():
                rows = self._conn.execute(
                    f"SELECT c{index}, GROUP_CONCAT(c{by}) FROM spill"
                    f" WHERE c{index} IS NOT NULL{where} GROUP BY c{index}"
                    f" ORDER BY c{index} LIMIT ?",
                    (page,) if after is None else (after, page),
                ).fetchall()
            if rows:
                yield [(value, _tally(str(parts))) for value, parts in rows]
            if len(rows) < page:
                return
            after = rows[-1][0]

    def distinct_sets(self, index: int, by: int) -> dict[frozenset[int], int]:
        """For the distinct non-null values of column ``index``: how many occur with each
        set of values of integer column ``by`` (e.g. emails per set of campaign entries).
        One sort in the database, however many values (two ``COUNT(DISTINCT)`` cost two)."""
        with self._locked():
            rows = self._conn.execute(
                f"SELECT seen, COUNT(*) FROM (SELECT GROUP_CONCAT(DISTINCT c{by}) AS seen"
                f" FROM spill WHERE c{index} IS NOT NULL GROUP BY c{index}) GROUP BY seen"
            ).fetchall()
        return {frozenset(int(v) for v in str(seen).split(",")): int(n) for seen, n in rows}

    def repeated(
        self, index: int, *, among: tuple[int, Sequence[int]], page: int = 900
    ) -> Iterator[list[Any]]:
        """The non-null values of column ``index`` that more than one row holds, a page at a
        time, counting only the rows whose column ``among[0]`` is one of ``among[1]`` (e.g.
        the leads two items of entries writing lead fields go to).  ``index`` it first."""
        column, values = among
        marks = ", ".join("?" * len(values))
        after: Any = None
        while True:
            where = "" if after is None else f" AND c{index} > ?"
            with self._locked():
                rows = self._conn.execute(
                    f"SELECT c{index} FROM spill WHERE c{index} IS NOT NULL{where}"
                    f" AND c{column} IN ({marks}) GROUP BY c{index} HAVING COUNT(*) > 1"
                    f" ORDER BY c{index} LIMIT ?",
                    (*(() if after is None else (after,)), *values, page),
                ).fetchall()
            if rows:
                yield [value for (value,) in rows]
            if len(rows) < page:
                return
            after = rows[-1][0]

    def rows_with(self, index: int, values: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Every row whose column ``index`` is one of ``values`` (at most 900), as
        ``(part, group, token set, sequence, c0, c1, ...)``, by value, then as added."""
        marks = ", ".join("?" * len(values))
        cols = ", ".join(f"s.c{i}" for i in range(self.columns))
        with self._locked():
            rows = self._conn.execute(
                f"SELECT s.part, s.grp, g.tokens, s.seq, {cols} FROM spill s JOIN groups g"
                f" ON g.part = s.part AND g.grp = s.grp WHERE s.c{index} IN ({marks})"
                f" ORDER BY s.c{index}, s.seq",
                tuple(values),
            ).fetchall()
        return [
            (part, grp, decode_tokens(tokens), seq, *rest) for part, grp, tokens, seq, *rest in rows
        ]

    def remove(self, rows: Sequence[tuple[int, int, int]]) -> None:
        """Remove rows by ``(part, group, sequence)`` (their groups stay, maybe empty:
        ``chunks`` and ``chunk_counts`` read rows, so an empty group is no call)."""
        with self._locked(), self._transaction():
            self._conn.executemany(
                "DELETE FROM spill WHERE part = ? AND grp = ? AND seq = ?", list(rows)
            )

    def count_distinct(self, index: int) -> int:
        """How many distinct non-null values column ``index`` holds over every part."""
        with self._locked():
            (n,) = self._conn.execute(f"SELECT COUNT(DISTINCT c{index}) FROM spill").fetchone()
        return int(n)

    def index(self, index: int) -> None:
        """Index column ``index`` (before ``distinct``, so each page is a range scan)."""
        with self._locked():
            self._conn.execute(f"CREATE INDEX IF NOT EXISTS spill_c{index} ON spill (c{index})")

    def _scan(self, part: int, page: int = 5000) -> Iterator[tuple[Any, ...]]:
        cols = ", ".join(f"c{i}" for i in range(self.columns))
        after = (-1, -1)
        while True:
            with self._locked():
                rows = self._conn.execute(
                    f"SELECT s.grp, g.tokens, s.seq, {cols} FROM spill s JOIN groups g"
                    " ON g.part = s.part AND g.grp = s.grp WHERE s.part = ?"
                    " AND (s.grp, s.seq) > (?, ?) ORDER BY s.grp, s.seq LIMIT ?",
                    (part, *after, page),
                ).fetchall()
            yield from rows
            if len(rows) < page:
                return
            after = (rows[-1][0], rows[-1][2])

    def _insert(
        self, rows: Sequence[tuple[Any, ...]], groups: Sequence[tuple[int, int, int, str]]
    ) -> None:
        marks = ", ".join("?" * (self.columns + 3))
        with self._locked(), self._transaction():
            self._conn.executemany("INSERT INTO groups VALUES (?, ?, ?, ?)", groups)
            self._conn.executemany(f"INSERT INTO spill VALUES ({marks})", rows)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """All or nothing: a failed batch (a full disk) is rolled back, not half kept."""
        self._conn.execute("BEGIN")
        try:
            yield
        except BaseException:
            with suppress(sqlite3.Error):  # the error that stopped the batch is the one to tell
                self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _next_seq(self, n: int) -> int:
        start, self._seq = self._seq, self._seq + n
        return start

    def _join_split_groups(self, part: int) -> int:
        """Give each token set of ``part`` split over several groups (a dropped set that
        came back) its first group number; how many groups were joined."""
        with self._locked():
            hashes = [
                h
                for (h,) in self._conn.execute(
                    "SELECT th FROM groups WHERE part = ? GROUP BY th HAVING COUNT(*) > 1",
                    (part,),
                )
            ]
            joined = 0
            for start in range(0, len(hashes), 500):
                some = hashes[start : start + 500]
                groups: dict[str, list[int]] = {}
                for grp, tokens in self._conn.execute(
                    f"SELECT grp, tokens FROM groups WHERE part = ?"
                    f" AND th IN ({', '.join('?' * len(some))}) ORDER BY grp",
                    (part, *some),
                ):
                    groups.setdefault(tokens, []).append(grp)  # the same hash: compare text
                for first, *later in groups.values():
                    if later:
                        marks = ", ".join("?" * len(later))
                        self._conn.execute(
                            f"UPDATE spill SET grp = ? WHERE part = ? AND grp IN ({marks})",
                            (first, part, *later),
                        )
                        self._conn.execute(
                            f"DELETE FROM groups WHERE part = ? AND grp IN ({marks})",
                            (part, *later),
                        )
                        joined += len(later)
            return joined

    def _append(self, rows: Sequence[tuple[int, int, str]]) -> None:
        with self._locked(), self._transaction():
            self._conn.executemany("INSERT INTO records VALUES (?, ?, ?)", rows)

    def _drop_since(self, part: int, seq: int, group: int) -> None:
        with self._locked():
            self._conn.execute("DELETE FROM spill WHERE part = ? AND seq >= ?", (part, seq))
            self._conn.execute("DELETE FROM groups WHERE part = ? AND grp >= ?", (part, group))


def _tally(values: str) -> dict[int, int]:
    """``"0,0,2"`` (a ``GROUP_CONCAT``) -> ``{0: 2, 2: 1}``."""
    out: dict[int, int] = {}
    for value in values.split(","):
        n = int(value)
        out[n] = out.get(n, 0) + 1
    return out


@dataclass(frozen=True, slots=True)
class Mark:
    """Where a ``GroupWriter`` stood (``mark``), to go back to (``rewind``)."""

    seq: int
    next_group: int
    groups: dict[Tokens, int]
    dropped: bool


class GroupWriter:
    """Adds rows to one part of a ``Spill``, numbering token sets as they first appear."""

    def __init__(self, spill: Spill, part: int) -> None:
        self._spill = spill
        self._part = part
        self._groups: dict[Tokens, int] = {}
        self._hit: set[int] = set()  # groups met again since the last drop: kept by _drop
        self._next = 0
        self._dropped = False  # a set was dropped: finish looks for split groups
        self._rows: list[tuple[Any, ...]] = []
        self._new: list[tuple[int, int, int, str]] = []  # groups to write: part, grp, th, text

    def add(self, tokens: Tokens, row: tuple[Any, ...]) -> None:
        self.add_many([(tokens, row)])

    def add_many(self, rows: Sequence[tuple[Tokens, tuple[Any, ...]]]) -> None:
        """Add ``(token set, row)`` pairs, in order (the loop ``plan`` runs per item)."""
        groups, out, new, part = self._groups, self._rows, self._new, self._part
        get, hit = groups.get, self._hit.add
        seq = self._spill._next_seq(len(rows))
        for tokens, row in rows:
            group = get(tokens)
            if group is None:
                group = groups[tokens] = self._next
                self._next += 1
                new.append((part, group, hash(tokens), encode_tokens(tokens)))
            else:
                hit(group)
            out.append((part, group, seq, *row))
            seq += 1
        if len(groups) > GROUPS_HELD:
            self._drop()
        if len(out) >= _BATCH:
            self.flush()

    def _drop(self) -> None:
        """Forget the token sets met once (module doc); all of them if too many repeat."""
        hit = self._hit
        kept = {t: g for t, g in self._groups.items() if g in hit}
        self._groups = kept if len(kept) <= GROUPS_HELD // 2 else {}
        self._hit = set()
        self._dropped = True

    def flush(self) -> None:
        if self._rows or self._new:
            self._spill._insert(self._rows, self._new)
            self._rows, self._new = [], []

    def mark(self) -> Mark:
        """Where this writer stands, to ``rewind`` to (the rows added since are dropped)."""
        self.flush()
        return Mark(self._spill._next_seq(0), self._next, dict(self._groups), self._dropped)

    def rewind(self, mark: Mark) -> None:
        """Drop every row added since ``mark`` and number token sets as from there."""
        self._rows, self._new = [], []
        self._spill._drop_since(self._part, mark.seq, mark.next_group)
        self._next, self._groups, self._dropped = mark.next_group, dict(mark.groups), mark.dropped
        self._hit = set()

    def finish(self) -> None:
        """Write what is buffered, free the group map, and join the groups a dropped token
        set was split into (module doc)."""
        self.flush()
        self._groups, self._hit = {}, set()
        if self._dropped:
            self._spill._join_split_groups(self._part)


class Appender:
    """Appends text records to one list of a ``Spill`` (``Spill.records`` reads them)."""

    def __init__(self, spill: Spill, list_id: int) -> None:
        self._spill = spill
        self.list_id = list_id
        self._rows: list[tuple[int, int, str]] = []
        self.count = 0

    def append(self, data: str) -> None:
        self._rows.append((self.list_id, self.count, data))
        self.count += 1
        if len(self._rows) >= _BATCH:
            self.flush()

    def flush(self) -> None:
        if self._rows:
            self._spill._append(self._rows)
            self._rows = []
