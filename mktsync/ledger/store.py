"""The narrow storage interface the ledger runs on: SQLite (``sqlite``) and PostgreSQL
(``postgres``).

The ledger's SQL is written above the stores: the writes in ``core`` (``Ledger``), the
reads in ``reader``, and a few statements beside them (``sent``, ``instance``, ``elsewhere``);
``schema`` holds the tables.  A ``Store`` only opens transactions on its database, holds
the run lock, checks its own file and closes.  The SQL is written once for both
backends, with ``?`` placeholders, in the subset SQLite and PostgreSQL share
(``ON CONFLICT``, row values, ``||``, ``RETURNING``); what differs is written per backend
and said so: the table definitions (each ``schema.Migration`` has a statement list per
dialect) and each store's own statements (its lock, its pragmas).  A store translates
placeholders if its driver wants another style, so the SQL holds no other ``?`` (nor
``%``).  A new backend is a new ``Store`` and a branch in ``open_ledger``; callers of
``open_ledger`` do not change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol

from mktsync.ledger.records import LockHolder

Dialect = Literal["sqlite", "postgresql"]
Row = tuple[Any, ...]


class Tx(Protocol):
    """One open transaction. Errors come out as ``LedgerError`` naming the database."""

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run one statement; return its rows (an empty list for statements without any)."""
        ...

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> int:
        """Run one statement per parameter row; return the number of rows changed."""
        ...

    def stream(self, sql: str, params: Sequence[object] = ()) -> Iterator[Row]:
        """Run one query; yield its rows as they come (a whole table never sits in memory)."""
        ...

    def rowcount(self) -> int:
        """Rows changed by the last ``execute``."""
        ...


class Store(Protocol):
    """Where a ledger lives. Not thread-safe on its own: ``Ledger`` serialises calls."""

    dialect: Dialect
    name: str  # for messages: a file path, or a URL without its password
    read_only: bool
    max_params: int  # how many ``?`` one statement may carry

    def transaction(self) -> AbstractContextManager[Tx]:
        """Commit on normal exit, roll back on an exception."""
        ...

    def acquire_run_lock(self, holder: LockHolder, timeout: float) -> None:
        """Take the exclusive run lock, waiting up to ``timeout`` s; else raise ``LedgerLocked``."""
        ...

    def release_run_lock(self) -> None: ...

    def check_file(self) -> None:
        """Check the database's own structure where the backend can; ``LedgerError`` if damaged."""
        ...

    def close(self) -> None: ...
