"""Lead resolution streams (issue 16): lookups in batches of 300, never more than the plan
forecast, interleaved with reading the items; create_missing and missing leads as before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from apply_helpers import apply, emulator, write_project

from mktsync.apply.resolve import resolve_leads
from mktsync.config import load_config
from mktsync.items import Item
from mktsync.ledger import open_ledger
from mktsync.marketo import MarketoClient

AGAIN = """  again:
    campaign_id: 2002
    source: regs
    when: "row.code == 'd'"
    lead: {email: "{{ row.email }}"}
    tokens: {my.Webinar: "{{ row.webinar }}"}
"""


def _rows(n: int) -> list[dict[str, str]]:
    # Every third row also goes to 'again': the same emails in two campaigns.
    return [
        {"email": f"user{i}@example.com", "webinar": "w1", "code": "d" if i % 3 == 0 else "c"}
        for i in range(n)
    ]


def _lookups(emu: Any, since: int = 0) -> list[int]:
    """How many emails each leads.json lookup by email asked for, in order."""
    sizes = []
    for entry in emu.journal()[since:]:
        if entry.get("endpoint") != "leads_get":
            continue
        params = {**(entry.get("query") or {}), **(entry.get("body") or {})}
        if params.get("filterType") == "email":
            sizes.append(len(str(params["filterValues"]).split(",")))
    return sizes


def test_lookups_go_300_a_call_once_per_uncached_email_as_the_plan_forecast(
    tmp_path: Path,
) -> None:
    path = write_project(tmp_path, _rows(700), extra=AGAIN)
    with emulator(path) as emu:  # knows user0..user699
        write_project(tmp_path, _rows(100), extra=AGAIN)
        assert apply(path, emu).exit_code == 0  # caches user0..user99
        before = len(emu.journal())
        # 750 emails: 100 cached, 600 known to Marketo, 50 unknown; a third of them are
        # also sent by 'again', so items repeat emails across campaigns.
        write_project(tmp_path, _rows(750), extra=AGAIN)
        report = apply(path, emu)
        assert report.plan.summary.lookup_calls == 3  # ceil(650 / 300)
        assert _lookups(emu, before) == [300, 300, 50]
        reminder, again = report.campaigns
        assert reminder.leads_triggered == 600 and reminder.leads_missing == 50  # 100 sent before
        assert again.leads_missing == len([i for i in range(700, 750) if i % 3 == 0])
        reasons = {m.lead: m.reason for m in [*reminder.missing, *again.missing]}
        assert reasons["user747@example.com"] == "no Marketo lead with this email"
        assert len(reasons) == 50

        # Found emails are cached, missed ones are not looked up twice in one run: the next
        # run looks up only the 50 still unknown, in one call.
        before = len(emu.journal())
        report = apply(path, emu)
        assert report.plan.summary.lookup_calls == 1
        assert _lookups(emu, before) == [50]


CREATOR = """  signup:
    campaign_id: 2001
    source: regs
    when: "row.webinar == 'w2'"
    create_missing: true
    lead: {email: "{{ row.email }}"}
    fields: {firstName: "{{ row.code }}"}
    tokens: {my.Webinar: "{{ row.webinar }}"}
"""


def test_a_lead_is_created_once_from_the_creating_campaigns_item_even_when_it_comes_later(
    tmp_path: Path,
) -> None:
    """'reminder' (no create_missing) meets new@ first, in its first lookup batch;
    'signup' (create_missing) meets it 400 emails later: the lead is created then, once,
    with signup's fields, and both campaigns trigger it."""
    known = [{"email": f"user{i}@example.com", "webinar": "w1", "code": "c"} for i in range(400)]
    path = write_project(tmp_path, known, extra=CREATOR)
    new = {"email": "new@example.com", "webinar": "w1", "code": "c"}
    signup = {"email": "new@example.com", "webinar": "w2", "code": "Zed"}
    with emulator(path) as emu:
        write_project(tmp_path, [new, *known, signup], extra=CREATOR)
        report = apply(path, emu)
        created = [lead for lead in emu.leads() if lead.get("email") == "new@example.com"]
        assert len(created) == 1 and report.created_leads == 1
        assert created[0].get("firstName") == "Zed"
        lead_id = int(created[0]["id"])
        sent = {(int(t["campaign_id"]), lead) for t in emu.triggers() for lead in t["lead_ids"]}
        assert (1234, lead_id) in sent and (2001, lead_id) in sent
        assert report.exit_code == 0, [c.missing for c in report.campaigns]


def test_unknown_emails_and_ids_each_get_their_reason(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.yaml"
    path.write_text(
        """version: 1
sources:
  people: {type: inline, rows: [{id: 5, email: five@example.com},
                                {id: 6, email: ghost@example.com}]}
campaigns:
  by-id: {campaign_id: 77, source: people, lead: {id: "{{ row.id }}"}}
  by-email: {campaign_id: 78, source: people, lead: {email: "{{ row.email }}"}}
""",
        encoding="utf-8",
    )
    with emulator(path, leads=[{"id": 5, "email": "five@example.com"}]) as emu:
        report = apply(path, emu)
        by_id, by_email = report.campaigns
        assert [(m.lead, m.reason) for m in by_id.missing] == [
            ("id:6", "no Marketo lead with id 6")
        ]
        assert [(m.lead, m.reason) for m in by_email.missing] == [
            ("ghost@example.com", "no Marketo lead with this email")
        ]
        assert sorted((t["campaign_id"], t["lead_ids"]) for t in emu.triggers()) == [
            (77, [5]),
            (78, [5]),
        ]


def test_resolution_looks_up_while_reading_the_items_not_after_holding_them(
    tmp_path: Path,
) -> None:
    """A resolver that held every item first would make its first lookup only after the
    last item was read; this one has made most of them by then."""
    path = write_project(tmp_path, _rows(3000))
    config = load_config(path)
    with (
        emulator(path) as emu,
        open_ledger(config.ledger.resolve(), config.base_dir) as ledger,
        MarketoClient(
            emu.base_url, emu.client_id, emu.client_secret, limits=config.marketo.limits
        ) as client,
    ):
        seen_at_last_item: list[int] = []

        def items() -> Iterator[Item]:
            for i in range(3000):
                if i == 2999:
                    seen_at_last_item.append(len(_lookups(emu)))
                yield Item(
                    campaign="reminder", campaign_id=1234, key=f"k{i}", lead_id=None,
                    email=f"user{i}@example.com", tokens=(), source="regs", row=i + 2,
                )  # fmt: skip

        resolution = resolve_leads(items(), client, ledger)
        assert seen_at_last_item[0] >= 6  # 3000 emails: 10 lookups, most before the end
        assert _lookups(emu) == [300] * 10
        assert resolution.problems == {}
        ids = resolution.lead_ids(
            [Item(campaign="reminder", campaign_id=1234, key="k", lead_id=None,
                  email="user2999@example.com", tokens=(), source="regs", row=2)]
        )  # fmt: skip
        assert (
            ids[0] is not None
            and ids[0] == ledger.cached_lead_ids(["user2999@example.com"])["user2999@example.com"]
        )
