"""Batch campaigns: ``schedules:`` rendered and classified against the ledger.

>>> plans = plan_schedules(config, ledger)          # doctest: +SKIP
>>> plans[0].counts["schedule"]                      # doctest: +SKIP
1

A schedule runs a batch campaign once at ``run_at`` with My Tokens, through
``POST /rest/v1/campaigns/{id}/schedule.json`` (DESIGN.md, "schedule").  It is planned like
a trigger, one item per row (or one item without ``source``), keyed in the same ledger
table by (campaign id, key); the stored token set holds the My Tokens plus ``runAt`` and
``cloneToProgramName``, so a change to any of them is a change.

The rows are rendered into runs by ``mktsync.render.iter_runs`` and each run is classified
against its record by ``classifier.classify``, as trigger items are.  Classes
(``records.BATCH_CLASSES``): ``+ schedule`` (new, or an earlier attempt failed),
``~ reschedule`` (changed and ``retrigger: on_change``), ``= unchanged``, ``- filtered``,
``! invalid``, ``? unknown``, ``≠ changed`` (changed, ``retrigger: never``: shown, not
sent) and ``⊘ orphaned``.  Marketo
cannot unschedule a batch run through REST: when ``run_at`` of a run already scheduled
moves, the plan says the earlier run stays scheduled.

``⊘ orphaned``: a run the ledger holds as sent, whose ``runAt`` is still ahead, and which
no row gives any more (the row was removed, or ``when`` leaves it out now).  It is still
scheduled in Marketo and its email will go out, so the plan lists it with its time and how
to cancel it there; nothing here can cancel it.  A run whose time has passed already
happened: it is history, like a trigger sent for a row since removed, and is not shown.
Finding them reads only the ledger's records of each schedule's campaign id (the primary
key's range, a page at a time), never the trigger records; a campaign id shared with a
schedule this plan does not cover (``--campaign``) is not checked, since that schedule's
keys are not known here.  A ``run_at`` in the past is refused here,
at plan time: Marketo would refuse it, and the plan must not promise it.  So is any invalid
row (there is no ``max_invalid`` for schedules: a blast to a whole smart list must not go
out half-planned).  The data contract (``mktsync.sources.contract``) does not yet check the columns
schedule templates read; a missing column makes the row invalid, which stops the plan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol

from mktsync.config.batch import parse_run_at
from mktsync.config.model import Config, Schedule
from mktsync.dates import instant
from mktsync.errors import PlanError, one_line_keeping_personal
from mktsync.items import CLONE, LEAD, RUN_AT, InvalidItem, ScheduleItem, Tokens, token_hash
from mktsync.plan.classifier import LedgerRecord, classify
from mktsync.plan.records import (
    BATCH_CLASSES,
    Action,
    OrphanedRun,
    PlannedSchedule,
    SchedulePlan,
    action_of,
)
from mktsync.render import WhenMiss, iter_runs

__all__ = [  # a run and its ledger names live in ``mktsync.items``, the plan's records in ``records``
    "CLONE",
    "LEAD",
    "MAX_AHEAD",
    "RUN_AT",
    "UNSCHEDULE_NOTE",
    "LedgerView",
    "OrphanedRun",
    "PlannedSchedule",
    "ScheduleItem",
    "SchedulePlan",
    "StoredRun",
    "orphan_json",
    "orphaned_runs",
    "plan_schedules",
    "run_at_of",
    "schedule_plan_from_json",
    "schedule_plan_json",
]
UNSCHEDULE_NOTE = (
    "Marketo cannot unschedule a batch run through its REST API: the run at {old} stays "
    "scheduled unless you cancel it in Marketo"
)
# Adobe: runAt "cannot be more than 2 years in the future" (1042); the emulator uses 730 days.
MAX_AHEAD = timedelta(days=730)


class StoredRun(LedgerRecord, Protocol):
    """A record as ``iter_records`` gives it: with its key, lead and when it was written."""

    @property
    def key(self) -> str: ...
    @property
    def lead(self) -> str: ...
    @property
    def request_id(self) -> str | None: ...
    @property
    def updated_at(self) -> str: ...


class LedgerView(Protocol):
    """What schedule planning needs of a ledger (``mktsync.ledger.Ledger`` has it)."""

    def lookup(self, campaign_id: int, keys: list[str]) -> Mapping[str, LedgerRecord]: ...
    def iter_records(self, campaign_id: int | None = None) -> Iterator[StoredRun]: ...


def run_at_of(stored: Tokens) -> str | None:
    return dict(stored).get(RUN_AT)


def plan_schedules(
    config: Config,
    ledger: LedgerView,
    *,
    names: list[str] | None = None,
    retry_unknown: bool = False,
    now: datetime | None = None,
) -> tuple[SchedulePlan, ...]:
    """Classify every run of every schedule (or of ``names``); refuse a ``run_at`` in the past."""
    now = instant(now, config.timezone)
    chosen = list(config.schedules) if names is None else names
    produced: dict[str, set[str]] = {}
    plans = tuple(
        _plan_one(config, config.schedules[n], ledger, retry_unknown, now, produced) for n in chosen
    )
    plans = _with_orphans(config, plans, produced, ledger, now)
    lines = []
    # Marketo judges "the past" by its own clock: a pinned instant behind the wall clock
    # (a missed day replayed with --now) must not promise a run Marketo would refuse.
    now = max(now, datetime.now(UTC))
    for sp in plans:
        for p in sp.send:
            run_at = parse_run_at(p.item.run_at)
            if run_at is None:
                continue
            where = f"schedules.{sp.name}: {_where(p.item)}run_at {p.item.run_at}"
            if p.item.row is None:  # one run at a time written in the file: say where
                where = f"{config.schedules[sp.name].run_at.position}: {where}"
            if run_at <= now:
                lines.append(
                    f"{where} is in the past (now {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC); "
                    "Marketo cannot "
                    "run a batch campaign in the past: fix the time, or leave the row out "
                    "with 'when:'"
                )
            elif run_at > now + MAX_AHEAD:
                lines.append(
                    f"{where} is more than 2 years ahead; Marketo refuses such a run "
                    "(1042 Invalid runAt date): fix the time, or leave the row out with 'when:'"
                )
    if lines:
        shown = lines[:20] + ([f"... and {len(lines) - 20} more"] if len(lines) > 20 else [])
        raise PlanError("\n".join(shown))
    return plans


def _where(item: ScheduleItem) -> str:
    return f"row {item.row} of {item.source}: " if item.row is not None else ""


def _with_orphans(
    config: Config,
    plans: tuple[SchedulePlan, ...],
    produced: Mapping[str, set[str]],
    ledger: LedgerView,
    now: datetime,
) -> tuple[SchedulePlan, ...]:
    """Each plan with the runs of its campaign id that no row gives any more, still ahead.

    The keys of every schedule sharing a campaign id are pooled (the ledger keys a run by
    campaign id and key); the orphans go to the first of them, in file order.  A campaign
    id shared with a schedule not planned now is skipped: its keys are not known here.
    """
    planned = {sp.name for sp in plans}
    owner: dict[int, int] = {}
    for n, sp in enumerate(plans):
        owner.setdefault(sp.campaign_id, n)
    out = list(plans)
    for cid, n in owner.items():
        sharing = [s.name for s in config.schedules.values() if s.campaign_id == cid]
        if any(name not in planned for name in sharing):
            continue
        keys = set().union(*(produced.get(name, set()) for name in sharing))
        found = tuple(orphaned_runs(ledger, cid, keys, now))
        if found:
            counts = {**out[n].counts, Action.ORPHANED.value: len(found)}
            out[n] = dataclasses.replace(out[n], counts=counts, orphaned=found)
    return tuple(out)


def orphaned_runs(
    ledger: LedgerView, campaign_id: int, keys: set[str], now: datetime
) -> Iterator[OrphanedRun]:
    """The runs of ``campaign_id`` held as sent whose key is not in ``keys`` and whose
    ``runAt`` is ahead of ``now`` (or unknown: no evidence it ran), by key.

    One ranged read of this campaign id's records (``iter_records``: a page at a time, in
    key order); a batch campaign's id carries no trigger records, so nothing else is read.
    """
    for record in ledger.iter_records(campaign_id):
        if record.status != "sent" or record.lead != LEAD or record.key in keys:
            continue
        stored = dict(record.tokens)
        run_at = stored.pop(RUN_AT, None)
        clone = stored.pop(CLONE, None)
        moment = parse_run_at(run_at) if run_at is not None else None
        if moment is not None and moment <= now:
            continue  # it ran: history, not a surprise
        yield OrphanedRun(
            key=record.key,
            run_at=run_at,
            tokens=tuple(sorted(stored.items())),
            clone_to_program=clone,
            scheduled_at=record.updated_at,
            request_id=record.request_id,
        )


def _plan_one(
    config: Config,
    schedule: Schedule,
    ledger: LedgerView,
    retry_unknown: bool,
    now: datetime,
    produced: dict[str, set[str]] | None = None,
) -> SchedulePlan:
    counts = dict.fromkeys((c.value for c in BATCH_CLASSES), 0)
    items: list[ScheduleItem] = []
    invalid: list[InvalidItem] = []
    misses: list[WhenMiss] = []
    for result in iter_runs(config, schedule, now, when_misses=misses.extend):
        if result is None:
            counts[Action.FILTERED] += 1
        elif isinstance(result, InvalidItem):
            counts[Action.INVALID] += 1
            invalid.append(result)
        else:
            items.append(result)
    if produced is not None:  # the keys the rows give now: a run of any other key is orphaned
        produced[schedule.name] = {i.key for i in items}
    records = ledger.lookup(schedule.campaign_id, [i.key for i in items]) if items else {}
    send: list[PlannedSchedule] = []
    changed: list[PlannedSchedule] = []
    for item in items:
        verdict = classify(
            records.get(item.key),
            token_hash(item.stored),
            retrigger=schedule.retrigger,
            retry_unknown=retry_unknown,
            new=Action.SCHEDULE,
            again=Action.RESCHEDULE,
        )
        counts[verdict.action] += 1
        if verdict.old is None:
            if verdict.send:
                send.append(PlannedSchedule(item=item, action=verdict.action,
                                            retry_of=verdict.retry_of))  # fmt: skip
            continue
        # Sent before, differs now: the earlier run stays scheduled if its time moved.
        old_run = run_at_of(verdict.old)
        note = None
        old_moment = parse_run_at(old_run) if old_run else None
        if old_run != item.run_at and old_moment is not None and old_moment > now:
            note = UNSCHEDULE_NOTE.format(old=old_run)
        planned = PlannedSchedule(item=item, action=Action.RESCHEDULE, old=verdict.old, note=note)
        (send if verdict.send else changed).append(planned)
    if invalid:
        shown = "; ".join(f"row {i.row}: {i.reason}" for i in invalid[:5])
        raise PlanError(
            one_line_keeping_personal(
                f"schedules.{schedule.name}: {len(invalid)} invalid row(s): {shown}"
            )
        )
    return SchedulePlan(
        name=schedule.name,
        campaign_id=schedule.campaign_id,
        source=schedule.source,
        counts=counts,
        send=tuple(send),
        changed=tuple(changed),
        invalid=tuple(invalid),
        when_misses=tuple(misses),
    )


# -- the plan file (planfile.py writes and reads these; the shape is additive) --------------
def schedule_plan_json(sp: SchedulePlan) -> dict[str, object]:
    def planned(p: PlannedSchedule) -> dict[str, object]:
        out: dict[str, object] = {
            "key": p.item.key,
            "action": p.action,
            "run_at": p.item.run_at,
            "tokens": dict(p.item.tokens),
            "clone_to_program": p.item.clone_to_program,
            "row": p.item.row,
        }
        if p.old is not None:
            out["old"] = dict(p.old)
        if p.retry_of:
            out["retry_of"] = p.retry_of
        if p.note:
            out["note"] = p.note
        return out

    return {
        "name": sp.name,
        "campaign_id": sp.campaign_id,
        "source": sp.source,
        "counts": dict(sp.counts),
        "send": [planned(p) for p in sp.send],
        "changed": [planned(p) for p in sp.changed],
        # Additive: written only when there is one, so plans without orphans stay as they were.
        **({"orphaned": [orphan_json(o) for o in sp.orphaned]} if sp.orphaned else {}),
    }


def orphan_json(o: OrphanedRun) -> dict[str, object]:
    return {
        "key": o.key,
        "run_at": o.run_at,
        "tokens": dict(o.tokens),
        "clone_to_program": o.clone_to_program,
        "scheduled_at": o.scheduled_at,
        "request_id": o.request_id,
    }


def _orphan_from_json(x: Mapping[str, object]) -> OrphanedRun:
    def text(name: str) -> str | None:
        value = x.get(name)
        return None if value is None else str(value)

    tokens = x.get("tokens") or {}
    if not isinstance(tokens, dict):
        raise TypeError("schedules[].orphaned[].tokens")
    return OrphanedRun(
        key=str(x["key"]),
        run_at=text("run_at"),
        tokens=tuple(sorted((str(k), str(v)) for k, v in tokens.items())),
        clone_to_program=text("clone_to_program"),
        scheduled_at=text("scheduled_at"),
        request_id=text("request_id"),
    )


def schedule_plan_from_json(data: Mapping[str, object]) -> SchedulePlan:
    def planned(x: Mapping[str, object]) -> PlannedSchedule:
        tokens = x.get("tokens")
        old = x.get("old")
        row = x.get("row")
        return PlannedSchedule(
            item=ScheduleItem(
                schedule=str(data["name"]),
                campaign_id=int(str(data["campaign_id"])),
                key=str(x["key"]),
                run_at=str(x["run_at"]),
                tokens=tuple(sorted((str(k), str(v)) for k, v in dict(tokens).items()))  # type: ignore[call-overload]
                if tokens
                else (),
                clone_to_program=None
                if x.get("clone_to_program") is None
                else str(x["clone_to_program"]),
                source=None if data.get("source") is None else str(data["source"]),
                row=None if row is None else int(str(row)),
            ),
            action=action_of(str(x["action"])),
            old=tuple(sorted(dict(old).items())) if old else None,  # type: ignore[call-overload]
            retry_of=None if x.get("retry_of") is None else str(x["retry_of"]),
            note=None if x.get("note") is None else str(x["note"]),
        )

    counts = data["counts"]
    assert isinstance(counts, dict)
    send, changed = data["send"], data.get("changed") or []
    orphaned = data.get("orphaned") or []
    assert isinstance(send, list) and isinstance(changed, list)
    if not isinstance(orphaned, list):
        raise TypeError("schedules[].orphaned")
    return SchedulePlan(
        name=str(data["name"]),
        campaign_id=int(str(data["campaign_id"])),
        source=None if data.get("source") is None else str(data["source"]),
        counts={k.value: int(counts.get(k, 0)) for k in BATCH_CLASSES},
        send=tuple(planned(x) for x in send),
        changed=tuple(planned(x) for x in changed),
        orphaned=tuple(_orphan_from_json(x) for x in orphaned),
    )
