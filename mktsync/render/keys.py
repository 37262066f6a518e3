"""Duplicate keys: which earlier row of a campaign already used a row's key.

``iter_items`` asks a ``KeyCheck`` once per rendered item: ``check(key, row)`` answers
where ``key`` was first used (``"row 12"``), or None.  The first row wins; a later row
with the same key is an invalid item.  The ledger keys items by Marketo campaign id and
key, so ``plan`` checks the entries that send to one campaign id together: a key the
first entry used is taken for the second (``"row 12 of campaign 'first'"``).

- ``FirstRows`` (the default) remembers a 16-byte digest and the first row of every key:
  exact, about 160 bytes per distinct key.
- ``KeyLog`` (what ``plan`` passes) stays flat in memory on a million rows: it is exact
  for the first ``KEYS_HELD`` keys; past that it logs each key's 64-bit ``hash()`` and
  answers None, and ``repeats()`` names afterwards the hashes that occur twice.  The
  rows are then rendered again with ``SuspectKeys`` of those hashes, exact for those
  keys alone (``plan`` does so; a repeated hash is almost always a real duplicate).
  Both keep the count and the sum of the hashes of the keys they met, so that a source
  that changed between the two reads is caught (``KeyLog.same_keys``).

The log is an external hash partition: hashes go to ``PARTITIONS`` arrays by their low
bits, the arrays go to a temporary file whenever they hold ``LOG_HELD`` hashes, and
``repeats`` reads one partition back at a time and counts it with a ``set``.  Memory: at
most ``LOG_HELD`` hashes (8 bytes each) plus one partition's set, about 1/64 of the keys
of one campaign entry (a 10-million-row entry: under 15 MB).
"""

from __future__ import annotations

import tempfile
from array import array
from collections import Counter
from collections.abc import Sequence, Set
from hashlib import blake2b
from typing import IO, Protocol

from mktsync.errors import disk_full, no_temp_space

KEYS_HELD = 1 << 16  # keys a KeyLog checks exactly in memory before it logs them
KEY_TEXT_HELD = 8 << 20  # ... or characters of key text, whichever comes first
PARTITIONS = 64
LOG_HELD = 1 << 19  # hashes in memory before they go to the log's file (4 MB)


class KeyCheck(Protocol):
    def __call__(self, key: str, row: int) -> str | None: ...


def _digest(key: str) -> bytes:
    try:
        data = key.encode()
    except UnicodeEncodeError:  # a lone surrogate, from a JSON "\ud800" escape
        data = key.encode("utf-8", "surrogatepass")
    return blake2b(data, digest_size=16).digest()


class FirstRows:
    """Every key's first row, by digest (exact; memory grows with the distinct keys)."""

    def __init__(self) -> None:
        self._seen: dict[bytes, int] = {}

    def __call__(self, key: str, row: int) -> str | None:
        first = self._seen.setdefault(_digest(key), row)
        return None if first == row else f"row {first}"


class _Entries:
    """The campaign entries that share keys (those of one Marketo campaign id: the ledger
    keys items by campaign id and key), and which one is being rendered (``start``).
    A first row is stored as ``row * len(names) + entry``: one int per key."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names) or ("",)
        self._entry = 0
        self.count = 0  # keys checked, and the sum of their hashes: what two reads of
        self.total = 0  # unchanged sources must agree on (``KeyLog.same_keys``)

    def start(self, entry: int) -> None:
        self._entry = entry

    def _first(self, row: int) -> int:
        return row * len(self.names) + self._entry

    def _where(self, first: int) -> str:
        row, entry = divmod(first, len(self.names))
        if entry == self._entry:
            return f"row {row}"
        return f"row {row} of campaign {self.names[entry]!r}"


class SuspectKeys(_Entries):
    """Exact for the keys whose ``hash()`` is in ``suspects``; every other key is new."""

    def __init__(self, suspects: Set[int], names: Sequence[str] = ()) -> None:
        super().__init__(names)
        self._suspects = suspects
        self._seen: dict[bytes, int] = {}

    def __call__(self, key: str, row: int) -> str | None:
        h = hash(key)
        self.count += 1
        self.total += h
        if h not in self._suspects:
            return None
        first = self._seen.setdefault(_digest(key), self._first(row))
        return None if first == self._first(row) else self._where(first)


class KeyLog(_Entries):
    """Which keys came before: exact in memory while small, then logged (module doc).

    Called as ``log(key, row)``: where ``key`` was first seen (``"row 12"``, or ``"row 12
    of campaign 'other'"`` for another entry of the same campaign id, see ``start``) when
    it was seen before and the log is still exact, else None.  ``repeats()`` after the
    pass: the ``hash()`` of every key that may have come twice and was not already
    answered; empty while exact.
    """

    def __init__(self, names: Sequence[str] = ()) -> None:
        super().__init__(names)
        self._seen: dict[str, int] | None = {}
        self._text = 0
        self._answered: list[int] = []  # hashes of duplicates found while exact
        self._parts = [array("q") for _ in range(PARTITIONS)]
        self._held = 0
        self._file: IO[bytes] | None = None
        self._blocks: list[list[tuple[int, int]]] = [[] for _ in range(PARTITIONS)]

    def __call__(self, key: str, row: int) -> str | None:
        seen = self._seen
        if seen is None:
            h = hash(key)
            self.count += 1
            self.total += h
            self._parts[h & (PARTITIONS - 1)].append(h)
            self._held += 1
            if self._held >= LOG_HELD:
                self._write()
            return None
        first = seen.setdefault(key, self._first(row))
        if first != self._first(row):
            self._answered.append(hash(key))
            return self._where(first)
        self._text += len(key)
        if len(seen) > KEYS_HELD or self._text > KEY_TEXT_HELD:
            for k in seen:
                h = hash(k)
                self._parts[h & (PARTITIONS - 1)].append(h)
            self.count = len(seen) + len(self._answered)
            self.total = sum(map(hash, seen)) + sum(self._answered)
            self._held, self._seen = len(seen), None
        return None

    def same_keys(self, again: SuspectKeys) -> bool:
        """Whether a second read met the keys this log met (count and sum of hashes)."""
        return (self.count, self.total) == (again.count, again.total)

    @property
    def exact(self) -> bool:
        """Every answer so far was exact (no key was logged)."""
        return self._seen is not None

    def repeats(self) -> frozenset[int]:
        """The hashes to check again exactly: empty when every answer was exact."""
        if self._seen is not None:
            return frozenset()
        found: set[int] = set()
        for n, part in enumerate(self._parts):
            hashes = array("q")
            for offset, size in self._blocks[n]:
                assert self._file is not None
                self._file.seek(offset)
                hashes.frombytes(self._file.read(size))
            hashes.extend(part)
            if len(set(hashes)) != len(hashes):  # rare: find which
                found.update(h for h, count in Counter(hashes).items() if count > 1)
        self.close()
        return frozenset(found.union(self._answered)) if found else frozenset()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _write(self) -> None:
        try:
            self._write_parts()
        except OSError as exc:
            if disk_full(exc):
                raise no_temp_space("the plan keeps the hashes of its keys there") from None
            raise

    def _write_parts(self) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="mktsync-keys-")  # noqa: SIM115 - closed by repeats()
        file = self._file
        file.seek(0, 2)
        for n, part in enumerate(self._parts):
            if part:
                self._blocks[n].append((file.tell(), len(part) * part.itemsize))
                part.tofile(file)
        self._parts = [array("q") for _ in range(PARTITIONS)]
        self._held = 0
