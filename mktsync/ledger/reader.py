"""``LedgerReader``: everything the ledger answers without writing (what ``plan`` needs).

``Ledger`` (in ``core``) adds the writes.  One connection serves the apply runner's
worker threads: every call takes ``self._mutex`` for the length of its
transaction, so threads never interleave statements on it.  A module of the ledger
package that asks its own question in SQL does so in ``transaction()``, which takes the
same mutex; no module outside these classes touches their private names (a test checks).
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import Self

from mktsync.errors import LedgerError
from mktsync.ledger.integrity import check_record, lead_checksum
from mktsync.ledger.records import LedgerRecord, RunRecord
from mktsync.ledger.rows import RECORD_COLUMNS, RUN_COLUMNS, TokenDecoder, record, run_record
from mktsync.ledger.store import Store, Tx

_PAGE = 1000  # records per query when iterating
_ITEM_COLUMNS = ", ".join(f"i.{c.strip()}" for c in RECORD_COLUMNS.split(","))


@functools.cache
def _changed_sql(pairs: int) -> str:
    """``changed_records``' statement for ``pairs`` (key, hash) pairs (a few sizes recur)."""
    values = ", ".join(["(?, ?)"] * pairs)
    return (
        f"WITH run (k, h) AS (VALUES {values})"
        f" SELECT run.k, {_ITEM_COLUMNS} FROM run"
        " LEFT JOIN items i ON i.campaign_id = ? AND i.key = run.k"
        " WHERE i.key IS NULL OR i.status <> 'sent' OR i.token_hash <> run.h"
    )


class LedgerReader:
    """The read side of a ledger: ``Ledger`` without its writes.

    >>> reader: LedgerReader = open_ledger(url, base_dir, create=False)
    >>> reader.lookup(1234, ["ann@example.com/w1"])
    {}
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._mutex = threading.RLock()
        self._locked = False

    @property
    def name(self) -> str:
        return self._store.name

    @property
    def read_only(self) -> bool:
        return self._store.read_only

    @property
    def max_params(self) -> int:
        """How many ``?`` one statement may carry (chunk longer ``IN`` lists to this)."""
        return self._store.max_params

    @property
    def in_memory(self) -> bool:
        """An SQLite ledger held in memory: ``sqlite:///:memory:``, or the empty view
        ``open_ledger(create=False)`` gives of a file that does not exist yet."""
        return getattr(self._store, "path", "") is None

    def transaction(self) -> contextlib.AbstractContextManager[Tx]:
        """One read transaction on the ledger's database, for a question these methods do
        not ask (``ledger.instance``, ``ledger.elsewhere``).

        >>> with ledger.transaction() as tx:
        ...     rows = tx.execute("SELECT instance FROM ledger_meta WHERE id = 1")

        It holds the ledger's mutex: worker threads wait, never interleave.  Statements
        use ``?`` placeholders in the SQL SQLite and PostgreSQL share (``store``).  A write
        goes through ``Ledger.transaction(writing=...)``.
        """
        return self._tx()

    def __repr__(self) -> str:
        return f"<Ledger {self._store.name}{' (read-only)' if self.read_only else ''}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._mutex:
            self._locked = False
            self._store.close()

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The latest runs, newest first."""
        with self._tx() as tx:
            rows = tx.execute(
                f"SELECT {RUN_COLUMNS} FROM runs ORDER BY run_id DESC LIMIT ?", (limit,)
            )
        return [run_record(row) for row in rows]

    def run_starts(self, run_ids: Iterable[int]) -> dict[int, str]:
        """When each of these runs started (runs no longer in the table are left out)."""
        ids = sorted(set(run_ids))
        found: dict[int, str] = {}
        with self._tx() as tx:
            for start in range(0, len(ids), self._store.max_params):
                chunk = ids[start : start + self._store.max_params]
                marks = ", ".join("?" * len(chunk))
                for run_id, started in tx.execute(
                    f"SELECT run_id, started_at FROM runs WHERE run_id IN ({marks})", chunk
                ):
                    found[int(run_id)] = str(started)
        return found

    # -- item records -----------------------------------------------------------------------
    def lookup(self, campaign_id: int, keys: Sequence[str]) -> dict[str, LedgerRecord]:
        """The records of ``keys`` (any number) in one campaign; absent keys are left out."""
        found: dict[str, LedgerRecord] = {}
        decode = TokenDecoder(self.name)
        with self._tx() as tx:
            for sql, chunk in self._chunked(
                "SELECT {cols} FROM items WHERE campaign_id = ? AND key IN ({marks})", keys
            ):
                for row in tx.execute(sql, (campaign_id, *chunk)):
                    found[row[1]] = record(row, decode)
        return found

    def has_records(self, campaign_id: int) -> bool:
        """Whether the ledger holds any record of ``campaign_id`` (a first run holds none)."""
        with self._tx() as tx:
            rows = tx.execute("SELECT 1 FROM items WHERE campaign_id = ? LIMIT 1", (campaign_id,))
        return bool(rows)

    def changed_records(
        self, campaign_id: int, pairs: Sequence[tuple[str, str]]
    ) -> dict[str, LedgerRecord | None]:
        """Of ``(key, token hash)`` pairs, those the ledger does not hold as ``sent`` with that
        hash: each such key -> its record, or ``None`` when there is none.

        The comparison is a join in the database (issue 16): the pairs go in as a ``VALUES``
        list and only new, changed, failed, unknown and pending keys come back, so a key
        sent before with the same tokens costs no row and no Python object.  A ``VALUES``
        list rather than a temporary table: it needs no write, so it runs on a read-only
        ledger in SQLite and PostgreSQL alike.
        """
        found: dict[str, LedgerRecord | None] = {}
        if not pairs:
            return found
        decode = TokenDecoder(self.name)
        per_query = (self._store.max_params - 1) // 2
        with self._tx() as tx:
            for start in range(0, len(pairs), per_query):
                chunk = pairs[start : start + per_query]
                params: list[object] = list(chain.from_iterable(chunk))
                params.append(campaign_id)
                for row in tx.execute(_changed_sql(len(chunk)), params):
                    found[row[0]] = None if row[2] is None else record(row[1:], decode)
        return found

    def get(self, campaign_id: int | None, key: str) -> list[LedgerRecord]:
        """The records of ``key`` in one campaign, or in every campaign (``None``)."""
        where, params = (
            ("key = ?", [key])
            if campaign_id is None
            else ("campaign_id = ? AND key = ?", [campaign_id, key])
        )
        with self._tx() as tx:
            rows = tx.execute(
                f"SELECT {RECORD_COLUMNS} FROM items WHERE {where} ORDER BY campaign_id", params
            )
        decode = TokenDecoder(self.name)
        return [record(row, decode) for row in rows]

    def iter_records(self, campaign_id: int | None = None) -> Iterator[LedgerRecord]:
        """Every record (of one campaign), by campaign id and key, read a page at a time."""
        decode = TokenDecoder(self.name)
        after: tuple[int, str] = (-(2**63), "")
        while True:
            where = "(campaign_id, key) > (?, ?)"
            params: list[object] = [*after]
            if campaign_id is not None:
                where += " AND campaign_id = ?"
                params.append(campaign_id)
            with self._tx() as tx:
                rows = tx.execute(
                    f"SELECT {RECORD_COLUMNS} FROM items WHERE {where}"
                    f" ORDER BY campaign_id, key LIMIT {_PAGE}",
                    params,
                )
            yield from (record(row, decode) for row in rows)
            if len(rows) < _PAGE:
                return
            after = (rows[-1][0], rows[-1][1])

    def with_status(self, status: str, campaign_id: int | None = None) -> list[LedgerRecord]:
        """The records in one status (e.g. ``unknown``), by campaign id and key."""
        where = "status = ?"
        params: list[object] = [status]
        if campaign_id is not None:
            where += " AND campaign_id = ?"
            params.append(campaign_id)
        with self._tx() as tx:
            rows = tx.execute(
                f"SELECT {RECORD_COLUMNS} FROM items WHERE {where} ORDER BY campaign_id, key",
                params,
            )
        decode = TokenDecoder(self.name)
        return [record(row, decode) for row in rows]

    def verify(self) -> int:
        """Check every record's checksum; ``LedgerError`` naming the first that fails.

        A key or status damaged in the file would otherwise make an item look new (or
        failed) and be sent again.  One scan of the table, not lookups by key (a damaged
        key sorts elsewhere, where a lookup would miss it), streamed: memory stays flat
        however many records.  Returns the number of records checked.
        """
        count = 0
        with self._tx() as tx:
            for campaign_id, key, status, thash, lead, checksum in tx.stream(
                "SELECT campaign_id, key, status, token_hash, lead, checksum FROM items"
            ):
                check_record(self.name, campaign_id, key, status, thash, lead, checksum)
                count += 1
        return count

    def check_integrity(self) -> int:
        """What ``apply`` checks as it takes the run lock, for a reader (``plan``).

        The file's structure (SQLite: ``quick_check``, or ``integrity_check`` after a run
        that did not end cleanly), then every record's checksum (``verify``).  A plan's
        reads look records up by key and compare in the database, so without this a key
        damaged in the file reads as an item never sent (issue 21).  Read-only; raises
        ``LedgerError`` on damage; returns the records checked.
        """
        with self._mutex:
            self._store.check_file()
            return self.verify()

    def export_sqlite(self, out: Path) -> int:
        """Write a consistent single-file SQLite copy to ``out``; return the records in it.

        Every record is checked first, so damage is never copied on quietly.
        """
        from mktsync.ledger.sqlite import SqliteStore

        if isinstance(self._store, SqliteStore) and self._store.path is None:
            raise LedgerError(f"{self.name}: there is no ledger file to copy")
        if not isinstance(self._store, SqliteStore):
            raise LedgerError(
                f"{self.name}: --format sqlite copies an SQLite ledger file; for PostgreSQL "
                "use pg_dump, or --format jsonl"
            )
        with self._mutex:
            count = self.verify()
            self._store.copy_to(out)
        return count

    def status_counts(self) -> list[tuple[int, str, int]]:
        """``(campaign_id, status, count)`` for every campaign and status present."""
        with self._tx() as tx:
            rows = tx.execute(
                "SELECT campaign_id, status, COUNT(*) FROM items"
                " GROUP BY campaign_id, status ORDER BY campaign_id, status"
            )
        return [(int(c), str(s), int(n)) for c, s, n in rows]

    def identity(self) -> str | None:
        """This ledger's random id, made with it (``ledger_meta``): what a saved plan is
        bound to, whatever its records (issue 21).  None for the empty view of a ledger
        that does not exist yet (``plan`` before the first apply)."""
        if getattr(self._store, "absent", False):
            return None
        with self._tx() as tx:
            rows = tx.execute("SELECT ledger_id FROM ledger_meta WHERE id = 1")
        if not rows or not rows[0][0]:
            raise LedgerError(
                f"{self.name}: the ledger is damaged (its header row cannot be read); "
                "it was left untouched"
            )
        return str(rows[0][0])

    def fingerprint(self) -> str:
        """Changes whenever any item record changes; ``"empty"`` while none was ever written."""
        with self._tx() as tx:
            ledger_id, generation = tx.execute(
                "SELECT ledger_id, generation FROM ledger_meta WHERE id = 1"
            )[0]
        try:
            return "empty" if int(generation) == 0 else f"{ledger_id}:{int(generation)}"
        except (TypeError, ValueError):
            raise LedgerError(
                f"{self.name}: the ledger is damaged (its header row cannot be read); "
                "it was left untouched"
            ) from None

    # -- the email -> lead id cache ---------------------------------------------------------
    def cached_lead_ids(self, emails: Iterable[str]) -> dict[str, int]:
        """Lead ids known for ``emails`` (matched case-insensitively), keyed as given.

        An entry failing its checksum is left out, so the lead is looked up again: a
        damaged id must never trigger another person.
        """
        by_lower: dict[str, list[str]] = {}
        for email in emails:
            by_lower.setdefault(email.lower(), []).append(email)
        found: dict[str, int] = {}
        if by_lower and self._empty("lead_cache"):
            return found  # a first run: nothing to look up, however many emails
        with self._tx() as tx:
            for sql, chunk in self._chunked(
                "SELECT email, lead_id, checksum FROM lead_cache WHERE email IN ({marks})",
                list(by_lower),
            ):
                for email, lead_id, checksum in tx.execute(sql, chunk):
                    if not isinstance(lead_id, int) or lead_checksum(email, lead_id) != checksum:
                        continue
                    for original in by_lower.get(email, ()):
                        found[original] = int(lead_id)
        return found

    def missed_emails(self, emails: Iterable[str]) -> set[str]:
        """Those of ``emails`` Marketo did not know at the last lookup (case-insensitive)."""
        by_lower: dict[str, list[str]] = {}
        for email in emails:
            by_lower.setdefault(email.lower(), []).append(email)
        missed: set[str] = set()
        if by_lower and self._empty("lead_misses"):
            return missed
        with self._tx() as tx:
            for sql, chunk in self._chunked(
                "SELECT email FROM lead_misses WHERE email IN ({marks})", list(by_lower)
            ):
                for (email,) in tx.execute(sql, chunk):
                    missed.update(by_lower[email])
        return missed

    def lead_cache_empty(self) -> bool:
        """Whether no email was ever resolved or missed (a first run): nothing to look up."""
        return self._empty("lead_cache") and self._empty("lead_misses")

    # -- helpers ----------------------------------------------------------------------------
    def _empty(self, table: str) -> bool:
        with self._tx() as tx:
            return not tx.execute(f"SELECT 1 FROM {table} LIMIT 1")

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Tx]:
        with self._mutex, self._store.transaction() as tx:
            yield tx

    def _writable(self, what: str) -> None:
        if self.read_only:
            raise LedgerError(f"{self.name}: opened read-only; {what} is not possible")

    def _chunked(
        self, template: str, keys: Sequence[str], reserved: int = 1
    ) -> Iterator[tuple[str, Sequence[str]]]:
        size = self._store.max_params - reserved
        for start in range(0, len(keys), size):
            chunk = keys[start : start + size]
            marks = ", ".join("?" * len(chunk))
            yield template.format(cols=RECORD_COLUMNS, marks=marks), chunk
