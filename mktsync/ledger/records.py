"""The records the ledger hands out: one per item triggered, one per run.

They are frozen, keyword-only dataclasses so they can cross module boundaries
(``plan`` reads them, ``report`` prints them) without anyone changing them.
Times are ISO-8601 UTC strings (``2026-11-29T01:50:36.123Z``), as stored.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from mktsync.items import Tokens

Status = Literal["pending", "sent", "failed", "unknown"]
STATUSES: tuple[Status, ...] = ("pending", "sent", "failed", "unknown")

RepairAction = Literal["mark-sent", "forget"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerRecord:
    """What the ledger knows about one (campaign id, key).

    >>> rec = ledger.lookup(1234, ["ann@example.com/w1"])["ann@example.com/w1"]
    >>> rec.status, rec.attempts
    ('sent', 1)
    """

    campaign_id: int
    key: str
    lead: str
    lead_id: int | None
    tokens: Tokens
    token_hash: str
    status: Status
    attempts: int
    request_id: str | None
    error_code: str | None
    error_message: str | None
    run_id: int | None
    created_at: str
    updated_at: str


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    """One run that wrote to the ledger: an ``apply``, or a manual repair (``note`` says why).

    >>> [r.command for r in ledger.runs(limit=2)]
    ['apply', 'repair mark-sent']
    """

    run_id: int
    command: str
    config_digest: str | None
    git_commit: str | None
    who: str
    started_at: str
    finished_at: str | None
    counts: Mapping[str, int]
    exit_status: int | None
    note: str | None


@dataclass(frozen=True, kw_only=True)
class LockHolder:
    """Who holds (or wants) the run lock; written where a waiting run can read it."""

    pid: int
    who: str
    command: str
    since: str

    def describe(self) -> str:
        return f"pid {self.pid} ({self.who}) running {self.command!r} since {self.since}"

    def as_dict(self) -> dict[str, object]:
        return {"pid": self.pid, "who": self.who, "command": self.command, "since": self.since}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> LockHolder:
        pid = data.get("pid")
        return cls(
            pid=pid if isinstance(pid, int) else 0,
            who=str(data.get("who", "?")),
            command=str(data.get("command", "?")),
            since=str(data.get("since", "?")),
        )

    @classmethod
    def current(cls, command: str) -> LockHolder:
        return cls(pid=os.getpid(), who=whoami(), command=command, since=utc_now())


def utc_now() -> str:
    """Now as stored: ISO-8601 UTC with milliseconds and a ``Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def whoami() -> str:
    """``user@host`` for the runs table and lock messages."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no $USER, e.g. in some containers
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"
