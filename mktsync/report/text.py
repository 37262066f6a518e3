"""The plan as plain text for a terminal or a CI log (colour only when asked: on a TTY).

Every line goes out through ``report.escape.terminal``: data cannot send a control
character, a bidi control or an invisible character to a terminal (``errors.one_line``
shows them escaped), and colour is added after that, by the reporter only.
"""

from __future__ import annotations

from collections.abc import Sequence

from mktsync.errors import one_line
from mktsync.plan import CLASSES, CampaignPlan, Plan
from mktsync.plan.records import SAMPLES_PER_FIELD, field_samples, sample_leads
from mktsync.report.batch import environment_line, orphan_count, orphan_line, schedule_text
from mktsync.report.escape import terminal
from mktsync.report.words import (
    CHANGED_FIX,
    MARKS,
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

_COLORS = {"+": "32", "~": "33", "!": "31", "?": "35", "=": "2", "-": "2", "≠": "33;1", "⊘": "31;1"}


class _Painter:
    """Remembers which lines to colour; ``terminal`` colours them once they are escaped."""

    def __init__(self, color: bool) -> None:
        self.color = color
        self._marks: dict[str, str] = {}

    def paint(self, mark: str, text: str) -> str:
        # Data (keys, reasons) may hold control characters: never let them reach a terminal.
        text = one_line(text)
        if self.color and mark in _COLORS:
            self._marks[text] = mark
        return text

    def finish(self, lines: list[str]) -> str:
        return terminal(lines, self._code if self._marks else None)

    def _code(self, line: str) -> str | None:
        mark = self._marks.get(line.lstrip(" "))
        return _COLORS[mark] if mark else None


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
    lines += _summary(plan, painter, first=False)
    return painter.finish(lines) + "\n"


def render_text_summary(plan: Plan, *, color: bool = False, first: bool = True) -> str:
    """The plan's closing lines alone (``plan -q``): what it sends, costs, and leaves out.

    ``first``: these are the output's first lines, so they name the environment."""
    painter = _Painter(color)
    return painter.finish(_summary(plan, painter, first=first)) + "\n"


def _summary(plan: Plan, painter: _Painter, *, first: bool) -> list[str]:
    lines = [*(environment_line(plan) if first else [])]
    note = new_ledger_note(plan)
    if note is not None:  # above the headline: every count below it rests on this
        warns = plan.new_ledger is not None and plan.new_ledger.warns
        lines.append(painter.paint("≠", note) if warns else one_line(note))
    lines += [headline(plan), cost_line(plan)]
    for cp in plan.campaigns:  # issue 25: an allowed protected field is never quiet
        for w in cp.field_writes:
            if w.protected is not None:
                lines.append(painter.paint("!", protected_note(cp, w)))
    for cp in plan.campaigns:
        if cp.one_lead_per_call:
            lines.append(_one_per_call(cp))
            if cp.per_lead_token:
                lines.append(field_advice(cp))
    if plan.summary.changed:
        lines.append(painter.paint("≠", f"note: {CHANGED_FIX}"))
    orphans = orphan_count(plan)
    if orphans:  # last: an email nobody wants still goes out unless someone acts
        lines.append(painter.paint("⊘", orphan_line(orphans)))
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
    cp: CampaignPlan, paint: object, limit: int, entries: Sequence[CampaignPlan] = ()
) -> list[str]:
    assert callable(paint)
    lines = [f"{cp.name} (campaign {cp.campaign_id}, source {cp.source})"]
    for w in cp.field_writes:  # issue 25: at the top of the campaign, never in a list
        if w.protected is not None:
            lines.append("  " + paint("!", protected_note(cp, w)))
    for cls in CLASSES:
        mark = MARKS[cls]
        lines.append("  " + paint(mark, f"{mark} {cls:<10} {cp.counts[cls]:>8,}"))
    if cp.field_leads:  # issue 15: lead fields are written first, then the triggers
        lines.append(
            f"  sync fields: {plural(cp.field_leads, 'lead')} in {plural(cp.field_calls, 'call')}"
        )
    lines += _fields_written(cp, limit, entries)
    calls = f"  {plural(cp.trigger_calls, 'trigger call')}"
    if cp.lookup_emails:
        calls += f", {plural(cp.lookup_emails, 'email')} to look up"
    lines.append(calls)
    changed, shown = sample_leads(cp.calls, limit, action="retrigger")
    for p in shown:
        lines.append("  " + paint("~", f"~ {p.item.key}"))
        for name, old, new in token_diff(p.old_tokens or (), shown_new(p.old_tokens or (), p.item)):
            lines.append(one_line(f"      {name}: {shorten(str(old))} → {shorten(str(new))}"))
    if changed > limit:
        lines.append(f"  … and {changed - limit:,} more changed")
    for ch in cp.changed[:limit]:
        lines.append("  " + paint("≠", f"≠ {ch.item.key}: changed since sent, not resent"))
        for name, old, new in token_diff(ch.old_tokens, shown_new(ch.old_tokens, ch.item)):
            lines.append(one_line(f"      {name}: {shorten(str(old))} → {shorten(str(new))}"))
    if len(cp.changed) > limit:
        lines.append(f"  … and {len(cp.changed) - limit:,} more changed, not resent")
    if cp.missing_forecast:
        lines.append(
            f"  {plural(cp.missing_forecast, 'email')} to look up "
            f"{'was' if cp.missing_forecast == 1 else 'were'} not found in Marketo at the last run"
        )
    for inv in cp.invalid[:limit]:
        lines.append("  " + paint("!", f"! {inv.source} row {inv.row}: {inv.reason}"))
    if len(cp.invalid) > limit:
        lines.append(f"  … and {len(cp.invalid) - limit:,} more invalid")
    for item in cp.unknown[:limit]:
        lines.append("  " + paint("?", f"? {item.key}: outcome of an earlier call unknown"))
    if len(cp.unknown) > limit:
        lines.append(f"  … and {len(cp.unknown) - limit:,} more unknown")
    return lines
