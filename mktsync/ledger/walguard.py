"""The lost-log guard of an SQLite ledger: telling a log folded into the file from a lost one.

>>> guard = Guard(run="9f2c", lock="/repo/.mktsync/.mktsync-ledger-2049-131.lock", commit=7)
>>> Guard.parse(guard.text()) == guard
True
>>> Guard.parse("9f2c").commit is None  # an older mktsync's guard: a run id alone
True

In WAL mode a run's commits go to ``ledger.db-wal`` and reach ``ledger.db`` only when
checkpointed, so ``ledger.db`` found without its log may lack the run's last sends.  A run
therefore sets ``ledger_meta.wal_guard`` and checkpoints it into the file before it writes
anything else, and clears it at its clean end (``sqlite``).  A file found with the guard set
and no log beside it (``sqlite_open``) is one of two things:

* **lost**: the file was copied, restored or moved without its ``-wal``, or the ``-wal``
  was deleted.  The file holds the run's commits up to its last checkpoint, not the later
  ones: the next apply could trigger those leads again.
* **folded**: the run died (``kill -9``, a power cut) and left its log; a program that
  opened the file since with a plain SQLite connection (the ``sqlite3`` shell, a database
  browser) checkpointed the log into the file when it closed and removed it.  The file
  holds every commit; nothing is missing.

The file alone cannot tell them apart: a checkpoint only copies pages.  What can is the
number of the run's last commit, kept in two places.  **In the file**: every write
transaction of a run raises ``commit`` in the guard, in the same transaction, so the file
holds number *n* exactly when it holds commit *n* -- the number travels through the log and
a checkpoint with the commit it numbers, and a lost log takes it away with the commit.
**Outside the log**: before committing *n*, the run writes *n* and its run id (the
*intent*) into its lock file, beside the ledger and named by the file's device and inode,
and syncs it.

So with ``m`` the number in the file and ``i`` the intent, after any end of the run (a kill,
a power cut): every commit the run made is numbered at most ``i``, since each intent is on
disk before its commit.  If ``m == i``, the file holds the last commit the run could have
made, and with it every earlier one (a checkpoint writes the log's commits in order), so
the log was folded in: the file is opened as after any crash, and the next run checks it
in full (``unclean``).  Everything else is refused, with both possibilities in the message,
never accepted silently:

* ``m < i``: a commit the run began is not in the file (lost, or killed in the instant
  between the intent and its commit: the two cannot be told apart);
* no intent for this file: no lock file of this device and inode (a copy or a move has a
  new identity, or its lock file stayed behind), another run's intent, or a guard written
  by an older mktsync (a run id without a number).

Left open: a checkpoint killed half-way leaves pages of several commits in the file; it
is safe while the log stays (SQLite finishes it), and if the log is then deleted the file
is torn, which no marker in it can show.  The next run's full ``integrity_check`` sees
structural damage only.  So delete a ``-wal`` file never; keep exports, not raw files.

The guard also names the run's lock file, so a run that reaches the file by a name in
another folder (a hard link: SQLite keeps one log per name) finds the holder there and is
refused as "locked by another run" instead of "saved without its log".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Guard:
    """What ``ledger_meta.wal_guard`` holds while a run writes the ledger.

    ``run``: random, one per run.  ``lock``: the run lock's file (its holder is described
    there).  ``commit``: the number of the run's last write transaction in this state of
    the file (None: written by an older mktsync, which kept no count).
    """

    run: str
    lock: str | None = None
    commit: int | None = None

    def text(self) -> str:
        return json.dumps({"run": self.run, "lock": self.lock, "commit": self.commit})

    def next(self) -> Guard:
        """The guard of the run's next write transaction."""
        return Guard(run=self.run, lock=self.lock, commit=(self.commit or 0) + 1)

    def intent(self) -> dict[str, object]:
        """What the lock file says before this guard's transaction commits."""
        return {"guard": self.run, "commit": self.commit}

    def matches(self, written: Any) -> bool:
        """Does the lock file's content (its parsed JSON) hold this guard's intent?"""
        return (
            self.commit is not None
            and isinstance(written, dict)
            and written.get("guard") == self.run
            and written.get("commit") == self.commit
        )

    @classmethod
    def parse(cls, text: str) -> Guard:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("run"), str):
            return cls(run=text)  # an older mktsync's guard: a run id alone
        lock, commit = data.get("lock"), data.get("commit")
        return cls(
            run=data["run"],
            lock=lock if isinstance(lock, str) else None,
            commit=commit if isinstance(commit, int) and not isinstance(commit, bool) else None,
        )
