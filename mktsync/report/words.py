"""Small wording helpers shared by the text and Markdown reporters."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from mktsync.errors import shown_personal
from mktsync.items import Item, Tokens
from mktsync.plan import CampaignPlan, Plan
from mktsync.plan.notes import filtered_all
from mktsync.plan.quota import QuotaRoom, needed_calls
from mktsync.plan.records import MAX_FIELD_RECORDS, MAX_LEADS_PER_CALL, PER_LEAD_SAMPLE, FieldWrite

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")

# The one-line fix for changed items, wherever they are shown.
CHANGED_FIX = (
    "to send the new values, set 'retrigger: on_change' on the campaign, "
    "or 'mktsync ledger forget' the keys"
)


# The one-line way out for items whose earlier outcome is unknown, wherever they are shown.
UNKNOWN_FIX = (
    "settle them with 'mktsync ledger settle' (or resend them with --retry-unknown "
    "once you know Marketo did not carry the earlier calls out)"
)


def mask_emails(text: str) -> str:
    """``jane.doe@example.com`` -> ``j***@example.com``, wherever it stands in ``text``;
    a value a reason marks personal (``errors.personal``) masked whatever it looks like."""
    return _EMAIL.sub(
        lambda m: f"{m.group(1)}***@{m.group(2)}", shown_personal(text, show_pii=False)
    )


def clear(text: str) -> str:
    """``text`` as ``--show-pii`` shows it: personal values in clear, quoted."""
    return shown_personal(text, show_pii=True)


# Lead field names that look personal (issue 25): their values are masked in the Markdown
# comment, as emails are.  Matched anywhere in the name, ignoring case; masking a field
# that is not personal costs a reviewer little, showing one that is costs the person.
_PERSONAL = re.compile(
    r"mail|phone|mobile|fax|name|address|street|city|postal|zip|birth|salutation|ssn|ip$",
    re.IGNORECASE,
)


def personal_field(name: str) -> bool:
    """Does lead field ``name`` look like it holds personal data (email, phone, name, address)?"""
    return _PERSONAL.search(name) is not None


def mask_value(text: str) -> str:
    """A personal value shown by its first character only: ``Ada Lovelace`` -> ``A***``."""
    return f"{text[:1]}***" if text else text


def field_leads(w: FieldWrite) -> str:
    """How many leads a field goes to, in words."""
    if w.created_only:
        return f"up to {plural(w.leads, 'lead')} (created leads only)"
    return plural(w.leads, "lead")


def protected_note(cp: CampaignPlan, w: FieldWrite) -> str:
    """The plan's warning for an allowed protected field (issue 25), as plain text."""
    to = f"to {field_leads(w)}" if w.leads else "to no lead in this plan"
    grant = "; its values may grant consent (grant_consent: true)" if w.grant_consent else ""
    return (
        f"warning: '{cp.name}' writes protected lead field {w.name} ({w.protected}) {to}"
        f"{grant}: {w.reason}"
    )


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def token_diff(old: Tokens, new: Tokens) -> list[tuple[str, str | None, str | None]]:
    """(name, old value, new value) for every token that differs; None where absent."""
    before, after = dict(old), dict(new)
    return [
        (name, before.get(name), after.get(name))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]


def shown_new(old: Tokens, item: Item) -> Tokens:
    """An item's tokens as compared with a record's: with the lead fields the record holds
    (``lead.<name>``, issue 15), so a changed field shows its new value."""
    names = {n for n, _ in old if n.startswith("lead.")}
    return item.tokens + tuple((f"lead.{n}", v) for n, v in item.fields if f"lead.{n}" in names)


def shorten(text: str, width: int = 80) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 1] + "…"


def duration(seconds: float) -> str:
    """A time left or taken, in whole units a reader takes in at a glance: never ``0 s``.

    >>> duration(0.2), duration(12), duration(65), duration(3725)
    ('1 s', '12 s', '1 min 05 s', '1 h 02 min')
    """
    whole = max(1, math.ceil(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def field_advice(cp: CampaignPlan) -> str:
    """Issue 15: the per-lead token, and what it would cost as a lead field."""
    token = (cp.per_lead_token or "").strip("{} ")
    n = cp.trigger_calls
    fields, triggers = math.ceil(n / MAX_FIELD_RECORDS), math.ceil(n / MAX_LEADS_PER_CALL)
    checked = f" (checked on the first {PER_LEAD_SAMPLE:,})" if n > PER_LEAD_SAMPLE else ""
    return (
        f"advice: {token} differs for every lead of '{cp.name}'{checked}: as a lead field"
        f" (fields:), {n:,} leads would cost {fields:,} + {triggers:,} calls instead of {n:,}"
        " (docs/fields.md)"
    )


def cost_line(plan: Plan) -> str:
    s = plan.summary
    parts = [plural(s.trigger_calls, "trigger call")]
    if s.schedule_calls:
        parts.append(plural(s.schedule_calls, "schedule call"))
    if s.field_calls:
        parts.append(plural(s.field_calls, "field sync call"))
    if s.lookup_calls:
        parts.append(plural(s.lookup_calls, "lead lookup"))
    if s.preflight_calls:
        parts.append(plural(s.preflight_calls, "preflight check"))
    if s.usage_calls:
        parts.append(plural(s.usage_calls, "usage read"))
    seconds = plan.estimated_seconds
    duration = "under one rate window" if seconds == 0 else f"about {seconds:,.0f} s"
    line = (
        f"{' + '.join(parts)} = {plural(s.total_calls, 'API call')} "
        f"({plan.quota_share:.2%} of the daily quota of {plan.limits.daily_quota:,}); "
        f"{duration} at {plan.calls_per_window} calls per {plan.limits.window_seconds:g} s"
    )
    if plan.usage is None:
        return line
    room = QuotaRoom.of(plan.limits, plan.usage)
    needed = needed_calls(s)
    tail = {
        "all": f"enough for {'these' if needed != 1 else 'this'} {needed:,}",
        "some": (
            f"apply would send what fits of these {needed:,} and keep the rest home until "
            "the next run (exit 4)"
        ),
        "none": f"apply would send none of these {needed:,} (exit 4)",
    }[room.fit(s)]
    return f"{line}; {usage_words(room)}: {tail}"


def usage_words(room: QuotaRoom) -> str:
    """Today's usage against the quota and its reserve, as the plan's budget line and
    apply's report say it (issue 24)."""
    users = plural(len(room.usage.users), "API user")
    day = f" on {room.usage.date}" if room.usage.date else ""
    return (
        f"today{day} {room.used:,} of {room.daily_quota:,} calls were used by {users}, "
        f"{room.reserve:,} are kept for other integrations (quota_reserve "
        f"{room.share * 100:g}%): room for {room.room:,} more"
        + (
            f" ({room.held:,} fewer than the read alone leaves: the room the mktsync runs "
            "on this instance share, less the calls they took that the read may not show)"
            if room.held
            else ""
        )
    )


def new_ledger_note(plan: Plan, show: Callable[[str], str] | None = None) -> str | None:
    """Issue 25: the ledger is new, so every item is planned as new; a warning when there
    is evidence the campaigns were sent before (a moved ledger), else a calm note."""
    found = plan.new_ledger
    if found is None:
        return None
    return f"{'warning' if found.warns else 'note'}: {found.words(show)}"


def instant_text(plan: Plan) -> str:
    """The plan's instant as its header shows it: ``2026-12-05T23:30:00-05:00
    (America/New_York, today 2026-12-05)``."""
    if plan.now is None:
        return "an unrecorded time (a plan file from an older mktsync)"
    return f"{plan.now.isoformat()} ({plan.timezone}, today {plan.now.date().isoformat()})"


QUOTA_SHOWN = 0.10  # past this share of the daily quota, the headline says it (issue 22)


def quota_words(plan: Plan) -> str:
    """``161.6% of the daily quota (80,800 of 50,000 API calls)``."""
    s = plan.summary
    return (
        f"{plan.quota_share:.1%} of the daily quota "
        f"({s.total_calls:,} of {plan.limits.daily_quota:,} API calls)"
    )


def headline(plan: Plan, show: Callable[[str], str] | None = None) -> str:
    """The plan in one line: what is sent, what is not, and past ``QUOTA_SHOWN`` its share
    of the daily quota, so a big plan says so where everyone reads (text and Markdown);
    names from the config go through ``show`` (Markdown)."""
    s = plan.summary
    extra = f"; {quota_words(plan)}" if plan.quota_share > QUOTA_SHOWN else ""
    if s.invalid:
        extra += f"; {plural(s.invalid, 'invalid row')} (allowed by max_invalid) not sent"
    if s.unknown:
        extra += f"; {plural(s.unknown, 'item')} with an unknown outcome"
    if s.changed:
        extra += f"; {plural(s.changed, 'changed item')} will NOT be resent (retrigger: never)"
    if s.missing_forecast:
        extra += (
            f"; {plural(s.missing_forecast, 'email')} to send "
            f"{'was' if s.missing_forecast == 1 else 'were'} not found in Marketo at the last run"
        )
    if s.schedule_changed:
        extra += (
            f"; {plural(s.schedule_changed, 'changed batch run')} will NOT be scheduled again "
            "(retrigger: never)"
        )
    if s.schedule_orphaned:
        extra += (
            f"; {plural(s.schedule_orphaned, 'batch run')} still scheduled in Marketo for "
            f"{'a row that is' if s.schedule_orphaned == 1 else 'rows that are'} gone"
        )
    if s.deferred:
        extra += (
            f"; {plural(s.deferred, 'row')} deferred to the next run (another row writes "
            f"{'its' if s.deferred == 1 else 'their'} lead's fields first)"
        )
    filtered = filtered_all(plan, show=show)
    if filtered:  # issue 22: "No changes" must not hide a campaign that filters every row
        extra += f"; {filtered}"
    if s.schedule_calls:
        extra = f"; {plural(s.schedule_calls, 'batch run')} to schedule" + extra
    if not s.changes:
        # "No changes" only when that is the whole truth: changed items, unknowns and
        # forecast misses are things a reviewer must see.
        return f"Nothing to trigger{extra}." if extra else "No changes: nothing to trigger."
    return (
        f"{plural(s.trigger, 'lead')} to trigger, {s.retrigger:,} to retrigger "
        f"in {plural(s.trigger_calls, 'call')}{extra}."
    )
