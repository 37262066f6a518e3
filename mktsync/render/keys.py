"""Duplicate keys: which earlier row of a campaign already used a row's key.

``iter_items`` asks a ``KeyCheck`` once per rendered item: ``check(key, row)`` answers
the first row that used ``key``, or None.  The first row wins; a later row with the same
key is an invalid item.

- ``FirstRows`` (the default) remembers a 16-byte digest and the first row of every key:
  exact, about 160 bytes per distinct key.
- ``plan`` passes a ``spill.KeyLog`` instead, which stays flat in memory on a million
  rows: exact while small, then it logs each key's ``hash()`` and answers None, and
  names afterwards the hashes that repeat.  The rows are then rendered again with
  ``SuspectKeys`` of those hashes, exact for those keys alone.
"""

from __future__ import annotations

from collections.abc import Set
from hashlib import blake2b
from typing import Protocol


class KeyCheck(Protocol):
    def __call__(self, key: str, row: int) -> int | None: ...


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

    def __call__(self, key: str, row: int) -> int | None:
        first = self._seen.setdefault(_digest(key), row)
        return None if first == row else first


class SuspectKeys:
    """Exact for the keys whose ``hash()`` is in ``suspects``; every other key is new."""

    def __init__(self, suspects: Set[int]) -> None:
        self._suspects = suspects
        self._seen: dict[bytes, int] = {}

    def __call__(self, key: str, row: int) -> int | None:
        if hash(key) not in self._suspects:
            return None
        first = self._seen.setdefault(_digest(key), row)
        return None if first == row else first
