"""The plan as Markdown for a pull-request comment that cannot lie or be hijacked.

- Every value from data (keys, leads, tokens, reasons, names) goes through
  ``report.escape``: literal text, no HTML, images, links, mentions or table breaks.
- The header says what the comment describes: the commit, the ledger compared against
  (credentials redacted), and when.
- In the order a reviewer needs it (issue 22): what the plan says about its data
  (``plan.notes``: a ``when`` literal no row holds, rows deferred) and its warnings, the
  headline (with the share of the daily quota past 10 %), callouts for what will *not* go
  out as it is (changed items, unknown outcomes, protected lead fields), the counts, then
  one folded section per campaign entry with something to show: its sample rows per
  class, **new leads first**, then changed, retriggered and resent ones, its invalid,
  deferred and unknown items, and "who gets the email", the leads it emails, folded
  again.  Entries that share a campaign id share calls; each entry's numbers are its own
  all the same (``report.who``), and the section says in whose calls its leads go.
- Bounded (``Budget``): the whole comment, notes included, fits GitHub's 65,536
  characters.  Each part of the head has a share; then the sections shrink (fewer sample
  rows, a shorter who list, counts only) and whole sections are left out, and the
  comment's last line says how many campaigns are not shown, why, and where the full plan
  is.  ``plan --out-markdown`` writes the same Markdown with a far larger budget.
- Emails are masked unless ``show_pii``, and so are the values of lead fields whose
  names look personal (``report.words.personal_field``: email, phone, names, address).
- Every lead field a merge would write is listed per campaign with its lead count and a
  few old → new values, and an allowed protected field is a warning at the top (issue 25).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mktsync.items import Item, Tokens
from mktsync.plan import CLASSES, CampaignPlan, Plan
from mktsync.plan.notes import (
    ALL_ROWS_FILTERED,
    VALUES_SHOWN,
    deferred_parts,
    differs_lines,
    plan_notes,
)
from mktsync.plan.records import SAMPLES_PER_FIELD, Action, FieldWrite, field_samples
from mktsync.report.batch import schedule_markdown
from mktsync.report.escape import html_text, literal, visible
from mktsync.report.who import EntryLeads, entry_leads
from mktsync.report.words import (
    CHANGED_FIX,
    UNKNOWN_FIX,
    clear,
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

COMMENT_LIMIT = 65_536  # GitHub refuses a longer comment (and keeps the old one up)
MARKER = "<!-- mktsync-plan -->"  # lets a workflow find and update its own sticky comment
ARTIFACT_NAME = "mktsync-plan"  # the examples' artifact holding the full plan
WHO_SHOWN = 500  # leads named per campaign in "who gets the email", at most
SAMPLES_KEPT = 200  # sample rows of one class a section can show, at most (even with -v)
_TAIL_ROOM = 400  # kept free for the line that says what is not shown
_TABLE_SHARE = 0.35  # of the budget: the counts table
_SCHEDULE_SHARE = 0.15  # of the budget: the batch campaigns
_CALLOUTS_SHOWN = 10  # protected-field warnings at the top, then a count
_NOTES_SHARE = 0.05  # of the budget: the plan's warnings at the top
_NOTE_WIDTH = 1_000  # characters of one warning, at most


@dataclass(frozen=True, kw_only=True)
class Budget:
    """How long the Markdown may be, and what its last line says when it is cut."""

    limit: int
    why: str  # "the comment is limited to 65,536 characters by GitHub"
    where: str  # "the full plan is in the job's artifact `mktsync-plan`"


COMMENT = Budget(
    limit=COMMENT_LIMIT,
    why=f"the comment is limited to {COMMENT_LIMIT:,} characters by GitHub",
    where=f"the full plan is in the job's artifact `{ARTIFACT_NAME}`",
)
FILE_LIMIT = 20_000_000
FILE = Budget(
    limit=FILE_LIMIT,
    why=f"this file is limited to {FILE_LIMIT:,} characters",
    where="`mktsync plan --format json` lists every item",
)
ARTIFACT = COMMENT.where


def size(text: str) -> int:
    """``text``'s length as GitHub may count it: in UTF-16 code units (JavaScript's
    ``length``), where a character past U+FFFF (an emoji) counts twice; never less than
    the characters, so a comment within this size is within the limit either way."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True, kw_only=True)
class Context:
    """What the comment describes: the commit, the ledger compared against, and when."""

    ref: str | None = None
    ledger: str | None = None  # already redacted of credentials
    generated_at: str | None = None


Clean = Callable[..., str]
CleanField = Callable[[str, "str | None"], str]


@dataclass(frozen=True, kw_only=True)
class _Writer:
    """What every part of the comment is written with."""

    plan: Plan
    clean: Clean
    clean_field: CleanField
    leads: dict[str, EntryLeads]


def render_markdown(
    plan: Plan,
    *,
    show_pii: bool = False,
    limit: int = 20,
    who: int = WHO_SHOWN,
    context: Context | None = None,
    budget: Budget = COMMENT,
    notes: Sequence[str] = (),
) -> str:
    """The plan as a pull-request comment (module doc); ``limit`` sample rows of each
    class and ``who`` leads per campaign at most, all within ``budget``.  ``notes`` are
    the plan's ``warning: ...`` lines (what ``plan`` also writes to stderr), shown at the
    top: a reviewer reads the comment, not the job's log."""

    def clean(value: object, *, cell: bool = False) -> str:
        text = clear(str(value)) if show_pii else mask_emails(str(value))
        return literal(text, cell=cell)

    def clean_field(name: str, value: str | None) -> str:
        """A lead field's value in a table cell: masked when the field looks personal."""
        if value is None:
            return "—"
        return clean(
            value if show_pii or not personal_field(name) else mask_value(value), cell=True
        )

    limit, who = max(0, min(limit, SAMPLES_KEPT)), max(0, min(who, WHO_SHOWN))
    leads = entry_leads(plan.campaigns, samples=limit, who=who)
    w = _Writer(plan=plan, clean=clean, clean_field=clean_field, leads=leads)
    # Everything written goes through ``visible``: nothing hidden reaches the comment, and
    # the size checks below count what is written.
    room = budget.limit - _TAIL_ROOM
    head_lines = _head(w, show_pii, context or Context(), notes, limit, room, budget)
    head = visible("\n".join(head_lines) + "\n")
    entries = [cp for cp in plan.campaigns if _has_section(cp, leads[cp.name])]
    # Sample rows and leads named per section, smaller at each step until all fit.
    steps = dict.fromkeys(
        [(limit, who), (min(limit, 5), min(who, 100)), (min(limit, 5), min(who, 20)), (0, 0)]
    )
    sizes: list[int] = []
    sections: list[str] = []
    for rows, names in steps:
        sections = [visible(_section(w, cp, rows, names)) for cp in entries]
        sizes = [size(section) for section in sections]
        if size(head) + sum(sizes) <= budget.limit:
            return head + "".join(sections)
    used, kept = size(head), 0
    while kept < len(sections) and used + sizes[kept] <= room:
        used += sizes[kept]
        kept += 1
    left = plural(len(sections) - kept, "campaign")
    tail = f"\n… {left} not shown: {budget.why}; {budget.where}.\n"
    return head + "".join(sections[:kept]) + tail


def _head(
    w: _Writer,
    show_pii: bool,
    context: Context,
    notes: Sequence[str],
    limit: int,
    room: int,
    budget: Budget,
) -> list[str]:
    plan = w.plan
    title = f"### mktsync plan: environment `{plan.environment}`" if plan.environment else ""
    head = [MARKER, title or "### mktsync plan", ""]
    head += _context_lines(context)
    note = new_ledger_note(plan, literal)
    if note is not None:  # issue 25: at the top, before the counts it explains
        kind, _, words = note.partition(": ")
        head += [f"> **{kind.capitalize()}:** {words}", ""]
    # What the plan says about its data (issue 22), then the plan's warnings: one share.
    said = [line for line in notes_markdown(plan, w.clean, limit) if line] + _notes(notes)
    head += [
        line
        for kept in _capped(said, int(room * _NOTES_SHARE), budget, "note")
        for line in (kept, "")
    ]
    head += [f"**{headline(plan, literal)}**", ""]
    head += _callouts(w)
    head += _capped(_table(plan), int(room * _TABLE_SHARE), budget, "campaign")
    batch = schedule_markdown(plan, 20)
    head += _capped(batch, int(room * _SCHEDULE_SHARE), budget, "line of batch campaigns")
    head += ["", cost_line(plan) + ".", ""]
    if not show_pii:
        head.append(
            "<sub>Email addresses are masked; run `mktsync plan --show-pii` to see them.</sub>"
        )
    head.append("")
    return head


def _notes(notes: Sequence[str]) -> list[str]:
    """The plan's own ``warning: ...`` lines, one quoted paragraph each.  Their words hold
    names from the config and from Marketo (a campaign's rule), so they are one literal
    code span, like every value: nothing in them is read as a link, a mention or markup."""
    lines = []
    for note in notes:
        kind, _, words = note.partition(": ")
        if kind != "warning" or not words:
            kind, words = "note", note
        lines.append(f"> **{kind.capitalize()}:** {literal(words, width=_NOTE_WIDTH)}")
    return lines


def _callouts(w: _Writer) -> list[str]:
    """What will not go out as it stands, above the counts: protected lead fields (issue
    25), changed items not resent, unknown outcomes; and campaigns paying a call a lead.
    One paragraph each (blank lines between: quoted lines in a row would join)."""
    plan, found = w.plan, []
    protected = [(cp, f) for cp in plan.campaigns for f in cp.field_writes if f.protected]
    found += ["> ⚠ " + _protected(cp, f) for cp, f in protected[:_CALLOUTS_SHOWN]]
    if len(protected) > _CALLOUTS_SHOWN:
        more = plural(len(protected) - _CALLOUTS_SHOWN, "more protected lead field")
        found.append(f"> ⚠ {more} written: see each campaign's section.")
    s = plan.summary
    if s.changed:
        found.append(
            f"> **{Action.CHANGED.mark} {plural(s.changed, 'changed item')} will not be "
            f"resent**: {CHANGED_FIX}."
        )
    if s.unknown and plan.retry_unknown:
        found.append(
            f"> **{Action.UNKNOWN.mark} {plural(s.unknown, 'item')} with an unknown outcome "
            "will be sent again** (`--retry-unknown`): an earlier call may have reached Marketo."
        )
    elif s.unknown:
        found.append(
            f"> **{Action.UNKNOWN.mark} {plural(s.unknown, 'item')} with an unknown outcome "
            f"will not be resent**: an earlier call may or may not have reached Marketo; "
            f"{UNKNOWN_FIX}."
        )
    per_lead = [cp for cp in plan.campaigns if cp.one_lead_per_call]
    if per_lead:
        names = ", ".join(literal(cp.name) for cp in per_lead[:5])
        if len(per_lead) > 5:
            names += f" and {len(per_lead) - 5:,} more"
        found.append(
            f"> Every lead of {names} has its own token values, so each lead costs one call."
        )
    lines: list[str] = []
    for line in found:
        lines += [line, ""]
    return lines


def _capped(lines: list[str], room: int, budget: Budget, what: str) -> list[str]:
    """``lines`` while they fit in ``room`` characters, then one line counting the rest."""
    used = 0
    for n, line in enumerate(lines):
        used += size(line) + 1
        if used > room:
            left = plural(len(lines) - n, "more " + what)
            return [*lines[:n], "", f"… {left} not shown here: {budget.where}."]
    return lines


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


def _table(plan: Plan) -> list[str]:
    """Counts per campaign (``_capped`` cuts it to its share of the comment)."""
    # ``» deferred`` (issue 22) has its column only in a plan that defers something.
    deferring = any(cp.counts.get(Action.DEFERRED) for cp in plan.campaigns)
    classes = [c for c in CLASSES if c is not Action.DEFERRED or deferring]
    header = "| campaign | id | " + " | ".join(f"{c.mark} {c}" for c in classes) + " | calls |"
    rule = "|---|---:|" + "---:|" * len(classes) + "---:|"
    rows = [
        f"| {literal(cp.name, cell=True)} | {cp.campaign_id} | "
        + " | ".join(f"{cp.counts.get(c, 0):,}" for c in classes)
        + f" | {cp.trigger_calls:,} |"
        for cp in plan.campaigns
    ]
    return [header, rule, *rows]


def _has_section(cp: CampaignPlan, leads: EntryLeads) -> bool:
    """An entry gets a section when it sends, or holds something a reviewer must see."""
    return bool(
        leads.sending
        or cp.trigger_calls
        or any(
            cp.counts.get(c)
            for c in (Action.CHANGED, Action.INVALID, Action.UNKNOWN, Action.DEFERRED)
        )
    )


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


def _protected(cp: CampaignPlan, w: FieldWrite) -> str:
    """The warning for an allowed protected field (issue 25), with every value literal."""
    to = f"to {field_leads(w)}" if w.leads else "to no lead in this plan"
    grant = "; its values may **grant consent** (`grant_consent: true`)" if w.grant_consent else ""
    return (
        f"**{literal(cp.name)} writes protected lead field {literal(w.name)}** ({w.protected})"
        f" {to}{grant}: {literal(w.reason or '')}"
    )


def _fields_table(w: _Writer, cp: CampaignPlan, limit: int) -> list[str]:
    """Issue 25: every lead field apply writes for the entry, its leads and a few values,
    old (what mktsync last wrote for the key; — when nothing) → new."""
    written = [f for f in cp.field_writes if f.leads]
    if not written:
        return []
    clean, clean_field = w.clean, w.clean_field
    samples = field_samples(cp, min(SAMPLES_PER_FIELD, limit), w.plan.campaigns)
    lines = [
        "**Lead fields written** before the triggers (old: what mktsync last wrote for the key)",
        "",
        "| field | leads | lead: old → new |",
        "|---|---|---|",
    ]
    for f in written:
        shown = "<br>".join(
            f"{clean(x.lead, cell=True)}: {clean_field(f.name, x.old)} → "
            f"{clean_field(f.name, x.new)}"
            for x in samples.get(f.name, [])
        )
        lines.append(f"| {literal(f.name, cell=True)} | {field_leads(f)} | {shown} |")
    return lines


# How a section's summary names its leads to send, by class.
_SENT_WORDS = {
    Action.TRIGGER: "new",
    Action.RETRIGGER: "retriggered",
    Action.UNKNOWN: "sent again after an unknown outcome",
}


def _summary(cp: CampaignPlan, leads: EntryLeads) -> str:
    parts = [f"{leads.counts[a]:,} {word}" for a, word in _SENT_WORDS.items() if leads.counts[a]]
    text = (
        f"<b>{html_text(cp.name)}</b> (campaign {cp.campaign_id}): "
        f"{plural(leads.sending, 'lead')} to email"
    )
    if len(parts) > 1 or (parts and not leads.counts[Action.TRIGGER]):
        text += f" ({', '.join(parts)})"
    if cp.trigger_calls:
        text += f" in {plural(cp.trigger_calls, 'call')}"
    elif leads.sending:
        text += " in the calls of " + html_text(", ".join(leads.sent_with))
    for cls, word in (
        (Action.CHANGED, "changed, not resent"),
        (Action.INVALID, "invalid"),
        (Action.UNKNOWN, "with an unknown outcome, not resent"),
        (Action.DEFERRED, "deferred to the next run"),
    ):
        count = cp.counts.get(cls, 0) - (
            leads.counts[Action.UNKNOWN] if cls is Action.UNKNOWN else 0
        )
        if count > 0:
            text += f", {count:,} {word}"
    written = [f.name for f in cp.field_writes if f.leads]
    if written:
        text += f", writes lead {'field' if len(written) == 1 else 'fields'} " + html_text(
            ", ".join(written)
        )
    return text


def _shared(cp: CampaignPlan, leads: EntryLeads) -> list[list[str]]:
    """Entries sharing a campaign id share calls: say whose calls carry whose leads."""
    blocks = []
    for other, n in leads.sent_with.items():
        its = "its lead is" if n == 1 else f"its {n:,} leads are"
        blocks.append(
            [
                f"> Shares campaign {cp.campaign_id} with {literal(other)}: {its} sent in that "
                "entry's calls."
            ]
        )
    for other, n in leads.carried.items():
        blocks.append(
            [
                f"> Shares campaign {cp.campaign_id} with {literal(other)}: the calls above also "
                f"carry that entry's {plural(n, 'lead')} (counted under it)."
            ]
        )
    return blocks


def _section(w: _Writer, cp: CampaignPlan, limit: int, who: int) -> str:
    """One entry's folded section; its parts are blocks, a blank line between them."""
    leads = w.leads[cp.name]
    clean = w.clean
    blocks = [["<details>", f"<summary>{_summary(cp, leads)}</summary>"]]
    blocks += _shared(cp, leads)
    blocks += [["> ⚠ " + _protected(cp, f)] for f in cp.field_writes if f.protected is not None]
    if cp.one_lead_per_call:
        blocks.append(["> Every lead has its own token values, so each lead costs one call."])
    blocks.append(_fields_table(w, cp, limit))
    if cp.missing_forecast:
        were = "was" if cp.missing_forecast == 1 else "were"
        blocks.append(
            [
                f"{plural(cp.missing_forecast, 'email')} to send {were} not found in Marketo"
                " at the last run."
            ]
        )
    blocks += _samples(w, cp, leads, limit, who)
    if cp.invalid and limit:
        listed = [f"- {clean(i.source)} row {i.row}: {clean(i.reason)}" for i in cp.invalid[:limit]]
        if len(cp.invalid) > limit:
            listed.append(f"- … {plural(len(cp.invalid) - limit, 'more invalid row')}")
        blocks += [["**Invalid rows**"], listed]
    if cp.deferred and limit:  # issue 22: another row writes the lead's fields first
        listed = []
        for d in cp.deferred[:limit]:
            differs = "; ".join(
                f"{clean(name)}: {w.clean_field(name, a)} now, {w.clean_field(name, b)} next run"
                for name, a, b in differs_lines(d)
            )
            words = "".join(clean(t) if data else t for t, data in deferred_parts(d))
            listed.append(f"- {clean(d.item.lead)}: {words}: {differs}")
        if len(cp.deferred) > limit:
            listed.append(f"- … {plural(len(cp.deferred) - limit, 'more deferred row')}")
        blocks += [
            ["**Deferred to the next run** (another row writes the lead's fields first)"],
            listed,
        ]
    if cp.unknown and limit and not w.plan.retry_unknown:  # else: sent again, in the rows
        listed = [f"- {clean(i.key)}" for i in cp.unknown[:limit]]
        if len(cp.unknown) > limit:
            listed.append(f"- … {plural(len(cp.unknown) - limit, 'more unknown item')}")
        blocks += [
            [f"**{Action.UNKNOWN.mark} Unknown outcome**, not resent ({UNKNOWN_FIX})"],
            listed,
        ]
    blocks += _who(w, leads, who)
    blocks.append(["</details>"])
    return "\n\n".join("\n".join(b) for b in blocks if b) + "\n\n"


def _samples(
    w: _Writer, cp: CampaignPlan, leads: EntryLeads, limit: int, who: int
) -> list[list[str]]:
    """Sample rows, each class its own share, in the order that matters: new leads, then
    changed (not resent), retriggered, and resent after an unknown outcome."""
    clean, clean_field = w.clean, w.clean_field
    changed: list[tuple[Item, Tokens | None]] = [
        (ch.item, ch.old_tokens) for ch in cp.changed[:limit]
    ]
    groups = [
        (a, leads.counts[a], [(p.item, p.old_tokens) for p in leads.samples[a][:limit]])
        for a in (Action.TRIGGER, Action.RETRIGGER, Action.UNKNOWN)
    ]
    groups.insert(1, (Action.CHANGED, len(cp.changed), changed))
    rows: list[str] = []
    hidden: list[str] = []
    for action, total, shown in groups:
        for item, old in shown:
            if old is not None:
                tokens = _diff(clean, old, shown_new(old, item), clean_field)
            else:
                tokens = _tokens(clean, item.tokens)
            rows.append(
                f"| {action.mark} | {clean(item.lead, cell=True)} | {clean(item.key, cell=True)} "
                f"| {tokens} |"
            )
        if total > len(shown):
            word = "changed, not resent" if action is Action.CHANGED else _SENT_WORDS[action]
            hidden.append(f"{total - len(shown):,} {word}")
    blocks = []
    if rows:
        blocks.append(["| | lead | key | tokens |", "|---|---|---|---|", *rows])
    if hidden:
        named = who and leads.sending <= len(leads.who(who))
        where = "the list below names every lead to email" if named else ARTIFACT
        blocks.append([f"{'More' if rows else 'Rows'} not shown: {', '.join(hidden)}; {where}."])
    return blocks


def _who(w: _Writer, leads: EntryLeads, who: int) -> list[list[str]]:
    """The leads the entry emails, folded: masked as everywhere unless ``--show-pii``."""
    if not leads.sending or not who:
        return []
    named = leads.who(who)
    text = ", ".join(w.clean(lead.text) for lead in named)
    if leads.sending > len(named):
        text += f" … and {leads.sending - len(named):,} more ({ARTIFACT})"
    summary = f"<summary><b>Who gets the email</b>: {plural(leads.sending, 'lead')}</summary>"
    return [["<details>", summary], [text], ["</details>"]]
