"""The plan as Markdown for a pull-request comment that cannot lie or be hijacked.

- Every value from data (keys, leads, tokens, reasons, names) goes through
  ``report.escape``: literal text, no HTML, images, links, mentions or table breaks.
- The header says what the comment describes: the commit, the ledger compared against
  (credentials redacted), and when.
- GitHub refuses comments over 65,536 characters: sample rows shrink first, then whole
  campaign sections are dropped, and the comment always ends by saying how many campaigns
  or items are not shown and that the full plan is in the job's artifact.
- Emails are masked unless ``show_pii``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mktsync.items import Tokens
from mktsync.plan import CLASSES, CampaignPlan, Plan
from mktsync.planned import sample_leads
from mktsync.report.escape import html_text, literal
from mktsync.report.schedules import schedule_markdown
from mktsync.report.words import (
    CHANGED_FIX,
    MARKS,
    cost_line,
    headline,
    mask_emails,
    plural,
    shown_new,
    token_diff,
)

COMMENT_LIMIT = 65_536
MARKER = "<!-- mktsync-plan -->"  # lets a workflow find and update its own sticky comment
ARTIFACT = "the full plan is in the job's artifact"
_NOTE_ROOM = 600


@dataclass(frozen=True, kw_only=True)
class Context:
    """What the comment describes: the commit, the ledger compared against, and when."""

    ref: str | None = None
    ledger: str | None = None  # already redacted of credentials
    generated_at: str | None = None


def render_markdown(
    plan: Plan,
    *,
    show_pii: bool = False,
    limit: int = 20,
    context: Context | None = None,
) -> str:
    def clean(value: object, *, cell: bool = False) -> str:
        text = str(value) if show_pii else mask_emails(str(value))
        return literal(text, cell=cell)

    title = f"### mktsync plan: environment `{plan.environment}`" if plan.environment else ""
    head = [MARKER, title or "### mktsync plan", ""]
    head += _context_lines(context or Context())
    head += [f"**{headline(plan)}**", ""]
    head += _table(plan)
    head += schedule_markdown(plan)
    head += ["", cost_line(plan) + ".", ""]
    for cp in plan.campaigns:
        if cp.one_lead_per_call:
            head.append(
                f"> Every lead of {literal(cp.name)} has its own token values, "
                "so each lead costs one call."
            )
    if plan.summary.changed:
        head += [""] if head[-1].startswith(">") else []
        head.append(f"> **≠ {plural(plan.summary.changed, 'changed item')} will not be resent**: "
                    f"{CHANGED_FIX}.")  # fmt: skip
    if not show_pii:
        head += [""] if head[-1].startswith(">") else []
        head.append(
            "<sub>Email addresses are masked; run `mktsync plan --show-pii` to see them.</sub>"
        )
    head.append("")
    text = "\n".join(head) + "\n"
    for size in dict.fromkeys((limit, 5, 0)):
        sections = [_section(cp, clean, size) for cp in plan.campaigns]
        full = text + "".join(sections)
        if len(full) <= COMMENT_LIMIT:
            return full
    return _truncate(text, [_section(cp, clean, 0) for cp in plan.campaigns], plan)


def _context_lines(context: Context) -> list[str]:
    parts = [f"commit {literal(context.ref or 'unknown')}"]
    parts.append(f"ledger {literal(context.ledger or 'unknown')}")
    if context.generated_at:  # the plan's instant: what now and today were
        parts.append(f"as of {literal(context.generated_at)}")
    return ["<sub>" + " · ".join(parts) + "</sub>", ""]


def _truncate(text: str, sections: list[str], plan: Plan) -> str:
    out = text
    kept = 0
    for section in sections:
        if len(out) + len(section) + _NOTE_ROOM > COMMENT_LIMIT:
            break
        out += section
        kept += 1
    left = len(plan.campaigns) - kept
    return out + (
        f"\n> **{plural(left, 'more campaign')} not shown**; {ARTIFACT}. "
        "The totals at the top count everything.\n"
    )


def _table(plan: Plan) -> list[str]:
    """Counts per campaign; with thousands of campaigns, as many rows as half a comment holds."""
    header = "| campaign | id | " + " | ".join(f"{MARKS[c]} {c}" for c in CLASSES) + " | calls |"
    rule = "|---|---:|" + "---:|" * len(CLASSES) + "---:|"
    rows: list[str] = []
    size = 0
    for cp in plan.campaigns:
        row = (
            f"| {literal(cp.name, cell=True)} | {cp.campaign_id} | "
            + " | ".join(f"{cp.counts.get(c, 0):,}" for c in CLASSES)
            + f" | {cp.trigger_calls:,} |"
        )
        size += len(row) + 1
        if size > COMMENT_LIMIT // 2:
            left = len(plan.campaigns) - len(rows)
            return [
                header,
                rule,
                *rows,
                "",
                f"{plural(left, 'more campaign')} not shown; {ARTIFACT}.",
            ]
        rows.append(row)
    return [header, rule, *rows]


Clean = Callable[..., str]


def _tokens(clean: Clean, tokens: Tokens) -> str:
    return "<br>".join(f"{clean(n, cell=True)}: {clean(v, cell=True)}" for n, v in tokens)


def _diff(clean: Clean, old: Tokens, new: Tokens) -> str:
    return "<br>".join(
        f"{clean(n, cell=True)}: {clean(o, cell=True)} → {clean(v, cell=True)}"
        for n, o, v in token_diff(old, new)
    )


def _more(n: int, what: str) -> str:
    return f"\n{plural(n, 'more ' + what)} not shown; {ARTIFACT}."


def _section(cp: CampaignPlan, clean: Clean, limit: int) -> str:
    sending, shown_sending = sample_leads(cp.calls, limit)
    summary = (
        f"<b>{html_text(cp.name)}</b> (campaign {cp.campaign_id}): "
        f"{plural(sending, 'lead')} in {plural(cp.trigger_calls, 'call')}"
    )
    for cls, word in (("changed", "changed, not resent"), ("invalid", "invalid")):
        if cp.counts.get(cls):
            summary += f", {cp.counts[cls]:,} {word}"
    lines = ["<details>", f"<summary>{summary}</summary>", ""]
    if cp.missing_forecast:
        lines += [
            f"{plural(cp.missing_forecast, 'email')} to send "
            f"{'was' if cp.missing_forecast == 1 else 'were'} not found in Marketo at the last run.",
            "",
        ]
    # Changed items have a share of the rows of their own: a reviewer must see them even
    # when many leads are sent.
    shown_changed = cp.changed[:limit]
    rows = sending + len(cp.changed)
    if shown_sending or shown_changed:
        lines += ["| | lead | key | tokens |", "|---|---|---|---|"]
        for p in shown_sending:
            tokens = (
                _diff(clean, p.old_tokens, shown_new(p.old_tokens or (), p.item))
                if p.old_tokens is not None
                else _tokens(clean, p.item.tokens)
            )
            mark = "~" if p.action == "retrigger" else "+"
            lines.append(
                f"| {mark} | {clean(p.item.lead, cell=True)} | {clean(p.item.key, cell=True)} "
                f"| {tokens} |"
            )
        for ch in shown_changed:
            lines.append(
                f"| ≠ | {clean(ch.item.lead, cell=True)} | {clean(ch.item.key, cell=True)} "
                f"| {_diff(clean, ch.old_tokens, shown_new(ch.old_tokens, ch.item))} |"
            )
        hidden = rows - len(shown_sending) - len(shown_changed)
        if hidden:
            lines.append(_more(hidden, "item"))
    elif rows:
        lines.append(f"{plural(rows, 'item')} not shown; {ARTIFACT}.")
    if cp.invalid and limit:
        lines += ["", "**Invalid rows**", ""]
        lines += [f"- {clean(i.source)} row {i.row}: {clean(i.reason)}" for i in cp.invalid[:limit]]
        if len(cp.invalid) > limit:
            lines.append(_more(len(cp.invalid) - limit, "invalid row"))
    if cp.unknown and limit:
        lines += ["", "**Unknown outcome** (not resent; see `mktsync ledger`)", ""]
        lines += [f"- {clean(i.key)}" for i in cp.unknown[:limit]]
        if len(cp.unknown) > limit:
            lines.append(_more(len(cp.unknown) - limit, "unknown item"))
    lines += ["", "</details>", ""]
    return "\n".join(lines) + "\n"
