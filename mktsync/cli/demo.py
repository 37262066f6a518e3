"""``mktsync apply --emulator``: a Marketo emulator seeded from the config, for a safe first run.

The seed holds what a real instance would need for the config to work: each campaign
active and requestable in a program holding its My Tokens, and a lead for every email and
id in the sources.  The demo keeps its own ledger (``.mktsync/emulator-ledger.db``) so that
a demo never marks anything sent in the real ledger; with ``--env NAME`` one per environment
(``.mktsync/emulator-NAME-ledger.db``), as each real instance has its own, so that a demo of
the sandbox never marks the production demo's sends.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mktsync.config.model import Config
from mktsync.emulator import Emulator, EmulatorOptions, serve
from mktsync.emulator.lead_fields import STANDARD_FIELDS
from mktsync.items import Item

EMULATOR_LEDGER = "sqlite:///.mktsync/emulator-ledger.db"
FIRST_LEAD_ID = 100_001
PROGRAM_BASE = 50_000


def emulator_ledger(environment: str | None) -> str:
    """The demo's ledger for ``environment`` (``--env``; None: the top-level one)."""
    if not environment:
        return EMULATOR_LEDGER
    return f"sqlite:///.mktsync/emulator-{environment}-ledger.db"


def seed_for(config: Config) -> dict[str, Any]:
    """An emulator seed under which every campaign of ``config`` can be applied."""
    from mktsync.render import iter_items

    tokens: dict[int, set[str]] = {}
    names: dict[int, str] = {}
    emails: set[str] = set()
    ids: set[int] = set()
    for campaign in config.campaigns.values():
        names.setdefault(campaign.campaign_id, campaign.name)
        tokens.setdefault(campaign.campaign_id, set()).update(
            t.name[len("{{my.") : -2] for t in campaign.tokens
        )
        for item in iter_items(config, campaign):
            if isinstance(item, Item):
                if item.email is not None:
                    emails.add(item.email)
                elif item.lead_id is not None:
                    ids.add(item.lead_id)
    batch: set[int] = set()
    for schedule in config.schedules.values():  # batch campaigns, run by schedule.json
        names.setdefault(schedule.campaign_id, schedule.name)
        batch.add(schedule.campaign_id)
        tokens.setdefault(schedule.campaign_id, set()).update(
            t.name[len("{{my.") : -2] for t in schedule.tokens
        )
    leads: list[dict[str, Any]] = [{"id": i, "email": f"lead{i}@example.com"} for i in sorted(ids)]
    next_id = max([FIRST_LEAD_ID - 1, *ids]) + 1
    for n, email in enumerate(sorted(emails)):
        leads.append({"id": next_id + n, "email": email})
    return {
        "programs": [
            {
                "id": PROGRAM_BASE + cid,
                "name": f"Program of {names[cid]}",
                "tokens": [{"name": t, "type": "text", "value": ""} for t in sorted(tokens[cid])],
            }
            for cid in sorted(tokens)
        ],
        "campaigns": [
            {
                "id": cid,
                "name": names[cid],
                "type": "batch" if cid in batch else "trigger",
                "active": cid not in batch,
                "requestable": cid not in batch,
                "program_id": PROGRAM_BASE + cid,
            }
            for cid in sorted(tokens)
        ],
        "leads": leads,
        # Each custom lead field the config writes (issue 15), as a real instance would have
        # it; standard ones (unsubscribed, a boolean: issue 25) keep the emulator's types.
        "lead_fields": [
            {"name": name, "displayName": name, "dataType": "string", "length": 255}
            for name in sorted({n for c in config.campaigns.values() for n, _ in c.fields})
            if name not in STANDARD_FIELDS
        ],
    }


@contextmanager
def emulator_for(config: Config, options: EmulatorOptions | None = None) -> Iterator[Emulator]:
    with serve(seed=seed_for(config), options=options or EmulatorOptions()) as emu:
        yield emu


def account(emu: Emulator) -> list[str]:
    """What the emulator received, in a few lines (for the end of a demo run)."""
    triggers, schedules = emu.triggers(), emu.schedules()
    per_campaign: Counter[int] = Counter()
    leads: Counter[int] = Counter()
    for t in triggers:
        per_campaign[int(t["campaign_id"])] += 1
        leads[int(t["campaign_id"])] += len(t["lead_ids"])
    stats = emu.stats()
    runs = [f"  batch campaign {s['campaign_id']} scheduled at {s['run_at']}" for s in schedules]
    lines = [
        f"The emulator received {len(triggers)} trigger call{'s' * (len(triggers) != 1)}"
        f" for {sum(leads.values())} lead{'s' * (sum(leads.values()) != 1)}"
        + (":" if triggers else ".")
    ]
    for cid in sorted(per_campaign):
        lines.append(f"  campaign {cid}: {per_campaign[cid]} calls, {leads[cid]} leads")
    lines += runs
    rejected = stats.get("rejected", {})
    lines.append(
        f"  API calls counted: {stats.get('calls', '?')}; refused for rate: "
        f"{rejected.get('rate', 0)}, concurrency: {rejected.get('concurrency', 0)}, "
        f"quota: {rejected.get('quota', 0)}"
    )
    return lines
