"""Who each campaign entry emails: its leads to send, wherever their calls are listed.

Calls are shared by Marketo campaign id (``plan.records.SpilledCalls``): two entries that
send to campaign 1234 with the same tokens share calls, listed under the entry whose lead
came first.  A report that counts an entry's leads by the calls listed under it says
"0 leads" for the other entry and too many for the first.  ``entry_leads`` reads each
campaign id's calls once and gives every entry its own leads: counted by action, the
first few of each action, the first ``who`` leads in plan order, and where they are sent
(in the calls of which entries), so that each entry's numbers are its own.

Spilled calls are read a page at a time, and only the leads kept are decoded (a shared
call's lines name their entry first and are decoded to read it): a million-lead plan
costs no memory here beyond what is kept.

>>> leads = entry_leads(plan.campaigns, samples=5, who=100)        # doctest: +SKIP
>>> leads["webinar-reminder-known-leads"].sending, leads["webinar-reminder-known-leads"].sent_with
(5, {'webinar-reminder': 5})
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial

from mktsync.plan import CampaignPlan
from mktsync.plan.records import Action, PlannedItem, SpilledCalls, action_of, line_action


@dataclass(frozen=True, kw_only=True)
class Named:
    """A lead the list names, and the row it comes from: ``a***@example.com (regs row 2)``
    tells two masked leads apart, and the reviewer finds the row in the pull request."""

    lead: str
    source: str
    row: int

    @property
    def text(self) -> str:
        return f"{self.lead} ({self.source} row {self.row})"


# The actions of leads to send, in the order a reviewer needs them: new first.
SENT = (Action.TRIGGER, Action.RETRIGGER, Action.UNKNOWN)


@dataclass(kw_only=True)
class EntryLeads:
    """One campaign entry's leads to send (module doc)."""

    name: str
    source: str = ""  # the entry's source: its leads' rows are rows of it
    counts: dict[Action, int] = field(default_factory=lambda: dict.fromkeys(SENT, 0))
    samples: dict[Action, list[PlannedItem]] = field(default_factory=lambda: {a: [] for a in SENT})
    # The first leads of each action (new first), as configured (an email or id:N), each
    # with the source and row it comes from: masked, two leads can read alike.
    named: dict[Action, list[Named]] = field(default_factory=lambda: {a: [] for a in SENT})
    # Other entry -> this entry's leads sent in calls listed under it.
    sent_with: dict[str, int] = field(default_factory=dict)
    # Other entry -> its leads in calls listed under this entry.
    carried: dict[str, int] = field(default_factory=dict)

    @property
    def sending(self) -> int:
        return sum(self.counts.values())

    def who(self, n: int) -> list[Named]:
        """The first ``n`` leads the entry emails: new ones first, then retriggered, then
        those sent again after an unknown outcome, each in plan order."""
        return [lead for a in SENT for lead in self.named.get(a, ())][:n]


def entry_leads(
    campaigns: Sequence[CampaignPlan], *, samples: int, who: int
) -> dict[str, EntryLeads]:
    """Every entry's leads to send (module doc), keeping the first ``samples`` and ``who``
    of each action (``EntryLeads.who`` lists new ones first)."""
    out = {cp.name: EntryLeads(name=cp.name, source=cp.source) for cp in campaigns}
    for cp in campaigns:
        for owner, action, decode in _leads(cp):
            entry = out.get(owner)
            if entry is None:  # an entry this plan does not cover (cannot happen)
                continue
            entry.counts[action] = entry.counts.get(action, 0) + 1
            kept = entry.samples.setdefault(action, [])
            named = entry.named.setdefault(action, [])
            if len(kept) < samples or len(named) < who:
                planned = decode()
                if len(kept) < samples:
                    kept.append(planned)
                if len(named) < who:
                    item = planned.item
                    named.append(Named(lead=item.lead, source=item.source, row=item.row))
            if owner != cp.name:
                entry.sent_with[cp.name] = entry.sent_with.get(cp.name, 0) + 1
                carrier = out[cp.name].carried
                carrier[owner] = carrier.get(owner, 0) + 1
    return out


def _leads(cp: CampaignPlan) -> Iterator[tuple[str, Action, Callable[[], PlannedItem]]]:
    """(owning entry, action, decoder) for each lead of the calls listed under ``cp``."""
    calls = cp.calls
    if isinstance(calls, SpilledCalls):
        for tokens, lines in calls.iter_lines():
            for line in lines:
                owner = _owner(line) if line.startswith(_NAMED) else cp.name
                yield owner, action_of(line_action(line)), partial(calls.decode, line, tokens)
        return
    for call in calls:
        for p in call.items:
            yield p.item.campaign, p.action, partial(_same, p)


def _same(p: PlannedItem) -> PlannedItem:
    return p


_NAMED = '{"campaign": "'


def _owner(line: str) -> str:
    """The entry a lead line names first (``records.with_campaign``); entry names hold no
    quote or backslash (the schema's name pattern), so the name is read without decoding."""
    end = line.find('"', len(_NAMED))
    name = line[len(_NAMED) : end]
    return str(json.loads(line)["campaign"]) if "\\" in name else name
