"""The SQLite store: one file, WAL mode, and an OS file lock beside it for the run lock.

>>> store = open_sqlite(Path(".mktsync/ledger.db"), create=True, read_only=False)  # sqlite_open

Opening (creation, migration, the lost ``-wal`` check) lives in ``sqlite_open``; this
module is the open store.  Races it closes, and how:

* A run killed with SIGKILL while holding the run lock: ``flock`` locks belong to
  the open file, which the kernel closes when the process dies.
* Two runs reaching one ledger by different paths (a symlink, ``..``, relative and
  absolute): the lock file sits beside the ledger's *real* path, so there is one.
* A ledger copied without its ``-wal`` file (a CI cache or artifact after a cancelled
  job): a run sets ``wal_guard`` and checkpoints it into the main file before it
  writes anything else, and clears it (then checkpoints with TRUNCATE) when it ends;
  ``sqlite_open`` refuses a file found with the guard set and no ``-wal`` beside it.
* Damage SQLite's reads cannot see (a page header or child pointer that hides
  records): every run checks the file with ``PRAGMA quick_check`` when it takes the
  lock, and with the full ``integrity_check`` after a run that did not end cleanly
  (``unclean`` still 1).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from mktsync.errors import LedgerError, LedgerLocked
from mktsync.ledger.integrity import safe_text
from mktsync.ledger.records import LockHolder
from mktsync.ledger.store import Dialect, Row

_BUSY_TIMEOUT = 60.0  # s a statement waits for another connection's write transaction


class SqliteTx:
    def __init__(self, conn: sqlite3.Connection, name: str) -> None:
        self._conn = conn
        self._name = name
        self._rowcount = 0

    def execute(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        with translated(self._name):
            cursor = self._conn.execute(sql, params)
            rows = cursor.fetchall()
            self._rowcount = cursor.rowcount
            return rows

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> int:
        with translated(self._name):
            cursor = self._conn.executemany(sql, rows)
            self._rowcount = cursor.rowcount
            return cursor.rowcount

    def rowcount(self) -> int:
        return self._rowcount


@contextlib.contextmanager
def translated(name: str) -> Iterator[None]:
    """Turn sqlite3's exceptions into a ``LedgerError`` naming the file, never a traceback."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        text = safe_text(str(exc))  # may quote bytes from the file
        if "malformed" in text or "not a database" in text or "corrupt" in text:
            raise LedgerError(
                f"{name}: the ledger is damaged ({text}); it was left untouched. Restore it "
                "from a backup; moving it aside starts an empty ledger, which forgets what "
                "was sent"
            ) from None
        raise LedgerError(f"{name}: {text}") from None
    except sqlite3.Error as exc:
        raise LedgerError(f"{name}: {safe_text(str(exc))}") from None
    except UnicodeDecodeError:
        # SQLite's message quoted bytes from a damaged schema, too garbled to decode.
        raise LedgerError(
            f"{name}: the ledger is damaged (SQLite reports unreadable bytes in it); it was "
            "left untouched. Restore it from a backup; moving it aside starts an empty "
            "ledger, which forgets what was sent"
        ) from None


class SqliteStore:
    """A ledger in one SQLite file (or in memory); see the module docstring."""

    dialect: Dialect = "sqlite"
    max_params = 900  # well under SQLite's limit (32766 since 3.32), and fast
    absent = False  # the empty view of a ledger not made yet (``open_memory``)

    def __init__(
        self, conn: sqlite3.Connection, *, name: str, path: Path | None, read_only: bool
    ) -> None:
        self._conn = conn
        self.name = name
        self.path = path  # None: in memory
        self.read_only = read_only
        self._lock_fd: int | None = None
        self._guarded = False  # wal_guard set by this store's run

    @contextlib.contextmanager
    def transaction(self) -> Iterator[SqliteTx]:
        # IMMEDIATE takes the write lock up front, so a transaction that reads and
        # then writes cannot fail half-way with "database is locked".
        begin = "BEGIN" if self.read_only else "BEGIN IMMEDIATE"
        with translated(self.name):
            self._conn.execute(begin)
        try:
            yield SqliteTx(self._conn, self.name)
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._conn.rollback()
            raise
        with translated(self.name):
            self._conn.commit()

    # -- run lock ---------------------------------------------------------------------------
    @property
    def lock_path(self) -> Path | None:
        return None if self.path is None else lock_path_of(self.path)

    def acquire_run_lock(self, holder: LockHolder, timeout: float) -> None:
        lock_path = self.lock_path
        if lock_path is None:  # in memory: nobody else can open it
            return
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    other = _read_holder(fd)
                    os.close(fd)
                    held_by = other.describe() if other else "another run (just starting)"
                    raise LedgerLocked(
                        f"{self.name}: the ledger is locked by {held_by}; waited {timeout:g} s"
                    ) from None
                time.sleep(min(0.05, remaining))
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder.as_dict()).encode("utf-8") + b"\n", 0)
        self._lock_fd = fd
        try:
            self._start_session()
        except BaseException:
            self.release_run_lock()
            raise

    def _start_session(self) -> None:
        """Check the file's structure, then set the markers a lost ``-wal`` is seen by.

        Every run checks: a flipped byte in a page header or a child-page pointer hides
        whole records from SQLite's own reads, so no record checksum can notice it (an
        exhaustive flip of every byte of a 40-record ledger found four such bytes).
        ``quick_check`` reads each page once (0.2 s for 200,000 records); after a run
        that did not end cleanly the full ``integrity_check`` also compares the indexes.
        """
        with self.transaction() as tx:
            unclean = tx.execute("SELECT unclean FROM ledger_meta WHERE id = 1")[0][0]
        self.check(full=bool(unclean))
        with self.transaction() as tx:
            tx.execute(
                "UPDATE ledger_meta SET unclean = 1, wal_guard = ? WHERE id = 1",
                (uuid.uuid4().hex,),
            )
        self._guarded = True
        # FULL waits for other writers and copies the log into the file; readers of an
        # older snapshot only delay the log's reuse, not the copy of our marker.
        self._checkpoint("FULL", required=True)

    def check(self, *, full: bool = False) -> None:
        """``PRAGMA quick_check`` (``integrity_check`` if ``full``): ``LedgerError`` unless ok.

        The message escapes what SQLite reports: never raw bytes from the file.
        """
        pragma = "integrity_check" if full else "quick_check"
        with translated(self.name):
            rows = self._conn.execute(f"PRAGMA {pragma}(5)").fetchall()
        problems = [str(r[0]) for r in rows if r[0] != "ok"]
        if problems:
            raise LedgerError(
                f"{self.name}: the ledger is damaged ({pragma}: "
                f"{safe_text('; '.join(problems), 200)}); it was left untouched. Restore it "
                "from a backup; moving it aside starts an empty ledger, which forgets what "
                "was sent"
            )

    def _checkpoint(self, mode: str, *, required: bool) -> None:
        for _ in range(100):
            with translated(self.name):
                busy, _log, _done = self._conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
            if not busy:
                return
            time.sleep(0.05)
        if required:
            raise LedgerError(
                f"{self.name}: could not checkpoint the ledger's write-ahead log (another "
                "connection keeps it busy); nothing was sent"
            )

    def _end_session(self) -> None:
        """The run ended in this process: clear the markers, fold the log into the file."""
        if not self._guarded:
            return
        self._guarded = False
        with contextlib.suppress(LedgerError):
            with self.transaction() as tx:
                tx.execute("UPDATE ledger_meta SET unclean = 0, wal_guard = NULL WHERE id = 1")
            # TRUNCATE: ledger.db alone is now complete, and the -wal file is empty.
            self._checkpoint("TRUNCATE", required=False)

    def release_run_lock(self) -> None:
        fd = self._lock_fd
        if fd is None:
            return
        try:
            self._end_session()
        finally:
            self._lock_fd = None
            # Clear the holder before unlocking, so the next holder's info is never erased.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def close(self) -> None:
        self.release_run_lock()
        self._conn.close()

    def copy_to(self, out: Path) -> None:
        """A consistent single-file copy (SQLite's backup API): no ``-wal`` needed beside it.

        Written to a temp file beside ``out`` and renamed into place, so ``out`` is never
        half a ledger.
        """
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        except OSError as exc:
            raise LedgerError(f"{out}: cannot write the copy: {exc.strerror}") from None
        os.close(fd)
        try:
            dest = connect(tmp_name, str(out))
            try:
                with translated(self.name):
                    self._conn.backup(dest)
                with translated(str(out)):
                    # The copy is complete by construction: it needs no -wal to be trusted.
                    dest.execute("UPDATE ledger_meta SET wal_guard = NULL WHERE id = 1")
                    dest.execute("PRAGMA journal_mode = DELETE")
            finally:
                dest.close()
            os.replace(tmp_name, out)
        except OSError as exc:
            raise LedgerError(f"{out}: cannot write the copy: {exc.strerror}") from None
        finally:
            for leftover in (tmp_name, f"{tmp_name}-wal", f"{tmp_name}-shm", f"{tmp_name}-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(leftover)


def _read_holder(fd: int) -> LockHolder | None:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
    except (OSError, ValueError):  # empty or half-written: the holder is just starting
        return None
    return LockHolder.from_dict(data) if isinstance(data, dict) else None


def lock_path_of(path: Path) -> Path:
    """The run lock's file: beside the ledger's real path, however the path was written."""
    real = Path(os.path.realpath(path))
    return real.with_name(real.name + ".lock")


def _text(data: bytes) -> str:
    # Damaged text keeps its bytes (as surrogates): it then fails its record's checksum
    # with a message that escapes it, instead of sqlite3 quoting the raw bytes.
    return data.decode("utf-8", "surrogateescape")


def connect(target: str, name: str, *, uri: bool = False) -> sqlite3.Connection:
    with translated(name):
        # One connection shared by the runner's worker threads; ``Ledger`` serialises use.
        conn = sqlite3.connect(
            target, timeout=_BUSY_TIMEOUT, isolation_level=None, check_same_thread=False, uri=uri
        )
        conn.text_factory = _text
        # FULL: a `pending` mark must survive a power cut before its call goes out.
        conn.execute("PRAGMA synchronous = FULL")
    return conn
