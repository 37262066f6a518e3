"""The plan as plain text for a terminal or a CI log (colour only when asked: on a TTY)."""

from __future__ import annotations

from mktsync.errors import one_line
from mktsync.plan import CLASSES, CampaignPlan, Plan
from mktsync.planned import sample_leads
from mktsync.report.schedules import environment_line, schedule_text
from mktsync.report.words import (
    CHANGED_FIX,
    MARKS,
    cost_line,
    field_advice,
    headline,
    instant_text,
    plural,
    shorten,
    shown_new,
    token_diff,
)

_COLORS = {"+": "32", "~": "33", "!": "31", "?": "35", "=": "2", "-": "2", "≠": "33;1"}


def render_text(plan: Plan, *, color: bool = False, limit: int = 20) -> str:
    def paint(mark: str, text: str) -> str:
        # Data (keys, reasons) may hold control characters: never let them reach a terminal.
        text = one_line(text)
        return f"\x1b[{_COLORS[mark]}m{text}\x1b[0m" if color and mark in _COLORS else text

    lines: list[str] = environment_line(plan)
    if plan.now is not None:  # what now and today were: a saved plan replays it
        lines.append(f"As of {instant_text(plan)}")
    for cp in plan.campaigns:
        lines += _campaign(cp, paint, limit)
        lines.append("")
    lines += schedule_text(plan, limit)
    return "\n".join([*lines, render_text_summary(plan, color=color, first=False)])


def render_text_summary(plan: Plan, *, color: bool = False, first: bool = True) -> str:
    """The plan's closing lines alone (``plan -q``): what it sends, costs, and leaves out.

    ``first``: these are the output's first lines, so they name the environment."""
    lines = [*(environment_line(plan) if first else []), headline(plan), cost_line(plan)]
    for cp in plan.campaigns:
        if cp.one_lead_per_call:
            lines.append(_one_per_call(cp))
            if cp.per_lead_token:
                lines.append(field_advice(cp))
    if plan.summary.changed:
        note = f"note: {CHANGED_FIX}"
        lines.append(f"\x1b[{_COLORS['≠']}m{note}\x1b[0m" if color else note)
    return "\n".join(lines) + "\n"


def _one_per_call(cp: CampaignPlan) -> str:
    return (
        f"note: every lead of '{cp.name}' has its own token values, so each costs one call "
        f"({plural(cp.trigger_calls, 'call')} for {plural(cp.trigger_calls, 'lead')})"
    )


def _campaign(cp: CampaignPlan, paint: object, limit: int) -> list[str]:
    assert callable(paint)
    lines = [f"{cp.name} (campaign {cp.campaign_id}, source {cp.source})"]
    for cls in CLASSES:
        mark = MARKS[cls]
        lines.append("  " + paint(mark, f"{mark} {cls:<10} {cp.counts[cls]:>8,}"))
    if cp.field_leads:  # issue 15: lead fields are written first, then the triggers
        lines.append(
            f"  sync fields: {plural(cp.field_leads, 'lead')} in {plural(cp.field_calls, 'call')}"
        )
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
