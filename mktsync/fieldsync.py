"""Lead fields in apply (issue 15): the preflight against ``describe2``, and the writes.

>>> refusals = field_refusals(config, plan, client.describe_lead_fields())  # doctest: +SKIP
>>> failed = write_fields(config, calls, resolution, client)               # doctest: +SKIP

Fields are written before any trigger, 300 leads a ``leads.json`` call (``updateOnly`` by
lead id).  A lead whose record Marketo skipped is not triggered: its item fails with
Marketo's reason, as are all leads of a ``leads.json`` call Marketo refused or whose
answer was lost (they are tried again next run).  The write is idempotent and nothing is recorded for it: a run that dies
after it and before the trigger leaves the item new, and the next run writes the same
values again, then triggers (never twice, never lost).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from mktsync.config.model import Config
from mktsync.errors import MarketoError
from mktsync.items import Item, recorded_tokens
from mktsync.plan import Plan
from mktsync.resolve import Resolution

BATCH = 300


class FieldInfo(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def writable(self) -> bool: ...


def needs_fields(config: Config, plan: Plan) -> bool:
    """Does any campaign with calls write lead fields (so preflight describes them)?"""
    return any(
        cp.calls and cp.name in config.campaigns and config.campaigns[cp.name].fields
        for cp in plan.campaigns
    )


def field_refusals(
    config: Config, plan: Plan, described: Mapping[str, FieldInfo]
) -> dict[int, str]:
    """Campaign id -> why it is refused: a declared field the instance lacks or that the
    REST API may not write, located at its line, with the closest existing API names."""
    out: dict[int, list[str]] = {}
    for cp in plan.campaigns:
        campaign = config.campaigns.get(cp.name)
        if not cp.calls or campaign is None:
            continue
        for name, template in campaign.fields:
            found = described.get(name)
            if found is not None and found.writable:
                continue
            where = template.position
            place = f"{where.file}:{where.line}:{where.column}: campaigns.{cp.name}.fields.{name}"
            if found is None:
                close = difflib.get_close_matches(name, list(described), n=3, cutoff=0.6)
                hint = f"; closest: {', '.join(close)}" if close else ""
                why = f"{place}: Marketo has no lead field with API name '{name}'{hint}"
            else:
                why = f"{place}: lead field '{name}' is read-only through the REST API"
            out.setdefault(cp.campaign_id, []).append(why)
    return {cid: "; ".join(reasons) for cid, reasons in out.items()}


class Writer(Protocol):
    def update_lead_fields(self, records: list[dict[str, Any]]) -> list[tuple[str, str] | None]: ...


def write_fields(
    config: Config, items: Iterable[Item], resolution: Resolution, client: Writer
) -> tuple[dict[tuple[int, str], tuple[str, str]], int]:
    """Write each item's declared fields; returns the items Marketo skipped,
    ``(campaign id, key) -> (code, message)``, and the leads written."""
    skipped: dict[tuple[int, str], tuple[str, str]] = {}
    batch: list[tuple[Item, dict[str, Any]]] = []
    # lead id -> field -> (value, row) written this run: a lead field holds one value
    written_to: dict[int, dict[str, tuple[str, int]]] = {}
    written = 0

    def flush() -> None:
        nonlocal written
        if not batch:
            return
        try:
            answers: list[tuple[str, str] | None] = client.update_lead_fields(
                [record for _, record in batch]
            )
        except MarketoError as exc:  # a refused call, or its answer lost: no trigger for these
            reason = (str(getattr(exc, "code", "") or ""), getattr(exc, "message", str(exc)))
            answers = [reason] * len(batch)
        for (item, _), answer in zip(batch, answers, strict=True):
            if answer is None:
                written += 1
            else:
                skipped[(item.campaign_id, item.key)] = answer
        batch.clear()

    for item in items:
        campaign = config.campaigns.get(item.campaign)
        names = {n for n, _ in campaign.fields} if campaign else set()
        lead_id = resolution.lead_id(item) if names else None
        if lead_id is None:
            continue  # no fields, or a missing lead (reported by the trigger step)
        values = {n: v for n, v in item.fields if n in names}
        clash = _clash(written_to.setdefault(lead_id, {}), values, item)
        if clash is not None:
            skipped[(item.campaign_id, item.key)] = clash
            continue
        batch.append((item, {"id": lead_id, **values}))
        if len(batch) >= BATCH:
            flush()
    flush()
    return skipped, written


def _clash(
    seen: dict[str, tuple[str, int]], values: Mapping[str, str], item: Item
) -> tuple[str, str] | None:
    """Two items of one run writing different values to one lead's field: the second
    waits for the next run (after the first was triggered), so each email shows its own."""
    for name, value in values.items():
        if name in seen and seen[name][0] != value:
            return (
                "",
                f"lead field '{name}' of this lead is written with another value for row"
                f" {seen[name][1]} in this run; a lead field holds one value, so this row is"
                " sent by the next run",
            )
    for name, value in values.items():
        seen.setdefault(name, (value, item.row))
    return None


def as_recorded(config: Config, item: Item) -> Item:
    """``item`` with the tokens the ledger records: its tokens and its written fields."""
    campaign = config.campaigns.get(item.campaign)
    if campaign is None or not campaign.fields:
        return item
    names = frozenset(n for n, _ in campaign.fields)
    return Item(
        campaign=item.campaign,
        campaign_id=item.campaign_id,
        key=item.key,
        lead_id=item.lead_id,
        email=item.email,
        tokens=recorded_tokens(item.tokens, item.fields, names),
        source=item.source,
        row=item.row,
        fields=item.fields,
    )
