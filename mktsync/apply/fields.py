"""Lead fields in apply (issue 15): the preflight against ``describe2``, and the writes.

>>> refusals = field_refusals(config, plan, client.describe_lead_fields())  # doctest: +SKIP
>>> written = write_fields(config, calls, resolution, client)              # doctest: +SKIP

Fields are written before any trigger, 300 leads a ``leads.json`` call (``updateOnly`` by
lead id).  A lead whose record Marketo skipped is not triggered: its item fails with
Marketo's reason, as are all leads of a ``leads.json`` call Marketo refused or whose
answer was lost (they are tried again next run).  An item that would write another value
to a field of a lead an earlier item of the run writes is *deferred* (issue 22): neither
written nor triggered nor marked, it goes out next run.  The plan defers such items
already (``plan.defer``); here are those it cannot see, two items naming one lead by
email and by id.  An item whose values touch a protected
lead field its campaign does not allow, or would grant consent without ``grant_consent``
(issue 25, ``config.protected``), is never written nor triggered: it fails with the
reason.  The write is idempotent and nothing is recorded for it: a run that dies
after it and before the trigger leaves the item new, and the next run writes the same
values again, then triggers (never twice, never lost).
"""

from __future__ import annotations

import difflib
import sqlite3
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol

from mktsync.apply.resolve import Resolution
from mktsync.config.model import Config
from mktsync.config.protected import FieldGuard, field_guard
from mktsync.errors import MarketoError, StalePlan, disk_full, no_temp_space
from mktsync.items import Item
from mktsync.plan import Plan

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


def check_saved_fields(config: Config, plan: Plan, *, name: str) -> None:
    """Refuse a saved plan whose lead fields are grouped otherwise than in ``config``.

    A plan file writes each lead's fields together; which of them are synced to every
    lead (``fields:``, ``Item.synced``) and which only go to a created lead
    (``lead.fields``) is read back from each campaign's ``fields_written``
    (``plan.file``).  The config is the one the plan was made from (its digest was
    checked), so a difference means the file was edited: apply would write, or record,
    fields the config does not declare."""
    for cp in plan.campaigns:
        campaign = config.campaigns.get(cp.name)
        if campaign is None:
            continue
        created = {n for n, _ in campaign.lead.fields} if campaign.create_missing else set()
        synced = {n for n, _ in campaign.fields}
        if {w.name for w in cp.field_writes if not w.created_only} != synced or {
            w.name for w in cp.field_writes if w.created_only
        } != created:
            raise StalePlan(
                f"{name}: the lead fields of campaign '{cp.name}' are not those its config "
                "declares (was the saved plan edited?); run 'mktsync plan' again"
            )


class Writer(Protocol):
    def update_lead_fields(self, records: list[dict[str, Any]]) -> list[tuple[str, str] | None]: ...


@dataclass(frozen=True, kw_only=True)
class FieldsWritten:
    """What ``write_fields`` did: the leads written, the items Marketo skipped
    (``(campaign id, key) -> (code, message)``: they fail), and the items deferred to the
    next run (``(campaign id, key) -> why``: not sent, not marked)."""

    written: int
    skipped: Mapping[tuple[int, str], tuple[str, str]]
    deferred: Mapping[tuple[int, str], str]


def write_fields(
    config: Config, items: Iterable[Item], resolution: Resolution, client: Writer
) -> FieldsWritten:
    """Write each item's declared fields (see ``FieldsWritten``).

    ``items`` is streamed 300 at a time (their lead ids from one cache query); the values
    written to each lead this run are kept in a private temporary table, not in memory
    (issue 16), so a million leads cost what 300 do.
    """
    skipped: dict[tuple[int, str], tuple[str, str]] = {}
    deferred: dict[tuple[int, str], str] = {}
    batch: list[tuple[Item, dict[str, Any]]] = []
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

    guards: dict[str, FieldGuard | None] = {}
    it = iter(items)
    with _Written() as seen:
        while read := list(islice(it, BATCH)):
            chunk = [i for i in read if i.synced]  # items whose campaign writes `fields:`
            ids = resolution.lead_ids(chunk) if chunk else []
            # lead id -> field -> (value, row) written this run: a lead field holds one value
            written_to = seen.values({i for i in ids if i is not None})
            for item, lead_id in zip(chunk, ids, strict=True):
                if lead_id is None:
                    continue  # a missing lead (reported by the trigger step)
                refused = _refused(config, item, guards)
                if refused is not None:  # never sent: render made it invalid already
                    skipped[(item.campaign_id, item.key)] = ("", refused)
                    continue
                values = dict(item.synced)
                clash = _clash(written_to.setdefault(lead_id, {}), values, item)
                if clash is not None:
                    deferred[(item.campaign_id, item.key)] = clash
                    continue
                batch.append((item, {"id": lead_id, **values}))
                if len(batch) >= BATCH:
                    flush()
            seen.remember(written_to)
        flush()
    return FieldsWritten(written=written, skipped=skipped, deferred=deferred)


def _refused(config: Config, item: Item, guards: dict[str, FieldGuard | None]) -> str | None:
    """Why ``item``'s fields may not be written (issue 25: a protected field its campaign
    does not allow, a consent flag granting consent without ``grant_consent``), or None.

    ``render`` makes such rows invalid, so this holds only for items from elsewhere (a
    saved plan edited by hand, a config built in code): defence in depth at the wire."""
    if item.campaign not in guards:
        campaign = config.campaigns.get(item.campaign)
        guards[item.campaign] = field_guard(campaign) if campaign else None
    guard = guards[item.campaign]
    return None if guard is None else guard(item.fields)


class _Written:
    """The values written to each lead's fields this run, in a private temporary SQLite
    table (``sqlite3.connect("")``: on disk, removed when closed): the first value of
    each (lead, field), with its row (``source row N``), as ``_clash`` needs them."""

    def __init__(self) -> None:
        self._conn = sqlite3.connect("", isolation_level=None)
        self._conn.execute("PRAGMA journal_mode = OFF")
        self._conn.execute(
            "CREATE TABLE written (lead_id INTEGER NOT NULL, name TEXT NOT NULL,"
            " value TEXT NOT NULL, row TEXT NOT NULL, PRIMARY KEY (lead_id, name))"
        )

    def __enter__(self) -> _Written:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._conn.close()

    def values(self, lead_ids: set[int]) -> dict[int, dict[str, tuple[str, str]]]:
        """lead id -> field -> (value, row) for those of ``lead_ids`` written to before."""
        out: dict[int, dict[str, tuple[str, str]]] = {}
        wanted = sorted(lead_ids)
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            for lead_id, name, value, row in self._conn.execute(
                "SELECT lead_id, name, value, row FROM written"
                f" WHERE lead_id IN ({', '.join('?' * len(part))})",
                part,
            ):
                out.setdefault(lead_id, {})[name] = (value, row)
        return out

    def remember(self, written_to: Mapping[int, Mapping[str, tuple[str, str]]]) -> None:
        self._conn.execute("BEGIN")
        try:
            self._conn.executemany(
                "INSERT OR IGNORE INTO written VALUES (?, ?, ?, ?)",
                (
                    (lead_id, name, value, row)
                    for lead_id, fields in written_to.items()
                    for name, (value, row) in fields.items()
                ),
            )
        except sqlite3.OperationalError as exc:
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            if disk_full(exc):
                raise no_temp_space("apply keeps the lead field values it wrote there") from None
            raise
        self._conn.execute("COMMIT")


def _clash(seen: dict[str, tuple[str, str]], values: Mapping[str, str], item: Item) -> str | None:
    """Two items of one run writing different values to one lead's field: the second
    waits for the next run (after the first was triggered), so each email shows its own.
    The words name both rows and every field written with another value, as the plan's
    ``» deferred`` lines do (``plan.notes.deferred_words``)."""
    differs = [n for n, v in values.items() if n in seen and seen[n][0] != v]
    if differs:
        first = seen[differs[0]][1]
        return (
            f"{item.key}: {item.source} row {item.row} goes after {first}"
            f" (differs: {', '.join(differs)})"
        )
    for name, value in values.items():
        seen.setdefault(name, (value, f"{item.source} row {item.row}"))
    return None
