"""Opening an SQLite ledger: creating it, migrating it, and refusing one that lost its log.

>>> store = open_sqlite(Path(".mktsync/ledger.db"), create=True, read_only=False)

Races this module closes, and how:

* A ^C while a new ledger is being made: the database is built in a temp file in
  the same folder and hard-linked into place only when complete (pre-commit's
  ``store.py`` does the same with a rename).  ``os.link`` fails if the name
  exists, so two runs creating the same ledger at once cannot clobber each other.
* Two runs migrating an old ledger at once: the migration runs in a
  ``BEGIN IMMEDIATE`` transaction that re-reads the version first.
* A ledger reached through a symlink (even a dangling one): it is made, checked and
  locked at its real path.
* A ledger reached through a hard link while a run holds it through another name:
  SQLite keeps its ``-wal`` and ``-shm`` files per name, so this name would neither see
  that run's last writes nor take part in its locks.  The run lock is the file's (device
  and inode, ``sqlite.lock_path_of``): the open is refused as "locked by another run",
  naming it, before a page is read.  A name in another folder has no lock file beside
  it; the run's guard, checkpointed into the file when the run starts, names the lock
  file, so every open (read-only or not, any command) finds the holder there and is
  refused the same way, before the lost-log check and before any migration writes.
  (Two runs starting through names in different folders in the same instant, before
  either guard is in the file, are not told apart: keep hard links in one folder.)
* A ledger copied without its ``-wal`` file while a run was writing (``wal_guard``
  set, see ``sqlite``): refused, untouched, unless the file holds the run's last commit
  (its log was folded in by another program, e.g. the ``sqlite3`` shell after a kill:
  ``walguard`` says how that is told, soundly, and what is refused).  Read-only opens
  of a ledger whose ``-wal`` holds data use ``mode=ro``, so closing them never folds a
  crashed run's log into the file early; a writer that finds a dead run's guard clears
  it under the run lock, so the next checkpoint leaves a complete file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from pathlib import Path

from mktsync.errors import LedgerError, LedgerLocked
from mktsync.ledger.integrity import safe_text
from mktsync.ledger.schema import LATEST, check_version, migrate, read_version
from mktsync.ledger.sqlite import (
    SqliteStore,
    SqliteTx,
    connect,
    guard_holder,
    guard_lock_file,
    lock_path_of,
    other_name_holder,
    read_lock_file,
    remove_lock_file,
    still_linked,
    translated,
)
from mktsync.ledger.walguard import Guard

_HEADER = b"SQLite format 3\x00"
_GUARDED = 3  # the schema version that added ``ledger_meta.wal_guard`` (schema.py)


def open_memory(*, read_only: bool, name: str = ":memory:", absent: bool = False) -> SqliteStore:
    """An empty ledger in memory: ``sqlite:///:memory:``, or (``absent``) the view of a
    ledger that does not exist yet, whose random id is not the one it will get."""
    conn = connect(":memory:", name)
    store = SqliteStore(conn, name=name, path=None, read_only=False)
    store.absent = absent
    with store.transaction() as tx:
        migrate(tx, "sqlite", 0, name=name)
    store.read_only = read_only
    return store


def open_sqlite(path: Path, *, create: bool, read_only: bool) -> SqliteStore:
    """Open the ledger at ``path``; see ``open_ledger`` for what ``create`` and ``read_only`` do."""
    name = str(path)
    # Everything below works on the real path: through a symlink (even a dangling one)
    # the ledger is made, checked and locked where it really lives.
    real = Path(os.path.realpath(path))
    if not real.exists():
        if not create:
            return open_memory(
                read_only=read_only, name=f"{name} (absent; empty view)", absent=True
            )
        _create(real)
    _check_header(real)
    held_by = other_name_holder(real)
    if held_by is not None:
        raise LedgerLocked(
            f"{name}: the ledger is locked by another run: {held_by}; wait for it to end,"
            " and reach a ledger by one name only"
        )
    wal_held = _wal_has_data(real)
    if read_only and wal_held:
        # mode=ro: closing never checkpoints, so a crashed run's log stays beside the file.
        conn = connect(f"{real.as_uri()}?mode=ro", name, uri=True)
    else:
        conn = connect(str(real), name)
    if read_only:
        # SQLite itself refuses every write (plan; an untrusted run's ledger), beside the
        # store's own check.  Not mode=ro here: that leaves -wal and -shm files behind.
        with translated(name):
            conn.execute("PRAGMA query_only = ON")
    store = SqliteStore(conn, name=name, path=real, read_only=read_only)
    try:
        version = _version(store)
        check_version(version, name=name)
        if version >= _GUARDED:
            # Before a migration writes: a file whose log may be lost is left untouched.
            _check_wal_guard(store, wal_held)
        if version < LATEST:
            if read_only:
                # Read-only: migrate a copy in memory, never the file.
                memory = connect(":memory:", name)
                with translated(name):
                    conn.backup(memory)
                conn.close()
                store = SqliteStore(memory, name=name, path=real, read_only=False)
                with store.transaction() as tx:
                    migrate(tx, "sqlite", version, name=name)
                store.read_only = True
            else:
                with store.transaction() as tx:
                    migrate(tx, "sqlite", _version_in(tx, name), name=name)
        if not read_only:
            with translated(name):  # persistent; a no-op when already set
                conn.execute("PRAGMA journal_mode = WAL")
    except BaseException:
        store.close()
        raise
    return store


def _wal_has_data(real: Path) -> bool:
    try:
        return os.path.getsize(f"{real}-wal") > 0
    except OSError:
        return False


def _check_wal_guard(store: SqliteStore, wal_held: bool) -> None:
    """Refuse a ledger a live run writes through another name, or one whose run's ``-wal``
    may have been lost; clear a dead run's guard (``walguard`` explains the cases)."""
    with store.transaction() as tx:
        text = tx.execute("SELECT wal_guard FROM ledger_meta WHERE id = 1")[0][0]
    if text is None or store.path is None:
        return
    guard = Guard.parse(str(text))
    held_by = guard_holder(guard, store.path)
    if held_by is not None:
        raise LedgerLocked(
            f"{store.name}: the ledger is locked by another run: {held_by}; wait for it"
            " to end, and reach a ledger by one name only"
        )
    lock = guard_lock_file(guard, store.path)
    if not wal_held and not (lock is not None and _folded(guard, lock)):
        raise LedgerError(_lost_log(store, guard, lock))
    if store.read_only or store.path is None:
        return
    # The log is here (or folded into the file): a run holding the lock is writing it, or
    # a run died. A dead run's guard is cleared (under the lock) so that folding the log
    # into the file on close leaves a complete file; ``unclean`` stays set, so the next
    # run checks the file in full.
    lock_path = lock_path_of(store.path)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # a live run: its guard is its own
        if not still_linked(fd, lock_path):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return  # a run just ended and removed it; another may hold the new one
        with store.transaction() as tx:
            tx.execute("UPDATE ledger_meta SET wal_guard = NULL WHERE id = 1")
        if os.fstat(fd).st_size == 0:  # made just now, or a clean end's: no intent to keep
            remove_lock_file(fd, lock_path)
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _folded(guard: Guard, lock: Path) -> bool:
    """Does the run's lock file hold the intent of the very write the file ends with?"""
    return guard.matches(_lock_file(lock))


def _lost_log(store: SqliteStore, guard: Guard, lock: Path | None) -> str:
    """Why the ledger is refused: its log may be lost, or folded in; which cannot be told."""
    base = Path(store.name).name
    intent = None if lock is None else _intent_of(lock, guard)
    if guard.commit is None:
        told = "that run (by an older mktsync) kept no count of its writes"
    elif intent is None:
        told = "no record of that run's last write is beside it (copied or moved here since?)"
    else:
        told = f"that run began write no. {intent} and the file ends with no. {guard.commit}"
    return (
        f"{store.name}: the run that last wrote this ledger did not end cleanly, and its "
        f"write-ahead log ({base}-wal) is not beside it; {told}. Either the ledger was "
        f"saved without its write-ahead log ({base}-wal) while that run was writing (copied,"
        " restored or moved without it, or the -wal file deleted): then what that run "
        "recorded last is missing and the next apply could trigger those leads again; or a"
        " program that opened the file since (the sqlite3 shell, when it closes) folded "
        "the log into it, and nothing is missing. Which one cannot be told, so the ledger "
        "was left untouched. Restore the ledger together with its -wal file, or a copy made"
        " by `mktsync ledger export --format sqlite`; without either, see 'refused after a "
        f"kill' in docs/troubleshooting.md{_other_names(store)}"
    )


def _intent_of(lock: Path, guard: Guard) -> int | None:
    """The number of the last write the guard's run announced in its lock file, if any."""
    data = _lock_file(lock)
    if not isinstance(data, dict) or data.get("guard") != guard.run:
        return None
    commit = data.get("commit")
    return commit if isinstance(commit, int) else None


def _lock_file(lock: Path) -> object:
    """The lock file's JSON; None if it is not there or not a regular file."""
    try:
        # Non-blocking: the path comes from the file, and a FIFO there must not hang us.
        fd = os.open(lock, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        return read_lock_file(fd) if stat.S_ISREG(os.fstat(fd).st_mode) else None
    finally:
        os.close(fd)


def _other_names(store: SqliteStore) -> str:
    """A hint when the file has more names: a run through one of them keeps its log there."""
    try:
        links = os.stat(store.path).st_nlink if store.path is not None else 1
    except OSError:
        return ""
    if links < 2:
        return ""
    return (
        f". The file has {links} names (hard links): a run that used another name left its "
        "log beside that name; open the ledger by that name"
    )


def _version(store: SqliteStore) -> int:
    try:
        with store.transaction() as tx:
            return _version_in(tx, store.name)
    except (TypeError, ValueError):  # the schema or header row holds values of wrong types
        raise LedgerError(
            f"{store.name}: the ledger is damaged (its schema or header row cannot be read); "
            "it was left untouched. Restore it from a backup; moving it aside starts an "
            "empty ledger, which forgets what was sent"
        ) from None


def _version_in(tx: SqliteTx, name: str) -> int:
    tables = {row[0] for row in tx.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "ledger_meta" in tables:
        return read_version(tx, name=name)
    if tables:
        raise LedgerError(
            f"{name}: this SQLite database is not a mktsync ledger (it has tables "
            f"{', '.join(sorted(safe_text(str(t), 40) for t in tables)[:5])}); it was left untouched"
        )
    return 0  # an empty database: made into a ledger by the caller's migration


def _check_header(path: Path) -> None:
    try:
        with path.open("rb") as file:
            header = file.read(len(_HEADER))
    except OSError as exc:
        raise LedgerError(f"{path}: cannot read the ledger: {exc.strerror}") from None
    if not header:
        raise LedgerError(
            f"{path}: the ledger file is empty, not a mktsync ledger; it was left untouched"
        )
    if header != _HEADER:
        raise LedgerError(
            f"{path}: not an SQLite database, so not a mktsync ledger; it was left untouched"
        )


def _create(path: Path) -> None:
    """Build a new ledger in a temp file beside ``path`` and link it into place when complete."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise LedgerError(f"{path}: cannot create the ledger: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        conn = connect(tmp_name, str(path))
        try:
            store = SqliteStore(conn, name=str(path), path=None, read_only=False)
            with store.transaction() as tx:
                migrate(tx, "sqlite", 0, name=str(path))
            with translated(str(path)):
                conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()  # checkpoints and removes the temp file's -wal
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another run created it first: use theirs
        except OSError:
            # No hard links on this filesystem: fall back to a rename, which can only
            # lose the race against a run creating the same ledger in the same instant.
            if not path.exists():
                os.replace(tmp, path)
    except OSError as exc:
        raise LedgerError(f"{path}: cannot create the ledger: {exc.strerror}") from None
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
