"""The batch-campaign section of a plan (``schedules:``), in text and Markdown.

``⊘ orphaned`` runs (``mktsync.plan.batch``) are shown loudest: each with its time and how
to cancel it in Marketo, since nothing mktsync can call unschedules a run.  Marketo's own
way is in the UI: the smart campaign's Schedule tab, the x next to the run, OK
("Cancel a Scheduled Batch Campaign Run", Adobe's Marketo Engage documentation; see
docs/exit-codes.md#orphaned-batch-runs).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from mktsync.errors import one_line
from mktsync.plan import Plan
from mktsync.plan.batch import RUN_AT, OrphanedRun, SchedulePlan, run_at_of
from mktsync.plan.records import BATCH_CLASSES, Action
from mktsync.report.escape import literal
from mktsync.report.words import plural

FORGET_WHY = "cancelled in Marketo"

Paint = Callable[[Action, str], str]  # a line to colour as the action's (text reporter)


def environment_line(plan: Plan) -> list[str]:
    """The first line of a plan made for an environment (``--env``)."""
    return [f"Environment: {plan.environment}"] if plan.environment else []


def orphan_count(plan: Plan) -> int:
    return sum(len(sp.orphaned) for sp in plan.schedules)


def orphan_line(n: int) -> str:
    """The plan's last line when runs are still scheduled for rows that are gone."""
    it, its = ("it", "its key") if n == 1 else ("them", "their keys")
    return (
        f"{plural(n, 'batch run')} {'is' if n == 1 else 'are'} still scheduled in Marketo for "
        f"{'a row that is' if n == 1 else 'rows that are'} gone: cancel {it} there (the smart "
        f"campaign's Schedule tab), then 'mktsync ledger forget' {its}."
    )


def cancel_how(campaign_id: int | str) -> str:
    """Where Marketo cancels a scheduled run (its REST API cannot): the UI, per Adobe's page
    "Cancel a Scheduled Batch Campaign Run"."""
    return (
        f"open smart campaign {campaign_id}, its Schedule tab, click the x next to the run "
        "and confirm with OK"
    )


def forget_command(campaign_id: int | str, key: str) -> str:
    """The ledger repair that says a cancelled run is gone (the plan stops showing it)."""
    return (
        f"mktsync ledger forget {shlex.quote(key)} --campaign-id {campaign_id} "
        f"--why {shlex.quote(FORGET_WHY)}"
    )


def _plain(action: Action, text: str) -> str:
    return one_line(text)


# A batch campaign with none of these is one line: nothing to schedule, nothing to see.
_BUSY = (Action.SCHEDULE, Action.RESCHEDULE, Action.INVALID, Action.UNKNOWN, Action.CHANGED,
         Action.ORPHANED)  # fmt: skip


def schedule_lines(sp: SchedulePlan, limit: int, paint: Paint = _plain) -> list[str]:
    """One batch campaign's section of the text plan: its classes that are not zero, its
    runs; one line when it has nothing to do (issue 22)."""
    source = f", source {sp.source}" if sp.source else ""
    title = f"{sp.name} (batch campaign {sp.campaign_id}{source})"
    if not (sp.send or sp.changed or sp.orphaned or any(sp.counts.get(c) for c in _BUSY)):
        rest = ", ".join(
            f"{sp.counts[cls]:,} {cls}" for cls in (Action.UNCHANGED, Action.FILTERED)
            if sp.counts.get(cls)
        )  # fmt: skip
        return [paint(Action.UNCHANGED, f"{title}: nothing to do ({rest or 'no rows'})")]
    lines = [one_line(title)]
    for cls in BATCH_CLASSES:
        if sp.counts.get(cls):
            lines.append("  " + paint(cls, f"{cls.mark} {cls:<10} {sp.counts[cls]:>8,}"))
    if sp.calls:
        lines.append(f"  {sp.calls} schedule call{'s' * (sp.calls != 1)}")
    for p in [*sp.send, *sp.changed][:limit]:
        mark = Action.CHANGED.mark if p in sp.changed else p.action.mark
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
    for o in sp.orphaned[:limit]:
        orphaned = f"{Action.ORPHANED.mark} {o.key}: {_still(o)}, and no row gives it any more"
        lines.append("  " + paint(Action.ORPHANED, orphaned))
        lines.append(one_line(f"      cancel it in Marketo: {cancel_how(sp.campaign_id)};"))
        lines.append(one_line(f"      then: {forget_command(sp.campaign_id, o.key)}"))
    if len(sp.orphaned) > limit:
        lines.append(f"  … and {len(sp.orphaned) - limit:,} more still scheduled")
    return lines


def _still(o: OrphanedRun) -> str:
    when = f"to run at {o.run_at}" if o.run_at else "(its run time was not recorded)"
    clone = f", cloned to program '{o.clone_to_program}'" if o.clone_to_program else ""
    return f"still scheduled in Marketo {when}{clone}"


def schedule_markdown(plan: Plan, limit: int = 20) -> list[str]:
    if not plan.schedules:
        return []
    lines = [
        "",
        "| batch campaign | id | "
        + " | ".join(f"{c.mark} {c}" for c in BATCH_CLASSES)
        + " | runs at |",
        "|---|---:|" + "---:|" * len(BATCH_CLASSES) + "---|",
    ]
    for sp in plan.schedules:
        times = ", ".join(sorted({p.item.run_at for p in sp.send})[:3]) or "-"
        lines.append(
            f"| {literal(sp.name, cell=True)} | {sp.campaign_id} | "
            + " | ".join(f"{sp.counts.get(c, 0):,}" for c in BATCH_CLASSES)
            + f" | {literal(times, cell=True)} |"
        )
    notes = {p.note for sp in plan.schedules for p in [*sp.send, *sp.changed] if p.note}
    lines += [f"> {literal(n)}" for n in sorted(notes)]
    lines += _orphans_markdown(plan, limit)
    return lines


def _orphans_markdown(plan: Plan, limit: int) -> list[str]:
    n = orphan_count(plan)
    if not n:
        return []
    lines = [
        "",
        f"> **{Action.ORPHANED.mark} {orphan_line(n)}**",
        ">",
        f"> Marketo's REST API cannot unschedule a run. In Marketo, {cancel_how('ID')}; then "
        f"record it: `{forget_command('ID', 'KEY')}`.",
        ">",
    ]
    shown = 0
    for sp in plan.schedules:
        for o in sp.orphaned:
            if shown == limit:
                break
            when = literal(o.run_at) if o.run_at else "an unrecorded time"
            lines.append(
                f"> - {literal(sp.name)} (campaign {sp.campaign_id}): key {literal(o.key)} "
                f"runs at {when}"
            )
            shown += 1
    if n > shown:
        lines.append(
            f"> - {plural(n - shown, 'more')} not shown; the full plan is in the job's artifact."
        )
    return lines
