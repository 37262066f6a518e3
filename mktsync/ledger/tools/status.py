"""``mktsync ledger status|show``: what a ledger holds, read without creating it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mktsync.ledger.core import Ledger
from mktsync.ledger.records import LedgerRecord, RunRecord
from mktsync.ledger.tools.target import KeysNotFound, LedgerTarget, reading


@dataclass(frozen=True, kw_only=True)
class CampaignCounts:
    campaign_id: int
    counts: Mapping[str, int]  # status -> records; statuses absent are 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, kw_only=True)
class LedgerStatus:
    """Records per campaign and status, and the latest runs (newest first)."""

    ledger: str
    campaigns: tuple[CampaignCounts, ...]
    runs: tuple[RunRecord, ...]


def ledger_status(target: LedgerTarget, *, runs: int = 5) -> LedgerStatus:
    with reading(target) as ledger:
        by_campaign: dict[int, dict[str, int]] = {}
        for campaign_id, status, count in ledger.status_counts():
            by_campaign.setdefault(campaign_id, {})[status] = count
        return LedgerStatus(
            # As written (never a ${VAR}'s value), and whether it exists yet.
            ledger=target.shown + (" (absent; empty view)" if _absent(ledger, target) else ""),
            campaigns=tuple(
                CampaignCounts(campaign_id=c, counts=n) for c, n in by_campaign.items()
            ),
            runs=tuple(ledger.runs(limit=runs)),
        )


def show(target: LedgerTarget, key: str, campaign_id: int | None = None) -> list[LedgerRecord]:
    """Every record of ``key`` (in one campaign, or all); ``KeysNotFound`` when there is none."""
    with reading(target) as ledger:
        records = ledger.get(campaign_id, key)
    if not records:
        raise KeysNotFound(campaign_id, [key], repair=False)
    return records


def _absent(ledger: Ledger, target: LedgerTarget) -> bool:
    """The empty view of a ledger not made yet (not ``sqlite:///:memory:`` itself)."""
    return ledger.in_memory and not target.url.startswith("sqlite:///:memory:")
