"""The typed options of ``mktsync apply``: what the command line asked for (``ApplyRequest``)
and where Marketo is (``Endpoint``).

Kept apart from ``cli.apply`` (the command) so that ``cli.record_only`` can read a request
without importing the command that calls it: no circle between the two.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mktsync.cli.options import Output

if TYPE_CHECKING:
    from datetime import datetime

    from mktsync.config.policy import Policy


@dataclass(frozen=True, kw_only=True)
class ApplyRequest:
    target: Path
    config: Path | None = None
    emulator: bool = False
    assume_yes: bool = False
    ledger_url: str | None = None
    campaigns: tuple[str, ...] | None = None
    campaign_ids: tuple[int, ...] | None = None
    retry_unknown: bool = False
    fail_fast: bool = False
    lock_timeout: float = 30.0
    report_format: str = "text"
    log_format: str = "text"
    policy: Policy | None = None  # --allow-env, --data-root: what ${VAR} and sources may reach
    output: Output = dataclasses.field(default_factory=Output)
    environment: str | None = None  # --env: one of the config's environments
    record_only: bool = False  # --record-only: record the plan as sent, call nothing
    why: str | None = None
    new_ledger: bool = False  # --new-ledger: start a new ledger despite an earlier one
    base: str | None = None  # --base REF: the base branch the config is compared with
    now: tuple[str, datetime] | None = None  # --now / MKTSYNC_NOW: as given, and parsed
    reviewed: Path | None = None  # --reviewed PLAN: send only what it also sends
    max_age: float | None = None  # --max-age DAYS: how old a reviewed plan may be (None: 7)


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    base_url: str
    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # never show the secret
        return f"Endpoint(base_url={self.base_url!r}, client_id=..., client_secret=...)"
