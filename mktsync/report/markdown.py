"""The plan as Markdown for a pull-request comment that cannot lie or be hijacked.

- Every value from data (keys, leads, tokens, reasons, names) goes through
  ``report.escape``: literal text, no HTML, images, links, mentions or table breaks.
- The header says what the comment describes: the commit, the ledger compared against
  (credentials redacted), and when.
- GitHub refuses comments over 65,536 characters: sample rows shrink first, then whole
  campaign sections are dropped, and the comment always ends by saying how many campaigns
  or items are not shown and that the full plan is in the job's artifact.
- Emails are masked unless ``show_pii``, and so are the values of lead fields whose
  names look personal (``report.words.personal_field``: email, phone, names, address).
- Every lead field a merge would write is listed per campaign with its lead count and a
  few old → new values, and an allowed protected field is a warning at the top (issue 25).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mktsync.items import Tokens
from mktsync.plan import CLASSES, CampaignPlan, Plan
from mktsync.plan.notes import (
    ALL_ROWS_FILTERED,
    VALUES_SHOWN,
    deferred_parts,
    differs_lines,
    plan_notes,
)
from mktsync.plan.records import SAMPLES_PER_FIELD, Action, FieldWrite, field_samples, sample_leads
from mktsync.report.batch import schedule_markdown
from mktsync.report.escape import html_text, literal, visible
from mktsync.report.words import (
    CHANGED_FIX,
    cost_line,
    field_leads,
    headline,
    mask_emails,
    mask_value,
    new_ledger_note,
    personal_field,
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

    def clean_field(name: str, value: str | None) -> str:
        """A lead field's value in a table cell: masked when the field looks personal."""
        if value is None:
            return "—"
        return clean(
            value if show_pii or not personal_field(name) else mask_value(value), cell=True
        )

    title = f"### mktsync plan: environment `{plan.environment}`" if plan.environment else ""
    head = [MARKER, title or "### mktsync plan", ""]
    head += _context_lines(context or Context())
    note = new_ledger_note(plan, literal)
    if note is not None:  # issue 25: at the top, before the counts it explains
        kind, _, words = note.partition(": ")
        head += [f"> **{kind.capitalize()}:** {words}", ""]
    head += notes_markdown(plan, clean, limit)
    head += [f"**{headline(plan, literal)}**", ""]
    head += _table(plan)
    head += schedule_markdown(plan, limit)
    head += ["", cost_line(plan) + ".", ""]
    for cp in plan.campaigns:
        if cp.one_lead_per_call:
            head.append(
                f"> Every lead of {literal(cp.name)} has its own token values, "
                "so each lead costs one call."
            )
    for cp in plan.campaigns:  # issue 25: outside the collapsed sections, never missed
        for w in cp.field_writes:
            if w.protected is not None:
                head += [*([""] if head[-1] else []), "> ⚠ " + _protected(cp, w), ""]
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
    # Everything written goes through ``visible``: nothing hidden reaches the comment, and
    # the size checks below count what is written.
    text = visible("\n".join(head) + "\n")
    for size in dict.fromkeys((limit, 5, 0)):
        sections = [visible(_section(cp, clean, size, clean_field, plan)) for cp in plan.campaigns]
        full = text + "".join(sections)
        if len(full) <= COMMENT_LIMIT:
            return full
    sections = [visible(_section(cp, clean, 0, clean_field, plan)) for cp in plan.campaigns]
    return _truncate(text, sections, plan)


def notes_markdown(plan: Plan, clean: Clean, limit: int) -> list[str]:
    """Issue 22: what the plan says about its data (``plan.notes``), as quotes at the top
    of the comment, every value escaped and masked (``clean``).  Whole campaigns filtered
    are in the headline itself."""
    lines = []
    for n in plan_notes(plan, values=min(VALUES_SHOWN, limit)):
        if n.kind != ALL_ROWS_FILTERED:
            lines += [f"> **{n.severity.capitalize()}:** {n.words(clean)}", ""]
    return lines


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
    # ``» deferred`` (issue 22) has its column only in a plan that defers something.
    deferring = any(cp.counts.get(Action.DEFERRED) for cp in plan.campaigns)
    classes = [c for c in CLASSES if c is not Action.DEFERRED or deferring]
    header = "| campaign | id | " + " | ".join(f"{c.mark} {c}" for c in classes) + " | calls |"
    rule = "|---|---:|" + "---:|" * len(classes) + "---:|"
    rows: list[str] = []
    size = 0
    for cp in plan.campaigns:
        row = (
            f"| {literal(cp.name, cell=True)} | {cp.campaign_id} | "
            + " | ".join(f"{cp.counts.get(c, 0):,}" for c in classes)
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
CleanField = Callable[[str, "str | None"], str]


def _tokens(clean: Clean, tokens: Tokens) -> str:
    return "<br>".join(f"{clean(n, cell=True)}: {clean(v, cell=True)}" for n, v in tokens)


def _diff(clean: Clean, old: Tokens, new: Tokens, clean_field: CleanField) -> str:
    def value(name: str, v: str | None) -> str:
        # A lead field recorded with the tokens (`lead.<name>`) is masked as in the fields table.
        if v is not None and name.startswith("lead."):
            return clean_field(name[len("lead.") :], v)
        return clean(v, cell=True)

    return "<br>".join(
        f"{clean(n, cell=True)}: {value(n, o)} → {value(n, v)}" for n, o, v in token_diff(old, new)
    )


def _more(n: int, what: str) -> str:
    return f"\n{plural(n, 'more ' + what)} not shown; {ARTIFACT}."


def _protected(cp: CampaignPlan, w: FieldWrite) -> str:
    """The warning for an allowed protected field (issue 25), with every value literal."""
    to = f"to {field_leads(w)}" if w.leads else "to no lead in this plan"
    grant = "; its values may **grant consent** (`grant_consent: true`)" if w.grant_consent else ""
    return (
        f"**{literal(cp.name)} writes protected lead field {literal(w.name)}** ({w.protected})"
        f" {to}{grant}: {literal(w.reason or '')}"
    )


def _fields_table(
    cp: CampaignPlan, limit: int, clean: Clean, clean_field: CleanField, plan: Plan
) -> list[str]:
    """Issue 25: every lead field apply writes for the entry, its leads and a few values,
    old (what mktsync last wrote for the key; — when nothing) → new."""
    written = [w for w in cp.field_writes if w.leads]
    if not written:
        return []
    samples = field_samples(cp, min(SAMPLES_PER_FIELD, limit), plan.campaigns)
    lines = [
        "**Lead fields written** before the triggers (old: what mktsync last wrote for the key)",
        "",
        "| field | leads | lead: old → new |",
        "|---|---|---|",
    ]
    for w in written:
        shown = "<br>".join(
            f"{clean(x.lead, cell=True)}: {clean_field(w.name, x.old)} → "
            f"{clean_field(w.name, x.new)}"
            for x in samples.get(w.name, [])
        )
        lines.append(f"| {literal(w.name, cell=True)} | {field_leads(w)} | {shown} |")
    return [*lines, ""]


def _section(
    cp: CampaignPlan, clean: Clean, limit: int, clean_field: CleanField, plan: Plan
) -> str:
    sending, shown_sending = sample_leads(cp.calls, limit)
    summary = (
        f"<b>{html_text(cp.name)}</b> (campaign {cp.campaign_id}): "
        f"{plural(sending, 'lead')} in {plural(cp.trigger_calls, 'call')}"
    )
    for cls, word in (
        (Action.CHANGED, "changed, not resent"),
        (Action.INVALID, "invalid"),
        (Action.DEFERRED, "deferred to the next run"),
    ):
        if cp.counts.get(cls):
            summary += f", {cp.counts[cls]:,} {word}"
    written = [w.name for w in cp.field_writes if w.leads]
    if written:
        summary += f", writes lead {'field' if len(written) == 1 else 'fields'} " + html_text(
            ", ".join(written)
        )
    lines = ["<details>", f"<summary>{summary}</summary>", ""]
    for w in cp.field_writes:
        if w.protected is not None:
            lines += ["> ⚠ " + _protected(cp, w), ""]
    lines += _fields_table(cp, limit, clean, clean_field, plan)
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
                _diff(clean, p.old_tokens, shown_new(p.old_tokens or (), p.item), clean_field)
                if p.old_tokens is not None
                else _tokens(clean, p.item.tokens)
            )
            # Sent again after an unknown outcome, an item shows as one sent: +.
            sent = Action.RETRIGGER if p.action == Action.RETRIGGER else Action.TRIGGER
            mark = sent.mark
            lines.append(
                f"| {mark} | {clean(p.item.lead, cell=True)} | {clean(p.item.key, cell=True)} "
                f"| {tokens} |"
            )
        for ch in shown_changed:
            lines.append(
                f"| {Action.CHANGED.mark} | {clean(ch.item.lead, cell=True)} "
                f"| {clean(ch.item.key, cell=True)} "
                f"| {_diff(clean, ch.old_tokens, shown_new(ch.old_tokens, ch.item), clean_field)} |"
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
    if cp.deferred and limit:
        lines += [
            "",
            "**Deferred to the next run** (another row writes the lead's fields first)",
            "",
        ]
        for d in cp.deferred[:limit]:
            differs = "; ".join(
                f"{clean(name)}: {clean_field(name, a)} now, {clean_field(name, b)} next run"
                for name, a, b in differs_lines(d)
            )
            words = "".join(clean(t) if data else t for t, data in deferred_parts(d))
            lines.append(f"- {clean(d.item.lead)}: {words}: {differs}")
        if len(cp.deferred) > limit:
            lines.append(_more(len(cp.deferred) - limit, "deferred row"))
    if cp.unknown and limit:
        lines += ["", "**Unknown outcome** (not resent; see `mktsync ledger`)", ""]
        lines += [f"- {clean(i.key)}" for i in cp.unknown[:limit]]
        if len(cp.unknown) > limit:
            lines.append(_more(len(cp.unknown) - limit, "unknown item"))
    lines += ["", "</details>", ""]
    return "\n".join(lines) + "\n"
