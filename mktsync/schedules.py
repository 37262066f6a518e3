"""Batch campaigns: ``schedules:`` rendered and classified against the ledger.

>>> plans = plan_schedules(config, ledger)          # doctest: +SKIP
>>> plans[0].counts["schedule"]                      # doctest: +SKIP
1

A schedule runs a batch campaign once at ``run_at`` with My Tokens, through
``POST /rest/v1/campaigns/{id}/schedule.json`` (DESIGN.md, "schedule").  It is planned like
a trigger, one item per row (or one item without ``source``), keyed in the same ledger
table by (campaign id, key); the stored token set holds the My Tokens plus ``runAt`` and
``cloneToProgramName``, so a change to any of them is a change.

Classes: ``+ schedule`` (new, or an earlier attempt failed), ``~ reschedule`` (changed and
``retrigger: on_change``), ``= unchanged``, ``- filtered``, ``! invalid``, ``? unknown``
and ``≠ changed`` (changed, ``retrigger: never``: shown, not sent).  Marketo cannot
unschedule a batch run through REST: when ``run_at`` of a run already scheduled moves,
the plan says the earlier run stays scheduled.  A ``run_at`` in the past is refused here,
at plan time: Marketo would refuse it, and the plan must not promise it.  So is any invalid
row (there is no ``max_invalid`` for schedules: a blast to a whole smart list must not go
out half-planned).  The data contract (``mktsync.contract``) does not yet check the columns
schedule templates read; a missing column makes the row invalid, which stops the plan.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from mktsync.config.batch import parse_run_at
from mktsync.config.model import Config, Schedule
from mktsync.config.reads import as_condition
from mktsync.errors import PlanError, one_line
from mktsync.items import InvalidItem, Tokens, token_hash
from mktsync.render import FALSE_RENDERINGS, compile_template
from mktsync.render.fast import Render
from mktsync.row import Row

CLASSES = ("schedule", "reschedule", "unchanged", "filtered", "invalid", "unknown", "changed")
RUN_AT, CLONE = "runAt", "cloneToProgramName"  # stored beside the My Tokens
LEAD = "batch"  # what the ledger's lead column says for a schedule
UNSCHEDULE_NOTE = (
    "Marketo cannot unschedule a batch run through its REST API: the run at {old} stays "
    "scheduled unless you cancel it in Marketo"
)
ScheduleAction = Literal["schedule", "reschedule", "unknown"]
# Adobe: runAt "cannot be more than 2 years in the future" (1042); the emulator uses 730 days.
MAX_AHEAD = timedelta(days=730)


class _Record(Protocol):
    @property
    def status(self) -> str: ...
    @property
    def token_hash(self) -> str: ...
    @property
    def tokens(self) -> Tokens: ...


class LedgerView(Protocol):
    """What schedule planning needs of a ledger (``mktsync.plan.LedgerView`` has it)."""

    def lookup(self, campaign_id: int, keys: list[str]) -> Mapping[str, _Record]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleItem:
    """One run of a batch campaign: when, with which tokens, under which ledger key."""

    schedule: str
    campaign_id: int
    key: str
    run_at: str  # ISO 8601 with offset, as sent
    tokens: Tokens
    clone_to_program: str | None = None
    source: str | None = None
    row: int | None = None

    @property
    def lead(self) -> str:
        return LEAD

    @property
    def stored(self) -> Tokens:
        """The token set the ledger keeps (and compares): My Tokens, runAt, clone name."""
        extra = [(RUN_AT, self.run_at)]
        if self.clone_to_program is not None:
            extra.append((CLONE, self.clone_to_program))
        return tuple(sorted([*self.tokens, *extra]))


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedSchedule:
    item: ScheduleItem
    action: ScheduleAction
    old: Tokens | None = None  # the stored set sent before (reschedule)
    retry_of: str | None = None
    note: str | None = None  # e.g. the earlier run stays scheduled


@dataclass(frozen=True, kw_only=True)
class SchedulePlan:
    """One ``schedules:`` entry's part of a plan."""

    name: str
    campaign_id: int
    source: str | None
    counts: Mapping[str, int]
    send: tuple[PlannedSchedule, ...]
    changed: tuple[PlannedSchedule, ...] = ()  # not sent (retrigger: never)
    invalid: tuple[InvalidItem, ...] = ()

    @property
    def calls(self) -> int:
        return len(self.send)


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
    now = now or datetime.now(UTC)
    chosen = list(config.schedules) if names is None else names
    plans = tuple(
        _plan_one(config, config.schedules[n], ledger, retry_unknown, now) for n in chosen
    )
    lines = []
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
                    f"{where} is in the past (now {now:%Y-%m-%d %H:%M} UTC); Marketo cannot "
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


def _plan_one(
    config: Config, schedule: Schedule, ledger: LedgerView, retry_unknown: bool, now: datetime
) -> SchedulePlan:
    counts = dict.fromkeys(CLASSES, 0)
    items: list[ScheduleItem] = []
    invalid: list[InvalidItem] = []
    for result in render_schedule(config, schedule, now):
        if result is None:
            counts["filtered"] += 1
        elif isinstance(result, InvalidItem):
            counts["invalid"] += 1
            invalid.append(result)
        else:
            items.append(result)
    records = ledger.lookup(schedule.campaign_id, [i.key for i in items]) if items else {}
    send: list[PlannedSchedule] = []
    changed: list[PlannedSchedule] = []
    for item in items:
        record = records.get(item.key)
        if record is None or record.status == "failed":
            retry = None if record is None else "failed"
            send.append(PlannedSchedule(item=item, action="schedule", retry_of=retry))
            counts["schedule"] += 1
        elif record.status in ("unknown", "pending"):
            counts["unknown"] += 1
            if retry_unknown:
                send.append(PlannedSchedule(item=item, action="unknown", retry_of="unknown"))
        elif record.token_hash == token_hash(item.stored):
            counts["unchanged"] += 1
        else:
            old_run = run_at_of(record.tokens)
            note = None
            old_moment = parse_run_at(old_run) if old_run else None
            if old_run != item.run_at and old_moment is not None and old_moment > now:
                note = UNSCHEDULE_NOTE.format(old=old_run)
            planned = PlannedSchedule(item=item, action="reschedule", old=record.tokens, note=note)
            if schedule.retrigger == "on_change":
                send.append(planned)
                counts["reschedule"] += 1
            else:
                changed.append(planned)
                counts["changed"] += 1
    if invalid:
        shown = "; ".join(f"row {i.row}: {i.reason}" for i in invalid[:5])
        raise PlanError(
            one_line(f"schedules.{schedule.name}: {len(invalid)} invalid row(s): {shown}")
        )
    return SchedulePlan(
        name=schedule.name,
        campaign_id=schedule.campaign_id,
        source=schedule.source,
        counts=counts,
        send=tuple(send),
        changed=tuple(changed),
        invalid=tuple(invalid),
    )


def render_schedule(
    config: Config, schedule: Schedule, now: datetime
) -> Iterator[ScheduleItem | InvalidItem | None]:
    """One result per row (one in all without ``source``): an item, invalid, or None (filtered)."""
    from mktsync.sources import iter_rows
    from mktsync.sources.columns import convert, declared

    def compiled(text: str) -> Render:
        return compile_template(text)

    when = compiled(as_condition(schedule.when.text)) if schedule.when else None
    key = compiled(schedule.key.text) if schedule.key else None
    run_at = compiled(schedule.run_at.text)
    clone = compiled(schedule.clone_to_program.text) if schedule.clone_to_program else None
    tokens = [(t.name, compiled(t.template.text)) for t in schedule.tokens]
    if schedule.source is None:
        rows: Iterator[tuple[int | None, Row | str]] = iter([(None, Row({}))])
    else:
        spec = config.sources[schedule.source]
        types = declared(spec.options)
        rows = ((n, convert(Row(r), types) if types else Row(r)) for n, r in iter_rows(spec))
    seen: dict[str, int | None] = {}
    for number, row in rows:
        if isinstance(row, str):
            yield _invalid(schedule, number, row)
            continue
        errors: list[str] = []

        def render(field: str, fn: Render, row: Row = row, errors: list[str] = errors) -> str:
            try:
                return fn(row, now).strip()
            except Exception as exc:
                errors.append(f"{field}: {str(exc).strip() or type(exc).__name__}")
                return ""

        if when is not None and render("when", when) in FALSE_RENDERINGS and not errors:
            yield None
            continue
        the_key = render("key", key) if key else schedule.name
        moment = render("run_at", run_at)
        if moment and parse_run_at(moment) is None:
            errors.append(f"run_at: {moment!r} is not ISO 8601 with a UTC offset")
        values = tuple(sorted((name, render(f"tokens.{name}", fn)) for name, fn in tokens))
        clone_name = render("clone_to_program", clone) if clone else None
        if not the_key and not errors:
            errors.append("key: renders empty")
        if the_key in seen and not errors:
            errors.append(f"duplicate key, first seen at row {seen[the_key]}")
        if errors:
            yield _invalid(schedule, number, "; ".join(errors))
            continue
        seen[the_key] = number
        yield ScheduleItem(
            schedule=schedule.name,
            campaign_id=schedule.campaign_id,
            key=the_key,
            run_at=moment,
            tokens=values,
            clone_to_program=clone_name or None,
            source=schedule.source,
            row=number,
        )


def _invalid(schedule: Schedule, number: int | None, reason: str) -> InvalidItem:
    return InvalidItem(
        campaign=schedule.name,
        campaign_id=schedule.campaign_id,
        source=schedule.source or "",
        row=number or 0,
        reason=reason,
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
    }


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
            action=x["action"],  # type: ignore[arg-type]
            old=tuple(sorted(dict(old).items())) if old else None,  # type: ignore[call-overload]
            retry_of=None if x.get("retry_of") is None else str(x["retry_of"]),
            note=None if x.get("note") is None else str(x["note"]),
        )

    counts = data["counts"]
    assert isinstance(counts, dict)
    send, changed = data["send"], data.get("changed") or []
    assert isinstance(send, list) and isinstance(changed, list)
    return SchedulePlan(
        name=str(data["name"]),
        campaign_id=int(str(data["campaign_id"])),
        source=None if data.get("source") is None else str(data["source"]),
        counts={k: int(counts.get(k, 0)) for k in CLASSES},
        send=tuple(planned(x) for x in send),
        changed=tuple(planned(x) for x in changed),
    )
