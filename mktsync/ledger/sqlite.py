"""The SQLite store: one file, WAL mode, and an OS file lock beside it for the run lock.

>>> store = open_sqlite(Path(".mktsync/ledger.db"), create=True, read_only=False)  # sqlite_open

Opening (creation, migration, the lost ``-wal`` check) lives in ``sqlite_open``; this
module is the open store.  Races it closes, and how:

* A run killed with SIGKILL while holding the run lock: ``flock`` locks belong to
  the open file, which the kernel closes when the process dies.
* Two runs reaching one ledger by different names (a symlink, ``..``, relative and
  absolute, a hard link): the lock file is named by the ledger file's identity, its
  device and inode, and sits beside its real path, so there is one (``lock_path_of``).
  Its holder writes the name it opened the ledger by, so a run arriving by another
  name is told whose run holds it (``sqlite_open`` refuses it before it reads a page:
  SQLite keeps a ``-wal`` file per name, so two names must never be written at once).
* A ledger copied without its ``-wal`` file (a CI cache or artifact after a cancelled
  job): a run sets ``wal_guard`` and checkpoints it into the main file before it
  writes anything else, and clears it (then checkpoints with TRUNCATE) when it ends;
  ``sqlite_open`` refuses a file found with the guard set and no ``-wal`` beside it,
  unless the file holds the run's last commit (``walguard``: each write transaction
  numbers itself in the guard, and the lock file holds the number before it commits).
* Lock files piling up (one per ledger file ever locked): a run removes its lock file
  while it still holds it, and empty ones nobody holds (of ledger files since replaced);
  every run, once it holds a lock file, checks it is still the file at its path, else
  takes the new one (``still_linked``), so a removal never lets two runs hold the lock.
  A killed run's lock file, which holds its intent, is kept.
* A hard link in another folder has no lock file beside it: the guard names the
  holder's lock file, so ``sqlite_open`` finds the holder through any name, and a run
  taking the lock by that name waits while the guard's lock file is held.
* Damage SQLite's reads cannot see (a page header or child pointer that hides
  records): every run checks the file with ``PRAGMA quick_check`` when it takes the
  lock, and with the full ``integrity_check`` after a run that did not end cleanly
  (``unclean`` still 1); ``plan`` makes the same check (``check_file``) without the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import sqlite3
import stat
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from mktsync.errors import LedgerError, LedgerLocked
from mktsync.ledger.integrity import safe_text
from mktsync.ledger.records import LockHolder
from mktsync.ledger.store import Dialect, Row
from mktsync.ledger.walguard import Guard

_BUSY_TIMEOUT = 60.0  # s a statement waits for another connection's write transaction
_STREAM_ROWS = 1000  # rows fetched at a time by ``SqliteTx.stream``


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

    def stream(self, sql: str, params: Sequence[object] = ()) -> Iterator[Row]:
        with translated(self._name):
            cursor = self._conn.execute(sql, params)
            try:
                while rows := cursor.fetchmany(_STREAM_ROWS):
                    yield from rows
            finally:
                cursor.close()


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
        self._lock_path: Path | None = None
        self._holder: dict[str, object] = {}  # what the lock file says of its holder
        self._guard: Guard | None = None  # wal_guard set by this store's run

    @contextlib.contextmanager
    def transaction(self) -> Iterator[SqliteTx]:
        # IMMEDIATE takes the write lock up front, so a transaction that reads and
        # then writes cannot fail half-way with "database is locked".
        begin = "BEGIN" if self.read_only else "BEGIN IMMEDIATE"
        with translated(self.name):
            self._conn.execute(begin)
        changes = self._conn.total_changes
        try:
            tx = SqliteTx(self._conn, self.name)
            yield tx
            if self._guard is not None and self._conn.total_changes != changes:
                self._number(tx)
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._conn.rollback()
            raise
        with translated(self.name):
            self._conn.commit()

    def _number(self, tx: SqliteTx) -> None:
        """Number this write of the run in the guard, and put the number in the lock file
        first (``walguard``): the file then shows whether it holds the run's last write."""
        assert self._guard is not None
        self._guard = self._guard.next()
        self._write_holder(self._guard)
        tx.execute("UPDATE ledger_meta SET wal_guard = ? WHERE id = 1", (self._guard.text(),))

    # -- run lock ---------------------------------------------------------------------------
    @property
    def lock_path(self) -> Path | None:
        # The identity of the file when first locked: one put in its place later (a
        # restore moved in) is another file, with its own lock.
        if self.path is not None and self._lock_path is None:
            self._lock_path = lock_path_of(self.path)
        return self._lock_path

    def acquire_run_lock(self, holder: LockHolder, timeout: float) -> None:
        lock_path = self.lock_path
        if lock_path is None:  # in memory: nobody else can open it
            return
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            held_by: str | None = None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass
            else:
                if not still_linked(fd, lock_path):
                    # Its holder removed it as it ended: the lock is the file now there.
                    os.close(fd)
                    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
                    continue
                # A run through a name in another folder holds that folder's lock file:
                # its guard in the file names it.
                try:
                    held_by = self._held_elsewhere()
                except BaseException:
                    os.close(fd)  # and with it our flock
                    raise
                if held_by is None:
                    break
                fcntl.flock(fd, fcntl.LOCK_UN)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                held_by = held_by or _describe_holder(fd, self.path)
                os.close(fd)
                raise LedgerLocked(
                    f"{self.name}: the ledger is locked by {held_by}; waited {timeout:g} s"
                ) from None
            time.sleep(min(0.05, remaining))
        os.ftruncate(fd, 0)
        # The name it was opened by, for a run that reaches the file by another name.
        self._holder = {**holder.as_dict(), "ledger": str(self.path)}
        self._lock_fd = fd
        self._write_holder(None)
        try:
            self._start_session()
        except BaseException:
            self.release_run_lock()
            raise

    def _held_elsewhere(self) -> str | None:
        """The holder of this file's run lock through a name in another folder, if any."""
        assert self.path is not None
        with self.transaction() as tx:
            text = tx.execute("SELECT wal_guard FROM ledger_meta WHERE id = 1")[0][0]
        return None if text is None else guard_holder(Guard.parse(str(text)), self.path)

    def _write_holder(self, intent: Guard | None) -> None:
        """The lock file's content: its holder, and the number of the write it begins.

        An intent is synced before its write commits (``walguard`` says why).  The text
        only grows within a run (the number does), so a rewrite leaves no stale tail.
        """
        fd = self._lock_fd
        assert fd is not None
        data = self._holder if intent is None else {**self._holder, **intent.intent()}
        try:
            os.pwrite(fd, json.dumps(data).encode("utf-8") + b"\n", 0)
            if intent is not None:
                os.fsync(fd)
        except OSError as exc:
            raise LedgerError(
                f"{self.name}: cannot write the run lock's file: {exc.strerror}; nothing "
                "more was recorded"
            ) from None

    def _start_session(self) -> None:
        """Check the file's structure, then set the markers a lost ``-wal`` is seen by.

        Every run checks: a flipped byte in a page header or a child-page pointer hides
        whole records from SQLite's own reads, so no record checksum can notice it (an
        exhaustive flip of every byte of a 40-record ledger found four such bytes).
        ``quick_check`` reads each page once (0.2 s for 200,000 records); after a run
        that did not end cleanly the full ``integrity_check`` also compares the indexes.
        """
        self.check_file()
        guard = Guard(run=uuid.uuid4().hex, lock=str(self.lock_path), commit=0)
        self._write_holder(guard)
        with self.transaction() as tx:
            tx.execute(
                "UPDATE ledger_meta SET unclean = 1, wal_guard = ? WHERE id = 1", (guard.text(),)
            )
        self._guard = guard
        # FULL waits for other writers and copies the log into the file; readers of an
        # older snapshot only delay the log's reuse, not the copy of our marker.
        self._checkpoint("FULL", required=True)

    def check_file(self) -> None:
        """``quick_check``, or the full ``integrity_check`` after a run that did not end
        cleanly (``unclean`` still 1, or the header row unreadable)."""
        with self.transaction() as tx:
            rows = tx.execute("SELECT unclean FROM ledger_meta WHERE id = 1")
        self.check(full=not rows or rows[0][0] != 0)

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
        if self._guard is None:
            return
        self._guard = None
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
            # Removed while still held: one file per ledger, not one per ledger file ever
            # locked.  A run waiting on this file finds it unlinked and takes the new one.
            if self._lock_path is not None:
                remove_lock_file(fd, self._lock_path)
                remove_stale_locks(self._lock_path.parent)
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


def read_lock_file(fd: int) -> object:
    """The lock file's JSON (its holder, and the intent of a run's write), or None."""
    try:
        return json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
    except (OSError, ValueError):  # empty or half-written: the holder is just starting
        return None


def _read_holder(fd: int) -> tuple[LockHolder, str | None] | None:
    """The holder written in the lock file, and the name it opened the ledger by."""
    data = read_lock_file(fd)
    if not isinstance(data, dict):
        return None
    ledger = data.get("ledger")
    return LockHolder.from_dict(data), ledger if isinstance(ledger, str) else None


def _describe_holder(fd: int, ours: Path | None) -> str:
    found = _read_holder(fd)
    if found is None:
        return "another run (just starting)"
    holder, name = found
    if name is None or ours is None or name == str(ours):
        return holder.describe()
    return f"{holder.describe()} through another name of the same file ({safe_text(name)})"


def other_name_holder(path: Path, lock: Path | None = None) -> str | None:
    """Who holds the run lock of the ledger at ``path`` through *another* of its names (a
    hard link), described; None when nobody does, or the holder uses this name.

    ``lock``: the lock file to look at (a run's guard names it: a hard link in another
    folder has its own); by default the one beside ``path``.
    """
    try:
        # No lock file: nobody holds it.
        fd = os.open(lock if lock is not None else lock_path_of(path), os.O_RDONLY)
    except (OSError, LedgerError):
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            found = _read_holder(fd)
            real = os.path.realpath(path)
            if found is not None and found[1] is not None and found[1] != real:
                return _describe_holder(fd, Path(real))
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def guard_lock_file(guard: Guard, path: Path) -> Path | None:
    """The lock file the guard's run held, if it is the lock of the file at ``path``: named
    by the same device and inode (a copy, a new file, never reads another file's lock)."""
    if guard.lock is None:
        return None
    lock = Path(guard.lock)
    return lock if lock.is_absolute() and lock.name == lock_path_of(path).name else None


def guard_holder(guard: Guard, path: Path) -> str | None:
    """Who holds the run lock of the file at ``path`` through a name in another folder, as
    the run's guard in the file says (that folder has its own lock file), described."""
    lock = guard_lock_file(guard, path)
    if lock is None or lock == lock_path_of(path):
        return None  # the lock beside this name: ``other_name_holder`` and flock see to it
    return other_name_holder(path, lock)


LOCK_NAME = re.compile(r"\.mktsync-ledger-[0-9]+-[0-9]+\.lock")


def still_linked(fd: int, path: Path) -> bool:
    """Is the open lock file ``fd`` still the file at ``path`` (not removed by its holder)?"""
    try:
        here, ours = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (ours.st_dev, ours.st_ino)


def remove_lock_file(fd: int, path: Path) -> None:
    """Unlink the lock file ``fd``, held exclusively, if it is still the one at ``path``.

    Safe because every run re-checks, once it holds a lock file, that it is still linked
    (``still_linked``): a run that opened this file before the unlink retries on the file
    then at ``path``, so two runs never hold "the" lock through two files.
    """
    if still_linked(fd, path):
        with contextlib.suppress(OSError):
            os.unlink(path)


def remove_stale_locks(folder: Path) -> None:
    """Remove the empty lock files in ``folder`` nobody holds: those of ledger files since
    replaced or deleted (a restore, a test's fresh ledger), left by an older mktsync.

    Empty means its last holder ended cleanly (a run killed mid-write leaves its holder
    and intent, which ``walguard`` reads: never removed here).  Each is removed only while
    held exclusively and still linked, like one's own.
    """
    try:
        names = [e.name for e in os.scandir(folder) if LOCK_NAME.fullmatch(e.name)]
    except OSError:
        return
    for name in names:
        path = folder / name
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode) or os.fstat(fd).st_size:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live run (or one starting): its own
            if os.fstat(fd).st_size == 0:  # nobody wrote a holder before we locked it
                remove_lock_file(fd, path)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def lock_path_of(path: Path) -> Path:
    """The run lock's file, named by the identity of the ledger's file (device, inode).

    One file whatever name reaches the ledger: symlinks and ``..`` are resolved, and hard
    links (same device and inode) give the same name.  It sits beside the real path, so
    a hard link in another folder has its own: do not hard-link ledgers across folders.
    """
    real = Path(os.path.realpath(path))
    try:
        st = os.stat(real)
    except OSError as exc:
        raise LedgerError(f"{path}: cannot read the ledger: {exc.strerror}") from None
    return real.with_name(f".mktsync-ledger-{st.st_dev}-{st.st_ino}.lock")


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
