"""The slots of one Marketo instance in a file on this machine (``slots.SlotTable``).

>>> book = FileSlots(runtime_dir(), "123-abc-456.mktorest.com")  # doctest: +SKIP
>>> book.take(claim, None).taken                                  # doctest: +SKIP
True

What ``mktsync apply`` uses with an SQLite ledger: two jobs on one runner (two
repositories, two ledgers) draw from one window.  The file is per user and per instance,
``$XDG_RUNTIME_DIR/mktsync/limits-<host>.json`` (else ``<tmp>/mktsync-<uid>/``), beside
its lock file ``limits-<host>.lock``.  Races it closes, and how:

* Two processes deciding at once: every change (take, renew, release, hold) reads,
  changes and writes the table under an exclusive ``flock`` on the lock file, and under a
  thread lock too (``flock`` does not part threads sharing one open file).
* A process killed while it writes: the table is written to a temp file and moved into
  place (``os.replace``), so the file is always a whole table.  A process killed while it
  holds the lock: the kernel closes its file and the lock goes with it.  A process killed
  while its calls are in flight: their leases run out (``slots``).
* Another user's folder in a shared ``/tmp``: a folder not owned by this user, or that
  others may write, is refused (the run stops before it sends), never used.

Times are the wall clock (``time.time``), which every process on the machine reads alike
and which survives a reboot (a monotonic clock restarts at 0: old leases would look far
off).  ``clock`` replaces it in tests.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from mktsync.marketo.codes import LimiterUnavailable
from mktsync.marketo.slots import Claim, Grant, SlotTable, Window, check_times

T = TypeVar("T")


def runtime_dir() -> Path:
    """This user's folder for the files of the machine's shared limits, made if needed.

    ``$XDG_RUNTIME_DIR/mktsync`` (a per-user tmpfs on most Linux desktops and servers),
    else ``<tmp>/mktsync-<uid>``.  Raises ``LimiterUnavailable`` when it is not this
    user's alone.
    """
    base = os.environ.get("XDG_RUNTIME_DIR", "").strip()
    folder = (
        Path(base) / "mktsync" if base else Path(tempfile.gettempdir()) / f"mktsync-{os.getuid()}"
    )
    try:
        folder.mkdir(mode=0o700, parents=bool(base), exist_ok=True)
        info = os.lstat(folder)
    except OSError as exc:
        raise LimiterUnavailable(
            f"{folder}: the folder of this machine's shared limits cannot be made "
            f"({exc.strerror or type(exc).__name__}); nothing was sent"
        ) from None
    if (
        not stat.S_ISDIR(info.st_mode)
        or info.st_uid != os.getuid()
        or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        raise LimiterUnavailable(
            f"{folder}: the folder of this machine's shared limits is not this user's "
            "alone (a link, another owner, or writable by others); remove it, or set "
            "XDG_RUNTIME_DIR to a folder of your own; nothing was sent"
        )
    return folder


def file_key(key: str) -> str:
    """An instance key as a file name: ``localhost:8080`` -> ``localhost_8080``."""
    return re.sub(r"[^a-z0-9.-]", "_", key.lower())


class FileSlots:
    """The slots of one instance in ``folder``; see the module docstring."""

    def __init__(self, folder: Path, key: str, *, clock: Callable[[], float] = time.time) -> None:
        self.path = folder / f"limits-{file_key(key)}.json"
        self._lock_path = folder / f"limits-{file_key(key)}.lock"
        self.name = str(self.path)
        self._clock = clock
        self._thread_lock = threading.Lock()
        try:
            self._fd: int | None = os.open(
                self._lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600
            )
        except OSError as exc:
            raise LimiterUnavailable(self._failure("cannot be opened", exc)) from None

    def __repr__(self) -> str:
        return f"FileSlots({self.name!r})"

    def take(self, claim: Claim, now: float | None) -> Grant:
        check_times(self.name, lease=claim.lease, window=claim.window)
        return self._edit(lambda table, t: table.take(claim, now=t), now)

    def renew(self, owner: str, *, lease: float, window: float, now: float | None) -> None:
        check_times(self.name, lease=lease, window=window)
        self._edit(lambda table, t: table.renew(owner, now=t, lease=lease, window=window), now)

    def release(
        self, owner: str, call: int, *, window: float, sent: bool, now: float | None
    ) -> None:
        check_times(self.name, window=window)
        self._edit(
            lambda table, t: table.release(owner, call, now=t, window=window, sent=sent), now
        )

    def hold(self, seconds: float, *, code: str, now: float | None) -> None:
        check_times(self.name, hold=seconds)
        self._edit(lambda table, t: table.hold(now=t, seconds=seconds), now)

    def look(self, capacity: int, now: float | None) -> Window:
        """How the rate slots stand (read only: the lock, no write)."""
        return self._edit(lambda table, t: table.look(capacity, now=t), now, write=False)

    def share_room(self, day: str, room: int, *, now: float | None) -> int:
        """Lower ``day``'s room to ``room``, never raise it (``slots``); the room left."""
        return self._edit(lambda table, t: table.share_room(day, room), now)

    def table(self) -> SlotTable:
        """The table as it is now (for tests and inspection)."""
        return self._edit(lambda table, t: table, None, write=False)

    def close(self) -> None:
        with self._thread_lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def _edit(
        self,
        change: Callable[[SlotTable, float], T],
        now: float | None,
        *,
        write: bool = True,
    ) -> T:
        with self._thread_lock:
            if self._fd is None:
                raise LimiterUnavailable(f"{self.name}: the shared limits were closed")
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
                try:
                    table = self._load()
                    at = self._clock() if now is None else now
                    if table.damaged(at):
                        raise LimiterUnavailable(
                            self._damaged(
                                "a slot or hold is NaN, infinite or more than a day ahead"
                            )
                        )
                    result = change(table, at)
                    if write:
                        self._save(table)
                    return result
                finally:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
            except OSError as exc:
                raise LimiterUnavailable(self._failure("cannot be read or written", exc)) from None

    def _load(self) -> SlotTable:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return SlotTable()
        try:
            return SlotTable.from_json(json.loads(text))
        except ValueError:
            raise LimiterUnavailable(self._damaged("not a table of slots")) from None

    def _save(self, table: SlotTable) -> None:
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".limits-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(table.to_json(), f, separators=(",", ":"))
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    def _damaged(self, why: str) -> str:
        return (
            f"{self.name}: this machine's shared limits are damaged ({why}); delete the "
            "file when no mktsync apply is running"
        )

    def _failure(self, what: str, exc: OSError) -> str:
        return f"{self.name}: this machine's shared limits {what} ({exc.strerror or type(exc).__name__})"
