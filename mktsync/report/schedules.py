"""The batch-campaign section of a plan (``schedules:``), in text and Markdown."""

from __future__ import annotations

from mktsync.errors import one_line
from mktsync.plan import Plan
from mktsync.report.escape import literal
from mktsync.schedules import CLASSES, RUN_AT, SchedulePlan, run_at_of

MARKS = {
    "schedule": "+",
    "reschedule": "~",
    "unchanged": "=",
    "filtered": "-",
    "invalid": "!",
    "unknown": "?",
    "changed": "≠",
}


def environment_line(plan: Plan) -> list[str]:
    """The first line of a plan made for an environment (``--env``)."""
    return [f"Environment: {plan.environment}"] if plan.environment else []


def schedule_text(plan: Plan, limit: int = 20) -> list[str]:
    lines: list[str] = []
    for sp in plan.schedules:
        lines += _one(sp, limit)
        lines.append("")
    return lines


def _one(sp: SchedulePlan, limit: int) -> list[str]:
    source = f", source {sp.source}" if sp.source else ""
    lines = [f"{sp.name} (batch campaign {sp.campaign_id}{source})"]
    for cls in CLASSES:
        lines.append(f"  {MARKS[cls]} {cls:<10} {sp.counts[cls]:>8,}")
    lines.append(f"  {sp.calls} schedule call{'s' * (sp.calls != 1)}")
    for p in [*sp.send, *sp.changed][:limit]:
        mark = "≠" if p in sp.changed else MARKS.get(p.action, "+")
        clone = (
            f", cloned to program '{p.item.clone_to_program}'" if p.item.clone_to_program else ""
        )
        tail = ": changed since scheduled, not sent again" if p in sp.changed else ""
        lines.append(one_line(f"  {mark} {p.item.key}: run at {p.item.run_at}{clone}{tail}"))
        if p.old is not None:
            old_run = run_at_of(p.old)
            if old_run != p.item.run_at:
                lines.append(one_line(f"      runAt: {old_run} → {p.item.run_at}"))
            old = {k: v for k, v in p.old if k != RUN_AT}
            for name, value in p.item.tokens:
                if old.get(name) != value:
                    lines.append(one_line(f"      {name}: {old.get(name)} → {value}"))
        if p.note:
            lines.append(one_line(f"      note: {p.note}"))
    return lines


def schedule_markdown(plan: Plan) -> list[str]:
    if not plan.schedules:
        return []
    lines = [
        "",
        "| batch campaign | id | + schedule | ~ reschedule | = unchanged | ≠ changed | runs at |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for sp in plan.schedules:
        times = ", ".join(sorted({p.item.run_at for p in sp.send})[:3]) or "-"
        c = sp.counts
        lines.append(
            f"| {literal(sp.name, cell=True)} | {sp.campaign_id} | {c['schedule']:,} "
            f"| {c['reschedule']:,} | {c['unchanged']:,} | {c['changed']:,} "
            f"| {literal(times, cell=True)} |"
        )
    notes = {p.note for sp in plan.schedules for p in [*sp.send, *sp.changed] if p.note}
    lines += [f"> {literal(n)}" for n in sorted(notes)]
    return lines
