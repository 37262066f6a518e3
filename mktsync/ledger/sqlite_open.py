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
* A ledger copied without its ``-wal`` file while a run was writing (``wal_guard``
  set, see ``sqlite``): refused, untouched.  Read-only opens of a ledger whose
  ``-wal`` holds data use ``mode=ro``, so closing them never folds a crashed run's
  log into the file early; a writer that finds a dead run's guard clears it under
  the run lock, so the next checkpoint leaves a complete file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path

from mktsync.errors import LedgerError
from mktsync.ledger.integrity import safe_text
from mktsync.ledger.schema import LATEST, check_version, migrate, read_version
from mktsync.ledger.sqlite import SqliteStore, SqliteTx, connect, lock_path_of, translated

_HEADER = b"SQLite format 3\x00"


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
        _check_wal_guard(store, wal_held)
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
    """Refuse a ledger whose run's ``-wal`` was lost; clear a crashed run's guard."""
    with store.transaction() as tx:
        guard = tx.execute("SELECT wal_guard FROM ledger_meta WHERE id = 1")[0][0]
    if guard is None:
        return
    if not wal_held:
        raise LedgerError(
            f"{store.name}: this ledger was saved without its write-ahead log "
            f"({Path(store.name).name}-wal) while a run was writing to it, so what that run "
            "recorded last is missing and the next apply could trigger those leads again; "
            "it was left untouched. Restore the ledger together with its -wal file (CI: keep "
            "a copy made by `mktsync ledger export --format sqlite`)"
        )
    if store.read_only or store.path is None:
        return
    # The log is here: a run holding the lock is writing it, or a run died. A dead run's
    # guard is cleared (under the lock) so that folding the log into the file on close
    # leaves a complete file; ``unclean`` stays set, so the next run checks the file.
    fd = os.open(lock_path_of(store.path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # a live run: its guard is its own
        with store.transaction() as tx:
            tx.execute("UPDATE ledger_meta SET wal_guard = NULL WHERE id = 1")
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


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
        return read_version(tx)
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
