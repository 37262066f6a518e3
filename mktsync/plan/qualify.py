"""Qualification rules against the plan: re-triggers Marketo would silently skip.

A smart campaign's qualification rule decides whether a lead may run through its flow
again: ``once`` (never), ``any`` (every time), ``interval`` (once per period).  Marketo
answers a trigger with success either way and skips the leads that do not qualify, so a
``retrigger: on_change`` correction sent into a ``once`` campaign is reported as sent
while nobody receives it.  A retry of a *failed* item is not a risk: Marketo refused the
earlier call, so the lead did not run through it; were it to have run anyway, the skip
only keeps it from getting the same message twice.

``validate`` cannot know the rule (it is offline); apply's preflight reads it from the
asset API and records what it saw in a small JSON file beside the ledger
(``campaign_info_path``), so that ``plan`` -- also offline -- can warn from the last apply's
view, and so that it can estimate preflight's calls.  ``apply`` refuses such a campaign
unless its config entry says ``expect_skips: true``.

The file is advisory: missing or unreadable, plan simply knows no rules.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mktsync.config.model import Config
from mktsync.errors import one_line
from mktsync.plan.records import Action, CampaignPlan, Plan

INFO_VERSION = 1
POSTGRES_INFO_NAME = ".mktsync-campaigns.json"


@dataclass(frozen=True, kw_only=True)
class CampaignSeen:
    """What apply's preflight saw of one Marketo campaign."""

    campaign_id: int
    rule: str | None  # "once" | "any" | "interval"; None when Marketo did not say
    interval: int | None = None
    unit: str | None = None
    preflight_calls: int = 0
    seen_at: str = ""

    def describe(self) -> str:
        if self.rule == "interval" and self.interval and self.unit:
            return f"interval (once every {self.interval} {self.unit})"
        return str(self.rule)


@dataclass(frozen=True, kw_only=True)
class Risk:
    """Items a campaign entry would send again to leads its rule may skip."""

    campaign: str
    campaign_id: int
    rule: str
    retriggers: int  # ~ retrigger items (tokens changed, retrigger: on_change)
    blocking: bool  # once: apply refuses; interval: a warning only

    def message(self) -> str:
        sent = f"{_leads(self.retriggers)} re-triggered with changed tokens (retrigger: on_change)"
        if self.blocking:
            return (
                f"campaign '{self.campaign}' ({self.campaign_id}) has qualification rule 'once' "
                f"(each lead runs through it once): Marketo would answer success but skip the "
                f"{sent} that already ran through it; set 'expect_skips: true' on the entry if "
                "that is intended, or change the campaign's qualification rule in Marketo"
            )
        return (
            f"campaign '{self.campaign}' ({self.campaign_id}) has qualification rule "
            f"{self.rule}: Marketo would answer success but skip the {sent} that ran through "
            "it within that period"
        )


def _leads(n: int) -> str:
    return f"{n} lead" if n == 1 else f"{n} leads"


def campaign_info_path(ledger_url: str, base_dir: Path) -> Path | None:
    """``ledger.db`` -> ``ledger.db.campaigns.json`` beside it; a PostgreSQL ledger keeps
    the file in the config's folder; an in-memory ledger keeps none."""
    if ledger_url.startswith("sqlite://"):
        rest = ledger_url.removeprefix("sqlite://")
        if not rest.startswith("/") or rest in ("/", "/:memory:"):
            return None
        path = base_dir / Path(rest[1:])
        return path.with_name(path.name + ".campaigns.json")
    if ledger_url.startswith(("postgresql://", "postgres://")):
        return base_dir / POSTGRES_INFO_NAME
    return None


def load_seen(path: Path | None) -> dict[int, CampaignSeen]:
    """The campaigns the last applies saw; ``{}`` when the file is missing or unreadable."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["campaigns"] if data.get("version") == INFO_VERSION else {}
        return {
            int(cid): CampaignSeen(
                campaign_id=int(cid),
                rule=_str_or_none(e.get("rule")),
                interval=e.get("interval") if isinstance(e.get("interval"), int) else None,
                unit=_str_or_none(e.get("unit")),
                preflight_calls=int(e.get("preflight_calls", 0)),
                seen_at=str(e.get("seen_at", "")),
            )
            for cid, e in entries.items()
            if isinstance(e, Mapping)
        }
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def save_seen(path: Path | None, seen: Iterable[CampaignSeen]) -> None:
    """Merge ``seen`` into the file (atomically); a failure to write is not an error."""
    if path is None:
        return
    entries: dict[int, CampaignSeen] = load_seen(path)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for s in seen:
        entries[s.campaign_id] = CampaignSeen(
            campaign_id=s.campaign_id,
            rule=s.rule,
            interval=s.interval,
            unit=s.unit,
            preflight_calls=s.preflight_calls,
            seen_at=s.seen_at or stamp,
        )
    payload: dict[str, Any] = {
        "version": INFO_VERSION,
        "note": "written by mktsync apply: what preflight saw of each Marketo campaign",
        "campaigns": {
            str(cid): {
                "rule": s.rule,
                "interval": s.interval,
                "unit": s.unit,
                "preflight_calls": s.preflight_calls,
                "seen_at": s.seen_at,
            }
            for cid, s in sorted(entries.items())
        },
    }
    with contextlib.suppress(OSError):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(payload, f, indent=2)
                f.write("\n")
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def campaign_risk(
    config: Config, cp: CampaignPlan, rule: str | None, describe: str | None = None
) -> Risk | None:
    """The risk one campaign entry's part of the plan runs under ``rule`` (None if none)."""
    if rule not in ("once", "interval") or config.campaigns[cp.name].expect_skips:
        return None
    # Counted from the calls as they stream (issue 16), never listing every item.
    retriggers = sum(1 for call in cp.calls for p in call.items if p.action == Action.RETRIGGER)
    if not retriggers:
        return None
    return Risk(
        campaign=cp.name,
        campaign_id=cp.campaign_id,
        rule=describe or rule,
        retriggers=retriggers,
        blocking=rule == "once",
    )


def plan_risks(config: Config, plan: Plan, seen: Mapping[int, CampaignSeen]) -> list[Risk]:
    """Risks the plan runs, by the rules the last apply saw (plan is offline)."""
    risks = []
    for cp in plan.campaigns:
        known = seen.get(cp.campaign_id)
        if known is None:
            continue
        risk = campaign_risk(config, cp, known.rule, known.describe())
        if risk is not None:
            risks.append(risk)
    return risks


def plan_warnings(config: Config, plan: Plan, ledger_url: str | None = None) -> list[str]:
    """``warning: ...`` lines for ``mktsync plan`` (stderr), by the last apply's view."""
    url = ledger_url or config.ledger.resolve()
    seen = load_seen(campaign_info_path(url, config.base_dir))
    lines = []
    for risk in plan_risks(config, plan, seen):
        when = seen[risk.campaign_id].seen_at
        verb = "apply will refuse the campaign" if risk.blocking else "apply will send"
        text = f"warning: {risk.message()} ({verb}; rule as seen by apply at {when})"
        lines.append(one_line(text))  # names come from the config: nothing hidden
    return lines


def preflight_estimates(config: Config, ledger_url: str | None = None) -> dict[int, int]:
    """Calls each campaign's preflight made at the last apply (for the plan's estimate)."""
    url = ledger_url or config.ledger.resolve()
    seen = load_seen(campaign_info_path(url, config.base_dir))
    return {cid: s.preflight_calls for cid, s in seen.items() if s.preflight_calls > 0}


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
