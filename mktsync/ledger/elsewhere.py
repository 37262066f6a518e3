"""Other ledgers, read without reaching anywhere new (issue 25).

>>> reading = read_other("sqlite:///.mktsync/old.db", config, current, {1234}, trusted=True)  # doctest: +SKIP
>>> reading.sends                                                                             # doctest: +SKIP
1234

``history`` asks two things of a ledger other than the plan's: was it ever used, and
how many sends of these campaigns does it hold.  The answer is read only when that
needs no new reach: an SQLite file inside the repository (``config.confine``; never a
file outside it, never one under ``.git``), or, for a ``ledger:`` from a reviewed version
of the config (``trusted``), one whole ``${VAR}`` the workflow set.  A URL written in a
file, a default, an unset variable, a file that is not a ledger: not read, and the
reason kept for the message.  Ledgers are opened with ``create=False``: nothing is made.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pathlib import Path

    from mktsync.config.model import Config, EnvString
    from mktsync.ledger.reader import LedgerReader

State = Literal["absent", "empty"]


def ledger_state(ledger: LedgerReader) -> State | None:
    """``absent`` (no file, no tables), ``empty`` (never used), or None (in use).

    Used means any item record or any run (an apply that sent nothing, a baseline).
    """
    with ledger.transaction() as tx:
        used = tx.execute("SELECT 1 FROM items LIMIT 1") or tx.execute("SELECT 1 FROM runs LIMIT 1")
    if used:
        return None
    # A missing SQLite file or PostgreSQL schema is read as an empty in-memory ledger
    # (``open_ledger(create=False)``): an SQLite store without a path.
    return "absent" if ledger.in_memory else "empty"


def sends_of(ledger: LedgerReader, campaign_ids: Iterable[int]) -> int:
    """How many ``sent`` records ``ledger`` holds for these campaign ids."""
    ids = sorted(set(campaign_ids))
    total = 0
    size = max(1, ledger.max_params)
    with ledger.transaction() as tx:
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            marks = ", ".join("?" * len(chunk))
            rows = tx.execute(
                f"SELECT COUNT(*) FROM items WHERE status = 'sent' AND campaign_id IN ({marks})",
                chunk,
            )
            total += int(rows[0][0])
    return total


@dataclass(frozen=True, kw_only=True)
class Place:
    """Where a ledger URL leads: an SQLite file's real path, or the URL itself."""

    where: str

    @classmethod
    def of(cls, url: str, base_dir: Path) -> Place:
        from mktsync.config.confine import sqlite_written_path

        path = sqlite_written_path(url)
        if path is None:
            return cls(where=url)
        return cls(where=os.path.realpath(base_dir / path))


@dataclass(frozen=True, kw_only=True)
class Reading:
    """What was learnt of another ledger: its sends and use, or why it was not read."""

    sends: int | None = None
    in_use: bool | None = None
    unread: str | None = None
    same: bool = False  # the ledger in use, written another way
    # Not read because nothing is there to read: a relative SQLite file this checkout does
    # not hold, an in-memory ledger.  Unlike a database this checkout cannot reach (a
    # ``${VAR}`` URL, a file outside the repository), it witnesses nothing by itself.
    nothing_here: bool = False


def read_other(
    written: str,
    config: Config,
    current: Place,
    ids: Iterable[int],
    *,
    trusted: bool,
    seen: set[Place] | None = None,
    base_dir: Path | None = None,
) -> Reading:
    """Read another ledger's sends of ``ids``, if it can be read without reaching anywhere new.

    ``trusted``: ``written`` comes from a reviewed version of the config (the base branch,
    an earlier commit), so one whole ``${VAR}`` the workflow set may name a database.
    ``base_dir``: the folder ``written`` was written in (an earlier config's, when it was
    elsewhere; default the config's): its relative ``sqlite:///`` path starts there.
    """
    from mktsync.config.confine import PathRefused, confined_path, sqlite_written_path
    from mktsync.config.model import EnvString
    from mktsync.config.policy import Policy
    from mktsync.errors import MktsyncError
    from mktsync.ledger.opening import open_ledger

    value = EnvString(raw=written, field="ledger", policy=config.policy)
    unset = [n for n in value.variables if not os.environ.get(n)]
    try:
        url = value.resolve()
    except MktsyncError:  # a variable not allowed, unset without a default, or embedded
        return Reading(unread=f"${{{unset[0]}}} is not set" if unset else "its ${VAR} is refused")
    folder = config.base_dir if base_dir is None else base_dir
    place = Place.of(url, folder)
    if place == current or (seen is not None and place in seen):
        return Reading(same=True)
    if seen is not None:
        seen.add(place)
    if is_memory(url):
        return Reading(unread="a throwaway in-memory ledger", nothing_here=True)
    path = sqlite_written_path(url)
    if path is not None:
        try:
            real = confined_path(path, folder, Policy(data_root=config.policy.data_root))
        except PathRefused:
            return Reading(unread="outside the repository")
        if not real.is_file():
            return Reading(unread="no such file in this checkout", nothing_here=True)
        url = f"sqlite:///{real}"
    elif not (trusted and _from_workflow(value, url)):
        return Reading(unread="not an SQLite file in the repository")
    try:
        with open_ledger(url, folder, create=False) as other:
            state = ledger_state(other)
            return Reading(sends=sends_of(other, ids), in_use=state is None)
    except MktsyncError:  # not a ledger, damaged, unreachable: its message may hold the URL
        return Reading(unread="not a readable ledger")


def _from_workflow(value: EnvString, url: str) -> bool:
    """``url`` is the whole value of the one variable written (set by the workflow, never a
    default or a host written in the file)."""
    names = value.variables
    return (
        len(names) == 1
        and value.raw.strip().startswith("${")
        and value.raw.strip().endswith("}")
        and os.environ.get(names[0]) == url
    )


def is_memory(url: str) -> bool:
    return url.split("?", 1)[0] == "sqlite:///:memory:"
