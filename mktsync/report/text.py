"""The plan as plain text for a terminal or a CI log (colour only when asked: on a TTY).

Every line goes out through ``report.escape.terminal``: data cannot send a control
character, a bidi control or an invisible character to a terminal (``errors.one_line``
shows them escaped), and colour is added after that, by the reporter only.
"""

from __future__ import annotations

from collections.abc import Sequence

from mktsync.errors import one_line
from mktsync.plan import CLASSES, CampaignPlan, Plan
from mktsync.plan.notes import (
    ALL_ROWS_FILTERED,
    VALUES_SHOWN,
    deferred_words,
    differs_lines,
    plan_notes,
)
from mktsync.plan.records import SAMPLES_PER_FIELD, Action, field_samples, sample_leads
from mktsync.report.batch import (
    Paint,
    environment_line,
    orphan_count,
    orphan_line,
    schedule_text,
)
from mktsync.report.escape import terminal
from mktsync.report.words import (
    CHANGED_FIX,
    cost_line,
    field_advice,
    field_leads,
    headline,
    instant_text,
    new_ledger_note,
    plural,
    protected_note,
    shorten,
    shown_new,
    token_diff,
)

# The colour of each action's lines (SGR codes): what is sent green or yellow, what is
# wrong red, what needs a look bold; unchanged and filtered dim.
COLORS = {
    Action.TRIGGER: "32",
    Action.SCHEDULE: "32",
    Action.RETRIGGER: "33",
    Action.RESCHEDULE: "33",
    Action.INVALID: "31",
    Action.UNKNOWN: "35",
    Action.UNCHANGED: "2",
    Action.FILTERED: "2",
    Action.CHANGED: "33;1",
    Action.DEFERRED: "33",
    Action.ORPHANED: "31;1",
}


class _Painter:
    """Remembers which lines to colour; ``terminal`` colours them once they are escaped."""

    def __init__(self, color: bool) -> None:
        self.color = color
        self._actions: dict[str, Action] = {}

    def paint(self, action: Action, text: str) -> str:
        """``text`` as a line of ``action``'s: coloured as it when colour is on."""
        # Data (keys, reasons) may hold control characters: never let them reach a terminal.
        text = one_line(text)
        if self.color:
            self._actions[text] = action
        return text

    def finish(self, lines: list[str]) -> str:
        return terminal(lines, self._code if self._actions else None)

    def _code(self, line: str) -> str | None:
        action = self._actions.get(line.lstrip(" "))
        return COLORS[action] if action else None


def render_text(plan: Plan, *, color: bool = False, limit: int = 20) -> str:
    painter = _Painter(color)
    paint = painter.paint
    lines: list[str] = environment_line(plan)
    if plan.now is not None:  # what now and today were: a saved plan replays it
        lines.append(f"As of {instant_text(plan)}")
    for cp in plan.campaigns:
        lines += _campaign(cp, paint, limit, plan.campaigns)
        lines.append("")
    lines += schedule_text(plan, limit, paint=paint)
    lines += _summary(plan, painter, first=False, limit=limit)
    return painter.finish(lines) + "\n"


def render_text_summary(plan: Plan, *, color: bool = False, first: bool = True) -> str:
    """The plan's closing lines alone (``plan -q``): what it sends, costs, and leaves out.

    ``first``: these are the output's first lines, so they name the environment."""
    painter = _Painter(color)
    return painter.finish(_summary(plan, painter, first=first)) + "\n"


def _notes(plan: Plan, painter: _Painter, limit: int) -> list[str]:
    """Issue 22: what the plan says about its data (``plan.notes``), above the headline:
    warnings in bold yellow.  Whole campaigns filtered are in the headline itself."""
    return [
        painter.paint(Action.CHANGED, n.line) if n.severity == "warning" else one_line(n.line)
        for n in plan_notes(plan, values=min(VALUES_SHOWN, limit))
        if n.kind != ALL_ROWS_FILTERED
    ]


def _summary(plan: Plan, painter: _Painter, *, first: bool, limit: int = 20) -> list[str]:
    lines = [*(environment_line(plan) if first else [])]
    note = new_ledger_note(plan)
    if note is not None:  # above the headline: every count below it rests on this
        warns = plan.new_ledger is not None and plan.new_ledger.warns
        lines.append(painter.paint(Action.CHANGED, note) if warns else one_line(note))
    lines += _notes(plan, painter, limit)
    lines += [headline(plan), cost_line(plan)]
    for cp in plan.campaigns:  # issue 25: an allowed protected field is never quiet
        for w in cp.field_writes:
            if w.protected is not None:
                lines.append(painter.paint(Action.INVALID, protected_note(cp, w)))
    for cp in plan.campaigns:
        if cp.one_lead_per_call:
            lines.append(_one_per_call(cp))
            if cp.per_lead_token:
                lines.append(field_advice(cp))
    if plan.summary.changed:
        lines.append(painter.paint(Action.CHANGED, f"note: {CHANGED_FIX}"))
    orphans = orphan_count(plan)
    if orphans:  # last: an email nobody wants still goes out unless someone acts
        lines.append(painter.paint(Action.ORPHANED, orphan_line(orphans)))
    return lines


def _fields_written(cp: CampaignPlan, limit: int, entries: Sequence[CampaignPlan]) -> list[str]:
    """Issue 25: every lead field apply writes for the campaign, its leads, and a few
    values as old (what mktsync last wrote for the key; — when nothing) → new."""
    written = [w for w in cp.field_writes if w.leads]
    if not written:
        return []
    samples = field_samples(cp, min(SAMPLES_PER_FIELD, limit), entries)
    lines = ["  lead fields written:"]
    for w in written:
        lines.append(one_line(f"    {w.name}: {field_leads(w)}"))
        for x in samples.get(w.name, []):
            old = "—" if x.old is None else shorten(x.old)
            lines.append(one_line(f"      {x.lead}: {old} → {shorten(x.new)}"))
    return lines


def _one_per_call(cp: CampaignPlan) -> str:
    return (
        f"note: every lead of '{cp.name}' has its own token values, so each costs one call "
        f"({plural(cp.trigger_calls, 'call')} for {plural(cp.trigger_calls, 'lead')})"
    )


def _campaign(
    cp: CampaignPlan, paint: Paint, limit: int, entries: Sequence[CampaignPlan] = ()
) -> list[str]:
    lines = [f"{cp.name} (campaign {cp.campaign_id}, source {cp.source})"]
    for w in cp.field_writes:  # issue 25: at the top of the campaign, never in a list
        if w.protected is not None:
            lines.append("  " + paint(Action.INVALID, protected_note(cp, w)))
    for cls in CLASSES:
        if cls is Action.DEFERRED and not cp.counts.get(cls):
            continue  # issue 22: a class most plans never see is shown when it happens
        lines.append("  " + paint(cls, f"{cls.mark} {cls:<10} {cp.counts.get(cls, 0):>8,}"))
    if cp.field_leads:  # issue 15: lead fields are written first, then the triggers
        lines.append(
            f"  sync fields: {plural(cp.field_leads, 'lead')} in {plural(cp.field_calls, 'call')}"
        )
    lines += _fields_written(cp, limit, entries)
    calls = f"  {plural(cp.trigger_calls, 'trigger call')}"
    if cp.lookup_emails:
        calls += f", {plural(cp.lookup_emails, 'email')} to look up"
    lines.append(calls)
    changed, shown = sample_leads(cp.calls, limit, action=Action.RETRIGGER)
    for p in shown:
        lines.append("  " + paint(Action.RETRIGGER, f"{Action.RETRIGGER.mark} {p.item.key}"))
        for name, old, new in token_diff(p.old_tokens or (), shown_new(p.old_tokens or (), p.item)):
            lines.append(one_line(f"      {name}: {shorten(str(old))} → {shorten(str(new))}"))
    if changed > limit:
        lines.append(f"  … and {changed - limit:,} more changed")
    for ch in cp.changed[:limit]:
        changed_line = f"{Action.CHANGED.mark} {ch.item.key}: changed since sent, not resent"
        lines.append("  " + paint(Action.CHANGED, changed_line))
        for name, old, new in token_diff(ch.old_tokens, shown_new(ch.old_tokens, ch.item)):
            lines.append(one_line(f"      {name}: {shorten(str(old))} → {shorten(str(new))}"))
    if len(cp.changed) > limit:
        lines.append(f"  … and {len(cp.changed) - limit:,} more changed, not resent")
    for d in cp.deferred[:limit]:
        deferred_line = f"{Action.DEFERRED.mark} {d.item.key}: {deferred_words(d)}"
        lines.append("  " + paint(Action.DEFERRED, deferred_line))
        for name, first, later in differs_lines(d):
            first_text = "—" if first is None else shorten(first)
            later_text = "—" if later is None else shorten(later)
            lines.append(one_line(f"      {name}: {first_text} now, {later_text} next run"))
    if len(cp.deferred) > limit:
        lines.append(f"  … and {len(cp.deferred) - limit:,} more deferred")
    if cp.missing_forecast:
        lines.append(
            f"  {plural(cp.missing_forecast, 'email')} to look up "
            f"{'was' if cp.missing_forecast == 1 else 'were'} not found in Marketo at the last run"
        )
    for inv in cp.invalid[:limit]:
        invalid_line = f"{Action.INVALID.mark} {inv.source} row {inv.row}: {inv.reason}"
        lines.append("  " + paint(Action.INVALID, invalid_line))
    if len(cp.invalid) > limit:
        lines.append(f"  … and {len(cp.invalid) - limit:,} more invalid")
    for item in cp.unknown[:limit]:
        unknown_line = f"{Action.UNKNOWN.mark} {item.key}: outcome of an earlier call unknown"
        lines.append("  " + paint(Action.UNKNOWN, unknown_line))
    if len(cp.unknown) > limit:
        lines.append(f"  … and {len(cp.unknown) - limit:,} more unknown")
    return lines
