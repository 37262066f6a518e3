"""The plan as JSON: ``plan --format json``, ``plan --out plan.json``, and ``apply plan.json``.

The shape is frozen at ``format_version`` 1 and documented in ``docs/plan-json.md``.  The
same inputs give byte-identical output: the only time written is the plan's instant (an
input: ``--now``, else the wall clock when planning began), keys keep a fixed order, and
calls come in plan order.

A saved plan is bound (issue 21): ``now``, ``timezone`` and ``binding`` (environment,
instance, ledger id) say where and when it was made; ``apply`` refuses it anywhere else.
A file written before they existed loads with ``binding`` None, which ``apply`` refuses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from json.encoder import encode_basestring as _str
from pathlib import Path
from typing import Any, TextIO

from mktsync.config.model import Limits
from mktsync.errors import PlanError, marked_again, personal_values, shown_personal
from mktsync.items import InvalidItem, Item, Tokens
from mktsync.ledger.history import NewLedger
from mktsync.marketo.usage import DailyUsage
from mktsync.plan.batch import schedule_plan_from_json, schedule_plan_json
from mktsync.plan.filecalls import FileCalls, Where, read_streamed
from mktsync.plan.fileshape import WHEN_NOTE, Damaged, damage, loads
from mktsync.plan.notes import WHEN_MATCHES_NO_ROW, plan_notes
from mktsync.plan.quota import QuotaRoom
from mktsync.plan.records import (
    CLASSES,
    SAMPLES_PER_FIELD,
    Binding,
    Call,
    CampaignPlan,
    ChangedItem,
    DeferredItem,
    FieldWrite,
    Plan,
    PlannedItem,
    SpilledCalls,
    Summary,
    Synced,
    field_samples,
    lead_line,
    planned_from_lead,
)
from mktsync.render.values import WhenMiss

FORMAT_VERSION = 1


def _header(plan: Plan) -> dict[str, Any]:
    s = plan.summary
    return {
        "format_version": FORMAT_VERSION,
        "config": {"path": plan.config_path, "digest": plan.config_digest},
        "ledger": {"fingerprint": plan.ledger_fingerprint},
        "retry_unknown": plan.retry_unknown,
        # Additive (format_version 1 stays): when and where the plan was made (issue 21).
        **({"now": plan.now.isoformat(), "timezone": plan.timezone} if plan.now else {}),
        **({"binding": _binding_json(plan.binding)} if plan.binding else {}),
        "summary": {
            **{k.value: getattr(s, k) for k in CLASSES},
            "trigger_calls": s.trigger_calls,
            "lookup_calls": s.lookup_calls,
            "preflight_calls": s.preflight_calls,
            **({"field_calls": s.field_calls} if s.field_calls else {}),
            **({"usage_calls": s.usage_calls} if s.usage_calls else {}),
            "total_calls": s.total_calls,
            "missing_forecast": s.missing_forecast,
            "daily_quota": plan.limits.daily_quota,
            "quota_share": round(plan.quota_share, 6),
            "calls_per_window": plan.calls_per_window,
            "window_seconds": plan.limits.window_seconds,
            "estimated_seconds": plan.estimated_seconds,
            **({"schedule_calls": s.schedule_calls} if plan.schedules else {}),
        },
        # Additive fields (format_version 1 stays): written only when there is something.
        **({"environment": plan.environment} if plan.environment else {}),
        **({"usage": _usage_json(plan, plan.usage)} if plan.usage else {}),
        **({"new_ledger": plan.new_ledger.as_json()} if plan.new_ledger else {}),
        **({"notes": notes} if (notes := _notes_json(plan)) else {}),
        **(
            {"schedules": [schedule_plan_json(sp) for sp in plan.schedules]}
            if plan.schedules
            else {}
        ),
    }


def _usage_json(plan: Plan, usage: DailyUsage) -> dict[str, Any]:
    """Today's usage as ``plan --usage`` read it, and the room it leaves (issue 24)."""
    room = QuotaRoom.of(plan.limits, usage)
    return {
        **usage.as_json(),
        "quota_reserve": room.share,
        "reserve": room.reserve,
        "room": room.room,
        "fit": room.fit(plan.summary),
    }


def _notes_json(plan: Plan) -> list[dict[str, Any]]:
    """Issue 22: what the plan says about its data (``plan.notes``), each with its words."""
    return [n.as_json() for n in plan_notes(plan)]


def _when_misses(data: dict[str, Any]) -> tuple[WhenMiss, ...]:
    return tuple(
        WhenMiss(
            campaign=str(n["campaign"]),
            comparison=str(n["comparison"]),
            column=str(n["column"]),
            literal=str(n["literal"]),
            values=tuple(str(v) for v in n["values"]),
            more=bool(n.get("more_values", False)),
            nearest=None if n.get("nearest") is None else str(n["nearest"]),
        )
        for n in data.get("notes", [])
        if n.get("kind") == WHEN_MATCHES_NO_ROW
    )


def _binding_json(binding: Binding) -> dict[str, str | None]:
    return {
        "environment": binding.environment,
        "instance": binding.instance,
        "ledger_id": binding.ledger_id,
        "ledger": binding.ledger,
    }


def _binding_from(data: Any) -> Binding | None:
    """The ``binding`` of a plan file (None when absent: a file from before issue 21)."""
    if data is None:
        return None
    if not isinstance(data, dict):
        raise TypeError("binding")
    values = {k: data.get(k) for k in ("environment", "instance", "ledger_id", "ledger")}
    for name, value in values.items():
        if value is not None and not isinstance(value, str):
            raise TypeError(f"binding.{name}")
    return Binding(**values)


def _now_from(data: dict[str, Any]) -> datetime | None:
    text = data.get("now")
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError("now")  # an instant needs its offset to mean one moment
    return moment


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The whole plan as one dict (small plans, tests); ``write_plan`` streams big ones."""
    return {**_header(plan), "campaigns": [_campaign(cp, plan.campaigns) for cp in plan.campaigns]}


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def iter_plan_json(plan: Plan) -> Iterator[str]:
    """The plan's JSON in small pieces: one line per lead, so a million-lead plan is written
    with the C encoder, never held as one string, and diffs line by line."""
    yield "{\n"
    for key, value in _header(plan).items():
        yield f'  "{key}": {_compact(value)},\n'
    yield '  "campaigns": ['
    for n, cp in enumerate(plan.campaigns):
        yield ("," if n else "") + "\n    {\n"
        for key, value in _campaign_head(cp, plan.campaigns).items():
            yield f'      "{key}": {_compact(value)},\n'
        yield '      "calls": ['
        for c, (tokens, lines) in enumerate(_call_lines(cp)):
            yield (
                f'{"," if c else ""}\n        {{"tokens": {_tokens_json(tokens)}, "leads": ['
                + "\n          "
                + ",\n          ".join(lines)
                + "\n        ]}"
            )
        yield ("\n      " if cp.calls else "") + "],\n"
        for name, rows in _tail_rows(cp).items():
            yield f'      "{name}": '
            yield from _rows(rows)
            yield ",\n" if name != "invalid" else "\n    }"
    yield ("\n  " if plan.campaigns else "") + "]\n}\n"


def _call_lines(cp: CampaignPlan) -> Iterator[tuple[Tokens, list[str]]]:
    """Each call's tokens and its leads' lines: copied from the spill when the plan has one
    (no object per lead), else encoded from the calls (a plan read back from a file)."""
    if isinstance(cp.calls, SpilledCalls):
        return cp.calls.iter_lines()
    return (
        (
            call.tokens,
            [
                lead_line(p.item, p.action, p.old_tokens, p.retry_of, campaign=_other(p, cp))
                for p in call.items
            ],
        )
        for call in cp.calls
    )


def _tokens_json(tokens: Tokens) -> str:
    """``_compact(dict(tokens))`` (names are unique), from the C string encoder: per call."""
    return "{" + ", ".join([f"{_str(n)}: {_str(v)}" for n, v in tokens]) + "}"


def _other(p: PlannedItem, cp: CampaignPlan) -> str | None:
    """The item's campaign entry when its call is listed under another (same campaign id)."""
    return p.item.campaign if p.item.campaign != cp.name else None


def _rows(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    """A list of rows as JSON, a row at a time."""
    empty = True
    for row in rows:
        yield ("," if not empty else "[") + f"\n        {_compact(row)}"
        empty = False
    yield "[]" if empty else "\n      ]"


def write_plan(plan: Plan, out: TextIO) -> None:
    for chunk in iter_plan_json(plan):
        out.write(chunk)


def dumps(plan: Plan) -> str:
    return "".join(iter_plan_json(plan))


def _campaign_head(cp: CampaignPlan, entries: Sequence[CampaignPlan] = ()) -> dict[str, Any]:
    """The campaign's fields before its calls; ``entries`` (the plan's campaigns) are where
    its field samples may be, as calls are shared by campaign id."""
    return {
        "name": cp.name,
        "campaign_id": cp.campaign_id,
        "source": cp.source,
        "counts": dict(cp.counts),
        "trigger_calls": cp.trigger_calls,
        "lookup_emails": cp.lookup_emails,
        "lookup_calls": cp.lookup_calls,
        "one_lead_per_call": cp.one_lead_per_call,
        "missing_forecast": cp.missing_forecast,
        **(
            {"field_leads": cp.field_leads, "field_calls": cp.field_calls} if cp.field_leads else {}
        ),
        **({"per_lead_token": cp.per_lead_token} if cp.per_lead_token else {}),
        **({"fields_written": _fields_written(cp, entries)} if cp.field_writes else {}),
    }


def _fields_written(cp: CampaignPlan, entries: Sequence[CampaignPlan]) -> list[dict[str, Any]]:
    """Issue 25: every lead field the entry writes, with its lead count, protection and a
    few sample values (additive to format_version 1; docs/plan-json.md)."""
    samples = field_samples(cp, SAMPLES_PER_FIELD, entries)
    out = []
    for w in cp.field_writes:
        entry: dict[str, Any] = {"field": w.name, "leads": w.leads}
        if w.created_only:
            entry["created_only"] = True
        if w.protected is not None:
            entry["protected"] = {
                "category": w.protected,
                "reason": w.reason,
                "grant_consent": w.grant_consent,
            }
        entry["samples"] = [
            {"lead": x.lead, "old": x.old, "new": x.new} for x in samples.get(w.name, [])
        ]
        out.append(entry)
    return out


def _field_writes_from(c: dict[str, Any]) -> tuple[FieldWrite, ...]:
    out = []
    for w in c.get("fields_written", []):
        guard = w.get("protected") or {}
        out.append(
            FieldWrite(
                name=str(w["field"]),
                leads=int(w["leads"]),
                created_only=bool(w.get("created_only", False)),
                protected=guard.get("category"),
                reason=guard.get("reason"),
                grant_consent=bool(guard.get("grant_consent", False)),
            )
        )
    return tuple(out)


def _campaign_tail(cp: CampaignPlan) -> dict[str, list[dict[str, Any]]]:
    return {name: list(rows) for name, rows in _tail_rows(cp).items()}


def _tail_rows(cp: CampaignPlan) -> dict[str, Iterator[dict[str, Any]]]:
    """The unknown, changed and invalid lists, as iterators (they may be read from the spill)."""
    return {
        "unknown": (
            {"key": i.key, "lead": i.lead, "source": i.source, "row": i.row} for i in cp.unknown
        ),
        "changed": (
            {
                "key": c.item.key,
                "lead": c.item.lead,
                "source": c.item.source,
                "row": c.item.row,
                "old_tokens": dict(c.old_tokens),
                "tokens": dict(c.item.tokens),
            }
            for c in cp.changed
        ),
        **({"deferred": (_deferred_json(d) for d in cp.deferred)} if cp.deferred else {}),
        "invalid": (_invalid_json(i) for i in cp.invalid),
    }


def _invalid_json(i: InvalidItem) -> dict[str, Any]:
    """An invalid row: its reason in clear, as the file holds leads in clear; the personal
    values it quotes listed too, so a display of the file read back masks them."""
    out: dict[str, Any] = {"source": i.source, "row": i.row, "key": i.key}
    out["reason"] = shown_personal(i.reason, show_pii=True)
    values = personal_values(i.reason)
    if values:
        out["personal"] = values
    return out


def _deferred_json(d: DeferredItem) -> dict[str, Any]:
    item = d.item
    return {
        "key": item.key,
        "lead": item.lead,
        "source": item.source,
        "row": item.row,
        "tokens": dict(item.tokens),
        "fields": dict(item.synced),
        "first": {
            "campaign": d.first_campaign,
            "source": d.first_source,
            "row": d.first_row,
            "key": d.first_key,
        },
        "differs": [{"name": n, "first": a, "this": b} for n, a, b in d.differs],
    }


def _listed_item(c: dict[str, Any], x: dict[str, Any], **more: Any) -> Item:
    """The item a plan file lists under campaign ``c`` as ``x`` (a changed or deferred one)."""
    lead = str(x["lead"])
    return Item(
        campaign=c["name"],
        campaign_id=int(c["campaign_id"]),
        key=str(x["key"]),
        lead_id=int(lead[3:]) if lead.startswith("id:") else None,
        email=None if lead.startswith("id:") else lead,
        tokens=tuple(x["tokens"].items()),
        source=x["source"],
        row=int(x["row"]),
        **more,
    )


def _deferred(c: dict[str, Any], x: dict[str, Any]) -> DeferredItem:
    first = x["first"]
    return DeferredItem(
        item=_listed_item(c, x, synced=tuple(x.get("fields", {}).items())),
        first_campaign=str(first["campaign"]),
        first_source=str(first["source"]),
        first_row=int(first["row"]),
        first_key=str(first["key"]),
        differs=tuple((str(d["name"]), d["first"], d["this"]) for d in x["differs"]),
    )


def _campaign(cp: CampaignPlan, entries: Sequence[CampaignPlan] = ()) -> dict[str, Any]:
    return {
        **_campaign_head(cp, entries),
        "calls": [
            {"tokens": dict(call.tokens), "leads": [_planned(p, _other(p, cp)) for p in call.items]}
            for call in cp.calls
        ],
        **_campaign_tail(cp),
    }


def _planned(p: PlannedItem, campaign: str | None = None) -> dict[str, Any]:
    item = p.item
    out: dict[str, Any] = {} if campaign is None else {"campaign": campaign}
    out |= {
        "action": p.action,
        "key": item.key,
        "lead": item.lead,
        "lead_id": item.lead_id,
        "email": item.email,
        "source": item.source,
        "row": item.row,
    }
    if item.fields:
        out["fields"] = dict(item.fields)
    if p.old_tokens is not None:
        out["old_tokens"] = dict(p.old_tokens)
    if p.retry_of is not None:
        out["retry_of"] = p.retry_of
    return out


def load_plan(path: Path) -> Plan:
    """Read a saved plan; the caller checks it against the config and the ledger.

    The calls stay in the file and are read when iterated (``plan.filecalls``: a million-lead
    plan is applied with flat memory); a file not laid out as ``plan`` writes it is read
    whole.
    """
    where: list[Where | None] | None = None
    try:
        streamed = read_streamed(path)
        if streamed is not None and len(streamed[1]) == _campaign_count(streamed[0]):
            data, where = streamed
        else:
            data = loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise PlanError(
            f"{path}: not a saved plan: it is not UTF-8 text (byte {exc.object[exc.start]:#04x} "
            f"at position {exc.start:,})"
        ) from None
    except json.JSONDecodeError as exc:
        raise PlanError(
            f"{path}: not a saved plan: it is not complete JSON ({exc.msg.lower()} at line "
            f"{exc.lineno:,}, column {exc.colno:,}; cut short or edited?)"
        ) from None
    except Damaged as exc:
        raise PlanError(f"{path}: damaged plan file: {exc}") from None
    except OSError as exc:
        raise PlanError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
        raise PlanError(f"{path}: not a saved mktsync plan (format_version {FORMAT_VERSION})")
    found = damage(data) or _instant_damage(data) or _notes_damage(data)
    if found:
        raise PlanError(f"{path}: damaged plan file: {found}")
    try:
        return _plan_from_json(data, path, where)
    except (KeyError, TypeError, ValueError, OverflowError):
        # The shape was checked: a value it allows that still does not read (never seen).
        raise PlanError(
            f"{path}: damaged plan file: a value in it is not one mktsync writes; "
            "run 'mktsync plan --out' again"
        ) from None


def _instant_damage(data: dict[str, Any]) -> str | None:
    """What is wrong with the plan's ``now`` and ``timezone``, in words."""
    from mktsync.dates import OutOfRange, held, zone_problem

    text = data.get("now")
    if text is not None:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return f"now is {text[:40]!r}, not an ISO 8601 time"
        if moment.tzinfo is None:
            return f"now is {text!r}, a time without its offset (it must mean one moment)"
        try:
            held(moment)
        except OutOfRange as exc:
            return f"now {exc}"
    problem = zone_problem(str(data.get("timezone") or "UTC"))
    return f"timezone: {problem}" if problem else None


def _notes_damage(data: dict[str, Any]) -> str | None:
    """What is wrong with a ``when`` warning the plan reads back (``_when_misses``)."""
    for n, note in enumerate(data.get("notes", [])):
        if note["kind"] == WHEN_MATCHES_NO_ROW:
            found = damage(note, WHEN_NOTE, f"notes[{n}]")
            if found:
                return found
    return None


def _campaign_count(data: dict[str, Any]) -> int:
    campaigns = data.get("campaigns")
    return len(campaigns) if isinstance(campaigns, list) else -1


def _plan_from_json(
    data: dict[str, Any], path: Path, where: list[Where | None] | None = None
) -> Plan:
    s = data["summary"]
    campaigns = []
    writes = [_field_writes_from(c) for c in data["campaigns"]]
    # Which of a lead's fields its entry syncs (``fields:``): written for every lead, and
    # recorded; the others are ``lead.fields``, for created leads (``Item``).
    synced = {
        str(c["name"]): frozenset(w.name for w in ws if not w.created_only)
        for c, ws in zip(data["campaigns"], writes, strict=True)
    }
    for n, c in enumerate(data["campaigns"]):
        at = where[n] if where is not None else None
        calls: Sequence[Call]
        if at is not None:  # left in the file: read a call at a time when iterated
            calls = FileCalls(
                path, at, campaign=c["name"], campaign_id=int(c["campaign_id"]), synced=synced
            )
        else:
            calls = tuple(_call(c, call, synced) for call in c["calls"])
        campaigns.append(
            CampaignPlan(
                name=c["name"],
                campaign_id=int(c["campaign_id"]),
                source=c["source"],
                # .get: classes added after format_version 1 (``changed``) are additive.
                counts={k.value: int(c["counts"].get(k, 0)) for k in CLASSES},
                calls=calls,
                invalid=tuple(
                    InvalidItem(
                        campaign=c["name"],
                        campaign_id=int(c["campaign_id"]),
                        source=i["source"],
                        row=int(i["row"]),
                        reason=marked_again(i["reason"], list(i.get("personal", []))),
                        key=i["key"],
                    )
                    for i in c["invalid"]
                ),
                unknown=(),
                lookup_emails=int(c["lookup_emails"]),
                lookup_calls=int(c["lookup_calls"]),
                one_lead_per_call=bool(c["one_lead_per_call"]),
                changed=tuple(_changed(c, x) for x in c.get("changed", [])),
                deferred=tuple(_deferred(c, x) for x in c.get("deferred", [])),
                missing_forecast=int(c.get("missing_forecast", 0)),
                field_leads=int(c.get("field_leads", 0)),
                per_lead_token=c.get("per_lead_token"),
                field_writes=writes[n],
            )
        )
    return Plan(
        config_path=data["config"]["path"],
        config_digest=data["config"]["digest"],
        ledger_fingerprint=data["ledger"]["fingerprint"],
        limits=Limits(
            calls=max(1, int(s["calls_per_window"])),
            window_seconds=float(s["window_seconds"]),
            daily_quota=int(s["daily_quota"]),
        ),
        max_calls=None,
        retry_unknown=bool(data["retry_unknown"]),
        campaigns=tuple(campaigns),
        summary=Summary(
            **{k.value: int(s.get(k, 0)) for k in CLASSES},
            missing_forecast=int(s.get("missing_forecast", 0)),
            trigger_calls=int(s["trigger_calls"]),
            lookup_calls=int(s["lookup_calls"]),
            preflight_calls=int(s["preflight_calls"]),
            schedule_calls=int(s.get("schedule_calls", 0)),
            field_calls=int(s.get("field_calls", 0)),
            schedule_changed=sum(len(x.get("changed", [])) for x in data.get("schedules", [])),
            schedule_orphaned=sum(len(x.get("orphaned", [])) for x in data.get("schedules", [])),
        ),
        schedules=tuple(schedule_plan_from_json(x) for x in data.get("schedules", [])),
        environment=data.get("environment"),
        new_ledger=_new_ledger(data),
        now=_now_from(data),
        timezone=str(data.get("timezone") or "UTC"),
        binding=_binding_from(data.get("binding")),
        usage=DailyUsage.from_body({"result": [data["usage"]]}) if data.get("usage") else None,
        when_misses=_when_misses(data),
    )


def _new_ledger(data: dict[str, Any]) -> NewLedger | None:
    found = data.get("new_ledger")
    return None if found is None else NewLedger.from_json(found, data["config"]["path"])


def _call(c: dict[str, Any], call: dict[str, Any], synced: Synced) -> Call:
    tokens = tuple(call["tokens"].items())
    items = tuple(
        planned_from_lead(
            lead,
            campaign=c["name"],
            campaign_id=int(c["campaign_id"]),
            tokens=tokens,
            synced=synced,
        )
        for lead in call["leads"]
    )
    return Call(campaign_id=int(c["campaign_id"]), tokens=tokens, items=items)


def _changed(c: dict[str, Any], x: dict[str, Any]) -> ChangedItem:
    return ChangedItem(
        item=_listed_item(c, x),
        old_tokens=tuple(x["old_tokens"].items()),
    )
