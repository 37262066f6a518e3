"""Every kind of lost answer, then settle, then apply again: nobody triggered twice, no
batch run scheduled twice, and no item settled against what Marketo really did.

Kinds: triggers (answer lost after Marketo acted, connection reset before, Marketo's 502
in its envelope), a batch run (``schedule.json``), a field sync (``leads.json`` update),
a lead lookup (``leads.json`` read) and a lead create (``leads.json`` createOnly); then
runs killed mid-flight; all against an activity log that pages with empty pages and
holds activities of other types from the same campaigns.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apply_helpers import apply, triggered
from settle_helpers import Tally, carried_out, duplicates, records, settle
from test_apply_kill import start_apply
from testing.project import (
    LEAD_BY_EMAIL,
    MARKETO_FROM_ENV,
    csv_source,
    csv_text,
    flow,
    write_project,
)
from testing.seed import project_seed

from mktsync.emulator import Emulator, EmulatorOptions
from mktsync.marketo.activities import ReadBudget

SOURCES = {name: csv_source(f"{name}.csv") for name in ("regs", "links", "signups", "webinars")}
CAMPAIGNS = {
    "reminder": {
        "campaign_id": 1234,
        "source": "regs",
        "lead": LEAD_BY_EMAIL,
        "key": "{{ row.email }}/{{ row.webinar }}",
        "tokens": {"my.Webinar": "{{ row.webinar }}"},
    },
    "join-link": {
        "campaign_id": 1240,
        "source": "links",
        "lead": LEAD_BY_EMAIL,
        "fields": {"webinarJoinLink": "https://j.example.com/{{ row.code }}"},
    },
    "welcome": {
        "campaign_id": 1250,
        "source": "signups",
        "create_missing": True,
        "lead": {"email": "{{ row.email }}", "fields": flow(firstName="{{ row.name }}")},
    },
}
SCHEDULES = {
    "blast": {
        "campaign_id": 3001,
        "source": "webinars",
        "key": "{{ row.webinar_id }}",
        "run_at": "{{ row.blast_at }}",
        "tokens": {"my.WebinarTitle": "{{ row.title }}"},
    }
}
# The campaign each unknown item belongs to; the lookup, create and field sync whose
# answers are lost leave no unknown item of their own (asked again, or looked up).
KIND = {1234: "trigger", 1240: "trigger after field sync", 1250: "trigger of created leads",
        3001: "batch run"}  # fmt: skip


def project(
    tmp_path: Path, *, people: int = 12, concurrency: int = 1, call_a_row: bool = False
) -> Path:
    # Each person registers for two of three webinars: one lead, two calls of campaign 1234.
    regs = [
        {"email": f"p{i}@example.com", "webinar": f"w{(i + j) % 3 + 1}"}
        for i in range(people)
        for j in (0, 1)
    ]
    links = [{"email": f"p{i}@example.com", "code": f"c{i}"} for i in range(people)]
    signups = [{"email": f"new{i}@example.com", "name": f"New {i}"} for i in range(4)]
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    webinars = [
        {
            "webinar_id": f"w{n}",
            "title": f"Webinar {n}",
            "blast_at": (soon + timedelta(hours=n)).isoformat(),
        }
        for n in (1, 2, 3)
    ]
    campaigns = CAMPAIGNS
    if call_a_row:  # a token that differs for every row: one trigger call a row
        tokens = {"my.Webinar": "{{ row.webinar }} for {{ row.email }}"}
        campaigns = {**CAMPAIGNS, "reminder": {**CAMPAIGNS["reminder"], "tokens": tokens}}
    limits = flow(calls=100, window_seconds=20, concurrency=concurrency)
    return write_project(
        tmp_path,
        marketo={**MARKETO_FROM_ENV, "limits": limits},
        sources=SOURCES,
        campaigns=campaigns,
        schedules=SCHEDULES,
        files={
            "regs.csv": csv_text(regs),
            "links.csv": csv_text(links),
            "signups.csv": csv_text(signups),
            "webinars.csv": csv_text(webinars),
        },
    )


def serve_for(path: Path, options: EmulatorOptions) -> Emulator:
    seed = project_seed(path)
    # The people who sign up are not in Marketo yet: welcome creates them.
    seed["leads"] = [lead for lead in seed["leads"] if not lead["email"].startswith("new")]
    return Emulator(seed=seed, options=options).start()


FAULTS = ",".join([
    "leads_get#1=lost",      # a lookup's answer lost: a read, asked again
    "leads_sync#1=lost",     # the create's answer lost: looked up, found, not created twice
    "leads_sync#2=lost",     # the field sync's answer lost: written again (idempotent)
    "trigger#1=lost",        # w1 of campaign 1234: carried out, answer lost
    "trigger#2=reset",       # w2: the connection broke before Marketo acted
    "trigger#4=json502",     # join-link: Marketo's 502 in its envelope, not carried out
    "trigger#5=lost",        # welcome: carried out, answer lost
    "schedule#1=lost",       # batch run w1: scheduled, answer lost
    "schedule#2=reset",      # batch run w2: never reached Marketo
    "activities.empty_pages=30",  # Adobe: empty pages with moreResult true are normal
    "activities.flow=on",    # each campaign's flow logs "Send Email" (type 6) from it
    "activities.types=all",  # ... and the server hands back every type
])  # fmt: skip


def test_every_kind_of_unknown_settles_on_evidence_and_nothing_goes_out_twice(
    tmp_path: Path,
) -> None:
    path = project(tmp_path)
    emu = serve_for(path, EmulatorOptions(faults=FAULTS))
    try:
        first = apply(path, emu)
        assert first.exit_code == 3
        before = {(r.campaign_id, r.key): r for r in records(path)}
        lost = Counter(e["endpoint"] for e in emu.journal() if e.get("fault") == "lost")
        assert lost == {"leads_get": 1, "leads_sync": 2, "trigger": 2, "schedule": 1}
        unknown = Counter(KIND[r.campaign_id] for r in before.values() if r.status == "unknown")
        assert unknown == {"trigger": 16, "trigger after field sync": 12,
                           "trigger of created leads": 4, "batch run": 2}  # fmt: skip
        print(f"\nlost answers by endpoint: {dict(lost)}; unknown items: {dict(unknown)}")
        # A lead whose trigger never reached Marketo holds activities of other types
        # from the same campaign: they are not evidence.
        never = [r for r in before.values() if r.status == "unknown" and r.campaign_id == 1240]
        for rec in never:
            emu.add_activity(rec.lead_id or 0, 6, campaign_id=1240, primary_id=9001)
            emu.add_activity(rec.lead_id or 0, 47, campaign_id=1240, primary_id=4242)
        done = carried_out(emu)

        report = settle(path, emu, budget=ReadBudget(max_pages=1000))
        tally = Tally()
        tally.add(report, before, done, KIND)
        print("\n" + "\n".join(tally.lines()))
        assert tally.wrong == []
        assert report.log is not None and report.log.stopped is None
        assert report.exit_code == 3  # the batch runs, and the people with two lost calls
        left = [i for c in report.campaigns for i in c.unknown]
        assert {i.kind for i in left} == {"trigger", "batch"}
        assert all(i.check for i in left)  # each says what to look at in Marketo

        second = apply(path, emu)
        dupes = duplicates(emu)
        print(f"duplicates seen by the emulator: {dupes}")
        assert dupes == 0
        assert second.counts()["leads_unknown"] == 0
        # Never lost: every item is sent, or still unknown with what to check.
        final = Counter(r.status for r in records(path))
        assert final == {"sent": len(before) - len(left), "unknown": len(left)}
        assert len([lead for lead in emu.leads() if lead["email"].startswith("new")]) == 4
    finally:
        emu.stop()


def test_endless_pages_leave_items_unknown_until_the_log_is_read_to_its_end(
    tmp_path: Path,
) -> None:
    path = project(tmp_path, people=6)
    faults = "trigger#1=lost,trigger#2=reset,activities.endless=on"
    emu = serve_for(path, EmulatorOptions(faults=faults))
    try:
        apply(path, emu)
        before = {(r.campaign_id, r.key): r for r in records(path)}
        done = carried_out(emu)
        endless = settle(path, emu, budget=ReadBudget(max_pages=40))
        assert endless.exit_code == 3 and endless.log is not None
        assert endless.log.stopped == "the page budget (40 pages) was spent"
        assert endless.log.pages == 40
        (campaign,) = [c for c in endless.campaigns if c.campaign_id == 1234]
        # Found activities are evidence; the absence of one is not, in a log never ended.
        assert campaign.not_sent == 0 and campaign.sent > 0
        assert all("was not read to its end" in i.reason for i in campaign.unknown)
        tally = Tally()
        tally.add(endless, before, done, KIND)
        assert tally.wrong == []
        emu.set_faults("activities.endless=off")
        again = settle(path, emu)
        (campaign,) = [c for c in again.campaigns if c.campaign_id == 1234]
        assert campaign.not_sent > 0
        tally = Tally()
        tally.add(again, before, done, KIND)
        assert tally.wrong == []
        apply(path, emu)
        assert duplicates(emu) == 0
    finally:
        emu.stop()


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [2, 7])
def test_a_killed_apply_settles_on_evidence(tmp_path: Path, kill_after: int) -> None:
    path = project(tmp_path, people=20, concurrency=3, call_a_row=True)
    options = EmulatorOptions(latency=(0.08, 0.12), faults="activities.flow=on")
    emu = serve_for(path, options)
    try:
        proc = start_apply(path, emu.base_url, emu.client_id, emu.client_secret)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            if sum(e.get("endpoint") == "trigger" for e in emu.journal()) >= kill_after:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        # Calls the dead run left in flight finish inside Marketo first (what --min-age
        # waits for in real life).
        while emu.stats()["in_flight"]:
            time.sleep(0.01)
        before = {(r.campaign_id, r.key): r for r in records(path)}  # pending ones too
        done = carried_out(emu)
        report = settle(path, emu)  # takes the lock: the dead run's pending -> unknown
        tally = Tally()
        tally.add(report, before, done, KIND)
        print("\n" + "\n".join(tally.lines()))
        assert tally.wrong == []
        apply(path, emu)
        assert duplicates(emu) == 0
        assert max(triggered(emu).values()) <= 2  # one lead, two webinars, two tokens
        final = Counter(r.status for r in records(path))
        assert set(final) <= {"sent", "unknown"}
    finally:
        emu.stop()


def test_a_field_sync_whose_answers_keep_getting_lost_leaves_nothing_to_settle(
    tmp_path: Path,
) -> None:
    path = project(tmp_path, people=3)
    for name in ("regs.csv", "signups.csv", "webinars.csv"):  # only join-link this time
        (tmp_path / name).write_text((tmp_path / name).read_text().splitlines()[0] + "\n")
    lost = ",".join(f"leads_sync#{n}=lost" for n in range(1, 7))  # more than the retries
    emu = serve_for(path, EmulatorOptions(faults=lost))
    try:
        first = apply(path, emu)
        assert first.exit_code == 3 and triggered(emu) == Counter()
        statuses = Counter((r.status, r.error_message) for r in records(path))
        ((status, message),) = statuses
        assert status == "failed" and (message or "").startswith("lead field not written")
        report = settle(path, emu)
        assert report.run_id is None  # nothing unknown: no verdict to give
        apply(path, emu)  # writes the same values again, then triggers
        assert sorted(triggered(emu).values()) == [1, 1, 1]
        links = {lead["email"]: lead.get("webinarJoinLink") for lead in emu.leads()}
        assert links == {f"p{i}@example.com": f"https://j.example.com/c{i}" for i in range(3)}
        assert duplicates(emu) == 0
    finally:
        emu.stop()
