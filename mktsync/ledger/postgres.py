"""The PostgreSQL store: a ledger shared by CI runners (``pip install mktsync[postgres]``).

>>> store = open_postgres("postgresql://mktsync@db.internal/mktsync", create=True, read_only=False)

The run lock is a session-level advisory lock, so a run killed with SIGKILL
releases it as soon as the server sees its connection close; who holds it is
written into the ``run_lock`` table for the message a waiting run prints.  The
ledger's tables live in the connection's current schema: to keep them apart in a
shared database, add ``?options=-csearch_path%3Dmktsync`` to the URL.

Only the URL speaks: libpq is given every option that could name a server or offer a
credential (``connect_options``), so ``$PGPASSWORD``, ``~/.pgpass``, ``$PGHOST``, a
service file or a client certificate in ``~/.postgresql`` never reach a server the URL
does not name with them.  Put the password in the URL (the workflow's secret).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any

from mktsync.config.dburl import connect_options, redact, url_secrets
from mktsync.errors import LedgerError, LedgerLocked
from mktsync.ledger.records import LockHolder
from mktsync.ledger.schema import LATEST, check_version, migrate, read_version
from mktsync.ledger.store import Dialect, Row, Store

try:
    import psycopg
except ImportError:  # pragma: no cover - exercised only without the extra
    psycopg = None  # type: ignore[assignment]

_LOCK_CLASS = 0x6D6B7473  # "mkts": the advisory lock namespace of mktsync
_RUN_LOCK = 1
_MIGRATE_LOCK = 2
_OUR_TABLES = {"ledger_meta", "items", "runs", "lead_cache", "lead_misses", "run_lock"}


class _PostgresTx:
    def __init__(self, conn: Any, name: str) -> None:
        self._conn = conn
        self._name = name
        self._rowcount = 0

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        with _translated(self._name):
            cursor = self._conn.execute(sql.replace("?", "%s"), tuple(params))
            self._rowcount = cursor.rowcount
            return list(cursor.fetchall()) if cursor.description else []

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> int:
        with _translated(self._name), self._conn.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), [tuple(row) for row in rows])
            self._rowcount = cursor.rowcount
            return int(cursor.rowcount)

    def rowcount(self) -> int:
        return self._rowcount

    def stream(self, sql: str, params: Sequence[object] = ()) -> Iterator[Row]:
        with _translated(self._name), self._conn.cursor() as cursor:
            yield from cursor.stream(sql.replace("?", "%s"), tuple(params))


@contextlib.contextmanager
def _translated(name: str, secrets: Collection[str] = ()) -> Iterator[None]:
    """psycopg's exceptions as a ``LedgerError`` naming the database (never its password).

    ``secrets``: what of the URL the driver's text may quote and no message may show
    (libpq's "invalid percent-encoded token" quotes the password as written).
    """
    assert psycopg is not None
    try:
        yield
    except psycopg.Error as exc:
        text = str(exc).strip()
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        raise LedgerError(f"{name}: {text}") from None


class PostgresStore:
    """A ledger in a PostgreSQL database; see the module docstring."""

    dialect: Dialect = "postgresql"
    max_params = 1000

    def __init__(self, conn: Any, *, name: str, read_only: bool) -> None:
        self._conn = conn
        self.name = name
        self.read_only = read_only
        self._holding = False

    @contextlib.contextmanager
    def transaction(self) -> Iterator[_PostgresTx]:
        with _translated(self.name), self._conn.transaction():
            yield _PostgresTx(self._conn, self.name)

    def check_file(self) -> None:
        """Nothing to read: the server checks its own pages (data checksums, if enabled)."""

    def acquire_run_lock(self, holder: LockHolder, timeout: float) -> None:
        tx = _PostgresTx(self._conn, self.name)  # autocommit: the lock outlives transactions
        deadline = time.monotonic() + timeout
        while not tx.execute("SELECT pg_try_advisory_lock(?, ?)", (_LOCK_CLASS, _RUN_LOCK))[0][0]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                other = self._holder(tx)
                held_by = other.describe() if other else "another run (just starting)"
                raise LedgerLocked(
                    f"{self.name}: the ledger is locked by {held_by}; waited {timeout:g} s"
                )
            time.sleep(min(0.05, remaining))
        self._holding = True
        tx.execute(
            "INSERT INTO run_lock (id, pid, who, command, since, backend_pid)"
            " VALUES (1, ?, ?, ?, ?, pg_backend_pid()) ON CONFLICT (id) DO UPDATE SET"
            " pid = excluded.pid, who = excluded.who, command = excluded.command,"
            " since = excluded.since, backend_pid = excluded.backend_pid",
            (holder.pid, holder.who, holder.command, holder.since),
        )

    def _holder(self, tx: _PostgresTx) -> LockHolder | None:
        # The row may be left by a holder that died; it is current only if its
        # backend is the one holding the advisory lock now.
        rows = tx.execute(
            "SELECT r.pid, r.who, r.command, r.since FROM run_lock r JOIN pg_locks l"
            " ON l.pid = r.backend_pid WHERE r.id = 1 AND l.locktype = 'advisory'"
            " AND l.granted AND l.classid = ? AND l.objid = ? AND l.objsubid = 2"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (_LOCK_CLASS, _RUN_LOCK),
        )
        if not rows:
            return None
        pid, who, command, since = rows[0]
        return LockHolder(pid=pid, who=who, command=command, since=since)

    def release_run_lock(self) -> None:
        if not self._holding:
            return
        self._holding = False
        tx = _PostgresTx(self._conn, self.name)
        tx.execute("DELETE FROM run_lock WHERE backend_pid = pg_backend_pid()")
        tx.execute("SELECT pg_advisory_unlock(?, ?)", (_LOCK_CLASS, _RUN_LOCK))

    def close(self) -> None:
        if not self._conn.closed:
            with contextlib.suppress(LedgerError):
                self.release_run_lock()
            self._conn.close()


def open_postgres(url: str, *, create: bool, read_only: bool) -> Store:
    """Connect, then create or migrate the tables (unless read-only); see ``open_ledger``."""
    name = redact(url)
    if psycopg is None:
        raise LedgerError(
            f"{name}: a PostgreSQL ledger needs psycopg: pip install 'mktsync[postgres]'"
        )
    with _translated(name, url_secrets(url)):
        conn = psycopg.connect(url, autocommit=True, **connect_options(url))
    store = PostgresStore(conn, name=name, read_only=False)
    try:
        with store.transaction() as tx:
            if not read_only:
                # Two runs opening an old or new ledger at once: one migrates, the other waits.
                tx.execute("SELECT pg_advisory_xact_lock(?, ?)", (_LOCK_CLASS, _MIGRATE_LOCK))
            version = _version(tx, name)
            check_version(version, name=name)
            if version < LATEST and not read_only and (create or version > 0):
                migrate(tx, "postgresql", version, name=name)
    except BaseException:
        conn.close()
        raise
    if version == 0 and (read_only or not create):
        conn.close()  # no ledger here yet: plan sees an empty one, and nothing is created
        from mktsync.ledger.sqlite_open import open_memory

        return open_memory(
            read_only=read_only, name=f"{name} (no ledger yet; empty view)", absent=True
        )
    if version < LATEST and read_only:
        conn.close()
        raise LedgerError(
            f"{name}: the ledger's schema (version {version}) is older than this mktsync's "
            f"({LATEST}); open it once for writing (e.g. `mktsync apply`) to migrate it"
        )
    if read_only:
        with _translated(name):
            conn.execute("SET default_transaction_read_only = on")
    store.read_only = read_only
    return store


def _version(tx: _PostgresTx, name: str) -> int:
    tables = {row[0] for row in tx.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    )}  # fmt: skip
    if "ledger_meta" in tables:
        return read_version(tx)
    clashing = tables & _OUR_TABLES
    if clashing:
        raise LedgerError(
            f"{name}: tables {', '.join(sorted(clashing))} exist but this is not a mktsync "
            "ledger; use another database or schema (?options=-csearch_path%3Dmktsync)"
        )
    return 0
