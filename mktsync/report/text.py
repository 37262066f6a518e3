"""The plan as plain text for a terminal or a CI log (colour only when asked: on a TTY).

Every line goes out through ``report.escape.terminal``: data cannot send a control
character, a bidi control or an invisible character to a terminal (``errors.one_line``
shows them escaped), and colour is added after that, by the reporter only.

Quiet by design (issue 22), as Terraform shows only what changes:

- a campaign lists only its classes that are not zero, and a campaign with nothing to do
  (nothing to send, nothing wrong) is one line: ``name (...): nothing to do (40 unchanged)``;
- advice (a token that differs per lead, one lead per call, how to resend changed items)
  is said once, in its campaign's section; the closing lines (``render_text_summary``,
  all ``plan -q`` prints) hold the headline, the cost line and problems only;
- ``leads=True`` (``plan -v``) lists every lead to trigger, new and retriggered, read from
  the plan's spill a page at a time (``plan.records.entry_leads``) and written as read:
  a million-lead plan is never held as lines;
- what names a person (leads, keys, token values, personal lead fields' values, reasons)
  is masked as in the Markdown comment (``j***@example.com``) unless ``show_pii``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import TextIO

from mktsync.errors import one_line
from mktsync.items import Tokens
from mktsync.plan import CLASSES, CampaignPlan, Plan
from mktsync.plan.notes import (
    ALL_ROWS_FILTERED,
    VALUES_SHOWN,
    deferred_words,
    differs_lines,
    plan_notes,
)
from mktsync.plan.records import (
    SAMPLES_PER_FIELD,
    Action,
    PlannedItem,
    entry_leads,
    field_samples,
    sample_leads,
)
from mktsync.report.batch import (
    Paint,
    environment_line,
    orphan_count,
    orphan_line,
    schedule_lines,
)
from mktsync.report.escape import terminal
from mktsync.report.words import (
    CHANGED_FIX,
    clear,
    cost_line,
    field_advice,
    field_leads,
    headline,
    instant_text,
    mask_emails,
    mask_value,
    new_ledger_note,
    personal_field,
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
        """``lines`` escaped and coloured; what was remembered for them is forgotten, so a
        long plan written a page at a time holds one page's worth."""
        text = terminal(lines, self._code if self._actions else None)
        self._actions.clear()
        return text

    def _code(self, line: str) -> str | None:
        action = self._actions.get(line.lstrip(" "))
        return COLORS[action] if action else None


PAGE = 1_000  # lines written at a time when every lead is listed (plan -v)
# The classes that make a campaign worth more than one line: something to send or to see.
BUSY = (
    Action.TRIGGER, Action.RETRIGGER, Action.INVALID, Action.UNKNOWN, Action.CHANGED,
    Action.DEFERRED,
)  # fmt: skip
Clean = Callable[[str], str]  # a value from data as shown: masked unless --show-pii


def render_text(
    plan: Plan, *, color: bool = False, limit: int = 20, leads: bool = False,
    show_pii: bool = False,
) -> str:  # fmt: skip
    """The whole text plan as one string (``write_text`` streams it)."""
    out = io.StringIO()
    write_text(plan, out, color=color, limit=limit, leads=leads, show_pii=show_pii)
    return out.getvalue()


def write_text(
    plan: Plan, out: TextIO, *, color: bool = False, limit: int = 20, leads: bool = False,
    show_pii: bool = False,
) -> None:  # fmt: skip
    """Write the text plan to ``out`` section by section (module doc).

    ``limit``: rows a list shows (changed, invalid, unknown items; with ``leads``, leads
    too: a fork's plan stays a sample).  ``leads``: list every lead to trigger."""
    painter = _Painter(color)
    paint = painter.paint
    clean: Clean = clear if show_pii else mask_emails
    head: list[str] = environment_line(plan)
    if plan.now is not None:  # what now and today were: a saved plan replays it
        head.append(f"As of {instant_text(plan)}")
    if head:
        out.write(painter.finish(head) + "\n")
    last = ""  # what the previous section was: "one" line, "many" lines, or nothing
    sections: list[tuple[bool, Iterator[list[str]]]] = [
        (_nothing_to_do(cp), _campaign(cp, paint, limit, plan.campaigns, leads, clean))
        for cp in plan.campaigns
    ]
    for sp in plan.schedules:
        lines = schedule_lines(sp, limit, paint)
        sections.append((len(lines) == 1, iter([lines])))
    for one, pages in sections:
        # A blank line around every section of many lines; one-line sections stand together.
        if last and (last == "many" or not one):
            out.write("\n")
        for page in pages:
            out.write(painter.finish(page) + "\n")
        last = "one" if one else "many"
    if last:
        out.write("\n")
    closing = _summary(plan, painter, first=False, limit=limit, clean=clean)
    out.write(painter.finish(closing) + "\n")


def render_text_summary(
    plan: Plan, *, color: bool = False, first: bool = True, show_pii: bool = False
) -> str:
    """The plan's closing lines alone (``plan -q``): the headline, the cost line, and what
    is wrong -- a new ledger, warnings about the data (a ``when`` literal no row holds),
    protected fields written, batch runs left for rows that are gone -- with no notes, no
    advice and no section per campaign.

    ``first``: these are the output's first lines, so they name the environment."""
    painter = _Painter(color)
    clean: Clean = clear if show_pii else mask_emails
    return painter.finish(_summary(plan, painter, first=first, clean=clean, quiet=True)) + "\n"


def _notes(plan: Plan, painter: _Painter, limit: int, clean: Clean, quiet: bool) -> list[str]:
    """Issue 22: what the plan says about its data (``plan.notes``), above the headline:
    warnings in bold yellow, data masked as elsewhere.  Whole campaigns filtered are in the
    headline itself; so are deferred rows, whose note ``quiet`` (``-q``) leaves out."""
    lines = []
    for n in plan_notes(plan, values=min(VALUES_SHOWN, limit)):
        if n.kind == ALL_ROWS_FILTERED or (quiet and n.severity != "warning"):
            continue
        line = f"{n.severity}: {n.words(clean)}"
        lines.append(painter.paint(Action.CHANGED, line) if n.severity == "warning" else line)
    return lines


def _summary(
    plan: Plan,
    painter: _Painter,
    *,
    first: bool,
    limit: int = 20,
    clean: Clean = mask_emails,
    quiet: bool = False,
) -> list[str]:
    lines = [*(environment_line(plan) if first else [])]
    note = new_ledger_note(plan)
    if note is not None:  # above the headline: every count below it rests on this
        warns = plan.new_ledger is not None and plan.new_ledger.warns
        lines.append(painter.paint(Action.CHANGED, note) if warns else one_line(note))
    lines += _notes(plan, painter, limit, clean, quiet)
    lines += [headline(plan), cost_line(plan)]
    for cp in plan.campaigns:  # issue 25: an allowed protected field is never quiet
        for w in cp.field_writes:
            if w.protected is not None:
                lines.append(painter.paint(Action.INVALID, protected_note(cp, w)))
    orphans = orphan_count(plan)
    if orphans:  # last: an email nobody wants still goes out unless someone acts
        lines.append(painter.paint(Action.ORPHANED, orphan_line(orphans)))
    return lines


def _nothing_to_do(cp: CampaignPlan) -> bool:
    """Nothing to send, write or see: the campaign's section is one line."""
    return not (
        any(cp.counts.get(cls, 0) for cls in BUSY)
        or cp.calls
        or cp.field_leads
        or cp.missing_forecast
        or cp.held
        or any(w.protected is not None for w in cp.field_writes)
    )


def _fields_written(
    cp: CampaignPlan, limit: int, entries: Sequence[CampaignPlan], clean: Clean
) -> list[str]:
    """Issue 25: every lead field apply writes for the campaign, its leads, and a few
    values as old (what mktsync last wrote for the key; — when nothing) → new."""
    written = [w for w in cp.field_writes if w.leads]
    if not written:
        return []
    samples = field_samples(cp, min(SAMPLES_PER_FIELD, limit), entries)
    lines = ["  lead fields written:"]
    for w in written:
        # A field whose name looks personal shows its first character only, as in the comment.
        personal = clean is mask_emails and personal_field(w.name)

        def value(v: str, personal: bool = personal) -> str:
            return shorten(clean(mask_value(v) if personal else v))

        lines.append(one_line(f"    {w.name}: {field_leads(w)}"))
        for x in samples.get(w.name, []):
            old = "—" if x.old is None else value(x.old)
            lines.append(one_line(f"      {clean(x.lead)}: {old} → {value(x.new)}"))
    return lines


def _one_per_call(cp: CampaignPlan) -> str:
    return (
        f"note: every lead of '{cp.name}' has its own token values, so each costs one call "
        f"({plural(cp.trigger_calls, 'call')} for {plural(cp.trigger_calls, 'lead')})"
    )


def _advice(cp: CampaignPlan, paint: Paint) -> list[str]:
    """The campaign's advice, once (never in ``plan -q``): one lead per call and the token
    that would be a lead field, and how to resend changed items."""
    lines = []
    if cp.one_lead_per_call:
        lines.append("  " + one_line(_one_per_call(cp)))
        if cp.per_lead_token:
            lines.append("  " + one_line(field_advice(cp)))
    if cp.changed:
        lines.append("  " + paint(Action.CHANGED, f"note: {CHANGED_FIX}"))
    return lines


def _calls_line(cp: CampaignPlan, entries: Sequence[CampaignPlan]) -> list[str]:
    sending = cp.counts.get(Action.TRIGGER, 0) + cp.counts.get(Action.RETRIGGER, 0)
    if not cp.calls and sending:
        # Calls are shared by campaign id and token set: its leads ride in another's calls.
        hosts = [e.name for e in entries if e.campaign_id == cp.campaign_id and e.calls]
        if hosts:
            names = ", ".join(f"'{h}'" for h in hosts)
            return [one_line(f"  sent in the trigger calls of {names} (the same campaign)")]
    if not (cp.calls or cp.lookup_emails):
        return []
    calls = f"  {plural(cp.trigger_calls, 'trigger call')}"
    if cp.lookup_emails:
        calls += f", {plural(cp.lookup_emails, 'email')} to look up"
    return [calls]


def _campaign(
    cp: CampaignPlan,
    paint: Paint,
    limit: int,
    entries: Sequence[CampaignPlan] = (),
    leads: bool = False,
    clean: Clean = str,
) -> Iterator[list[str]]:
    """The campaign's section, a page of lines at a time."""
    title = f"{cp.name} (campaign {cp.campaign_id}, source {cp.source})"
    if _nothing_to_do(cp):
        rest = ", ".join(
            f"{cp.counts[cls]:,} {cls}" for cls in (Action.UNCHANGED, Action.FILTERED)
            if cp.counts.get(cls)
        )  # fmt: skip
        yield [paint(Action.UNCHANGED, f"{title}: nothing to do ({rest or 'no rows'})")]
        return
    lines = [title]
    for w in cp.field_writes:  # issue 25: at the top of the campaign, never in a list
        if w.protected is not None:
            lines.append("  " + paint(Action.INVALID, protected_note(cp, w)))
    for cls in CLASSES:
        if cp.counts.get(cls):
            lines.append("  " + paint(cls, f"{cls.mark} {cls:<10} {cp.counts[cls]:>8,}"))
    if cp.field_leads:  # issue 15: lead fields are written first, then the triggers
        lines.append(
            f"  sync fields: {plural(cp.field_leads, 'lead')} in {plural(cp.field_calls, 'call')}"
        )
    lines += _fields_written(cp, limit, entries, clean)
    lines += _calls_line(cp, entries)
    if leads:
        yield lines
        lines = []
        yield from _every_lead(cp, entries, paint, limit, clean)
    else:
        changed, shown = sample_leads(cp.calls, limit, action=Action.RETRIGGER)
        for p in shown:
            lines += _lead(p, paint, clean)
        if changed > limit:
            lines.append(f"  … and {changed - limit:,} more changed")
    for ch in islice(cp.changed, limit):
        changed_line = f"{Action.CHANGED.mark} {clean(ch.item.key)}: changed since sent, not resent"
        lines.append("  " + paint(Action.CHANGED, changed_line))
        lines += _diff(ch.old_tokens, shown_new(ch.old_tokens, ch.item), clean)
    if len(cp.changed) > limit:
        lines.append(f"  … and {len(cp.changed) - limit:,} more changed, not resent")
    for d in islice(cp.deferred, limit):
        deferred_line = f"{Action.DEFERRED.mark} {clean(d.item.key)}: {deferred_words(d)}"
        lines.append("  " + paint(Action.DEFERRED, deferred_line))
        for name, first, later in differs_lines(d):
            first_text = "—" if first is None else shorten(clean(first))
            later_text = "—" if later is None else shorten(clean(later))
            lines.append(one_line(f"      {name}: {first_text} now, {later_text} next run"))
    if len(cp.deferred) > limit:
        lines.append(f"  … and {len(cp.deferred) - limit:,} more deferred")
    if cp.missing_forecast:
        lines.append(
            f"  {plural(cp.missing_forecast, 'email')} to look up "
            f"{'was' if cp.missing_forecast == 1 else 'were'} not found in Marketo at the last run"
        )
    for inv in islice(cp.invalid, limit):
        invalid_line = f"{Action.INVALID.mark} {inv.source} row {inv.row}: {clean(inv.reason)}"
        lines.append("  " + paint(Action.INVALID, invalid_line))
    if len(cp.invalid) > limit:
        lines.append(f"  … and {len(cp.invalid) - limit:,} more invalid")
    for item in islice(cp.unknown, limit):
        unknown_line = (
            f"{Action.UNKNOWN.mark} {clean(item.key)}: outcome of an earlier call unknown"
        )
        lines.append("  " + paint(Action.UNKNOWN, unknown_line))
    if len(cp.unknown) > limit:
        lines.append(f"  … and {len(cp.unknown) - limit:,} more unknown")
    lines += _advice(cp, paint)
    if lines:  # after a lead list, often nothing: no empty page (a blank line)
        yield lines


def _every_lead(
    cp: CampaignPlan, entries: Sequence[CampaignPlan], paint: Paint, limit: int, clean: Clean
) -> Iterator[list[str]]:
    """``plan -v``: every lead the campaign triggers (at most ``limit``), a page at a time."""
    page: list[str] = []
    count = 0
    for p in entry_leads(cp, entries):
        count += 1
        if count > limit:
            continue  # counted, not shown: a fork's plan shows a sample only
        page += _lead(p, paint, clean)
        if len(page) >= PAGE:
            yield page
            page = []
    if count > limit:
        page.append(f"  … and {count - limit:,} more leads")
    if page:
        yield page


def _lead(p: PlannedItem, paint: Paint, clean: Clean) -> list[str]:
    """One lead to trigger: ``+ lead  key KEY``, or ``~ key`` with its tokens old → new."""
    if p.action == Action.RETRIGGER:
        lines = ["  " + paint(Action.RETRIGGER, f"{Action.RETRIGGER.mark} {clean(p.item.key)}")]
        return lines + _diff(p.old_tokens or (), shown_new(p.old_tokens or (), p.item), clean)
    # Sent again after an unknown outcome, an item shows as one sent: +.
    key = f"  key {clean(p.item.key)}" if p.item.key != p.item.lead else ""
    # Its row too: masked, two leads can read alike (a***@example.com).
    lead = f"{clean(p.item.lead)} ({p.item.source} row {p.item.row})"
    return ["  " + paint(Action.TRIGGER, f"{Action.TRIGGER.mark} {lead}{key}")]


def _diff(old: Tokens, new: Tokens, clean: Clean) -> list[str]:
    return [
        one_line(f"      {name}: {shorten(clean(str(o)))} → {shorten(clean(str(n)))}")
        for name, o, n in token_diff(old, new)
    ]
