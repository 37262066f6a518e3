"""Settle against the emulator: run it, and judge its verdicts against what the emulator
really carried out (its record of triggers and schedules)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from apply_helpers import fast_retry

from mktsync.apply.settle import SettleReport, settle_unknown
from mktsync.config import load_config
from mktsync.emulator import Emulator
from mktsync.ledger import LedgerRecord, open_ledger
from mktsync.marketo import MarketoClient, RetryPolicy
from mktsync.marketo.activities import ReadBudget


def settle(
    path: Path,
    emu: Emulator,
    *,
    budget: ReadBudget | None = None,
    retry: RetryPolicy | None = None,
    min_age: timedelta = timedelta(0),
) -> SettleReport:
    """``mktsync ledger settle --min-age 0`` through the library, against ``emu``."""
    config = load_config(path)
    with (
        open_ledger(config.ledger.resolve(), config.base_dir) as ledger,
        MarketoClient(
            emu.base_url,
            emu.client_id,
            emu.client_secret,
            limits=config.marketo.limits,
            retry=retry or fast_retry(),
        ) as client,
    ):
        return settle_unknown(ledger, client, min_age=min_age, budget=budget)


def records(path: Path) -> list[LedgerRecord]:
    config = load_config(path)
    with open_ledger(config.ledger.resolve(), config.base_dir, create=False) as ledger:
        return list(ledger.iter_records())


def carried_out(emu: Emulator) -> list[tuple[int, int, dict[str, str]]]:
    """Every (campaign, lead, My Tokens) a trigger Marketo carried out reached."""
    return [
        (int(t["campaign_id"]), int(lead), dict(t["tokens"]))
        for t in emu.triggers()
        for lead in t["lead_ids"]
    ]


def was_carried_out(rec: LedgerRecord, done: list[tuple[int, int, dict[str, str]]]) -> bool:
    """Did a trigger Marketo carried out reach this record's lead with its tokens?"""
    tokens = dict(rec.tokens)
    return any(
        cid == rec.campaign_id
        and lead == rec.lead_id
        and all(tokens.get(k) == v for k, v in sent.items())
        for cid, lead, sent in done
    )


def duplicates(emu: Emulator) -> int:
    """Triggers and batch runs Marketo carried out more than once (same lead and tokens,
    or same batch campaign and run time), as the emulator recorded them."""
    runs: Counter[Any] = Counter(
        (cid, lead, tuple(sorted(tokens.items()))) for cid, lead, tokens in carried_out(emu)
    )
    runs.update((s["campaign_id"], s["run_at"]) for s in emu.schedules())
    return sum(n - 1 for n in runs.values() if n > 1)


@dataclass
class Tally:
    """Per kind of item: how many were unknown, and how settle decided them."""

    items: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)
    not_sent: Counter[str] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)

    def add(self, report: SettleReport, before: dict[tuple[int, str], LedgerRecord],
            done: list[tuple[int, int, dict[str, str]]], kind_of: dict[int, str]) -> None:  # fmt: skip
        for campaign in report.campaigns:
            for item in campaign.items:
                kind = kind_of[item.campaign_id]
                self.items[kind] += 1
                counter = {"sent": self.sent, "not_sent": self.not_sent}.get(item.verdict)
                (self.unknown if counter is None else counter)[kind] += 1
                if item.verdict == "unknown" or item.kind == "batch":
                    continue
                truth = was_carried_out(before[(item.campaign_id, item.key)], done)
                if truth != (item.verdict == "sent"):
                    self.wrong.append(f"{item.key}: settled {item.verdict}, truth sent={truth}")

    def lines(self) -> list[str]:
        return [
            f"{kind:<10} items {self.items[kind]:>3}  settled sent {self.sent[kind]:>3}  "
            f"not sent {self.not_sent[kind]:>3}  left unknown {self.unknown[kind]:>3}"
            for kind in sorted(self.items)
        ]
