"""`mktsync ledger settle`: no evidence, no verdict.

Batch runs stay unknown with what to check and the commands to paste; only Request
Campaign activities of the campaign on the lead count; a log not read to its end decides
nothing; the command says so, in text and JSON, and exits 3.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apply_helpers import apply, cli, emulator, rows, triggered, write_project
from settle_helpers import duplicates, records, settle

from mktsync.config import display_name, load_config
from mktsync.ledger import open_ledger
from mktsync.marketo import Limiter
from mktsync.marketo.activities import ReadBudget


def at(hours: float) -> str:
    return (datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours)).isoformat()


def batch_project(tmp_path: Path, blasts: list[tuple[str, str]]) -> Path:
    """One trigger campaign (1234) and one batch campaign (3001) run once per webinar."""
    lines = ["webinar_id,title,blast_at", *(f"{w},Title {w},{t}" for w, t in blasts)]
    (tmp_path / "webinars.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = write_project(tmp_path, rows(2))
    text = path.read_text(encoding="utf-8").replace(
        "  regs: {type: csv, path: regs.csv}\n",
        "  regs: {type: csv, path: regs.csv}\n  webinars: {type: csv, path: webinars.csv}\n",
    )
    text += """schedules:
  blast:
    campaign_id: 3001
    source: webinars
    key: "{{ row.webinar_id }}"
    run_at: "{{ row.blast_at }}"
    tokens:
      my.WebinarTitle: "{{ row.title }}"
"""
    path.write_text(text, encoding="utf-8")
    return path


def _paste(command: str) -> list[str]:
    """The argv of a command settle printed, without the program name."""
    words = shlex.split(command)
    assert words[:2] == ["mktsync", "ledger"]
    return words[1:]


@pytest.mark.parametrize(("fault", "marketo_acted"), [("lost", True), ("reset", False)])
def test_a_batch_run_whose_answer_was_lost_stays_unknown_until_settled_by_hand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str, marketo_acted: bool
) -> None:
    blast = at(3)
    path = batch_project(tmp_path, [("wb-1", blast)])
    with emulator(path) as emu:
        emu.script_fault("schedule", 1, fault)
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 3, out + err
        assert len(emu.schedules()) == int(marketo_acted)
        code, out, err = cli(
            ["ledger", "--config", str(path), "settle", "--min-age", "0"], emu, monkeypatch
        )
        assert (code, err) == (3, "")
        lines = out.splitlines()
        assert (
            lines[0] == "campaign 3001: settled as sent 0, settled as not sent 0, still unknown 1"
        )
        assert lines[1] == (
            f"  still unknown: 'wb-1' (batch run at {blast}): a batch run leaves no activity on "
            "any lead, and no Marketo API read tells whether the schedule call was carried out"
        )
        assert lines[2] == (
            "    check: in Marketo, open smart campaign 3001 (Marketing Activities): its Schedule "
            f"tab shows whether a run at {blast} is scheduled; once it ran, its Results tab "
            "shows the run"
        )
        config = shlex.quote(display_name(path))
        assert lines[3] == (
            f"    if Marketo acted on it: mktsync ledger --config {config} mark-sent "
            "--campaign-id 3001 --why "
            f"'checked in Marketo: the batch run at {blast} is scheduled (or ran)' wb-1"
        )
        assert lines[4].startswith(f"    if not: mktsync ledger --config {config} forget ")
        assert lines[5].startswith("note: batch runs are settled by hand")
        assert lines[-1] == (
            "run #2: items settled as not sent go out again on the next apply; "
            "1 item(s) remain unknown"
        )
        # Not scheduled again by the next apply, and never green while it is unsettled.
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 3, out + err
        assert "1 item still unknown from an earlier run" in out.splitlines()[-1]
        assert len(emu.schedules()) == int(marketo_acted)
        # What a person does after checking in Marketo: paste the command given.
        chosen = lines[3] if marketo_acted else lines[4]
        command = chosen.split(": ", 1)[1]
        code, out, err = cli(_paste(command), emu, monkeypatch)
        assert code == 0, out + err
        code, out, err = cli(["ledger", "--config", str(path), "settle"], emu, monkeypatch)
        assert (code, out) == (0, "no unknown items: nothing to settle\n")
        assert cli(["apply", str(path), "--yes"], emu, monkeypatch)[0] == 0
        assert len(emu.schedules()) == 1  # once, either way
        assert duplicates(emu) == 0


def test_settle_json_carries_the_same_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blast = at(3)
    path = batch_project(tmp_path, [("-wb 1", blast)])  # a key a shell must quote
    with emulator(path) as emu:
        emu.script_fault("schedule", 1, "lost")
        emu.script_fault("trigger", 1, "lost")
        assert cli(["apply", str(path), "--yes"], emu, monkeypatch)[0] == 3
        code, out, err = cli(
            ["ledger", "--config", str(path), "settle", "--min-age", "0", "--format", "json"],
            emu,
            monkeypatch,
        )
    assert (code, err) == (3, "")
    doc = json.loads(out)
    assert doc["exit_code"] == 3 and doc["still_unknown"] == 1
    assert doc["activity_log"]["complete"] is True and doc["activity_log"]["max_pages"] == 1000
    by_id = {c["campaign_id"]: c for c in doc["campaigns"]}
    assert by_id[1234]["settled_sent"] == 2 and by_id[1234]["still_unknown"] == 0
    (batch,) = by_id[3001]["items"]
    assert (batch["kind"], batch["verdict"], batch["run_at"]) == ("batch", "unknown", blast)
    forget = batch["commands"]["forget"]
    assert forget.endswith(" -- '-wb 1'")  # after --, so argparse never reads it as an option
    assert shlex.split(forget)[-1] == "-wb 1"


def test_activities_of_other_types_or_of_other_campaigns_are_not_evidence(
    tmp_path: Path,
) -> None:
    path = write_project(tmp_path, rows(4, shared_code=False), concurrency=1)
    with emulator(path) as emu:
        emu.set_faults("activities.types=all,activities.flow=on")
        emu.script_fault("trigger", 1, "reset")  # never reached Marketo
        emu.script_fault("trigger", 2, "lost")  # carried out
        apply(path, emu)
        never = next(
            r for r in records(path) if r.status == "unknown" and r.key.startswith("user0")
        )
        lead = never.lead_id or 0
        # From campaign 1234 itself but not a request of it; and a request of another
        # campaign made by 1234's flow: neither says 1234 was requested for this lead.
        emu.add_activity(lead, 6, campaign_id=1234, primary_id=701234)
        emu.add_activity(lead, 47, campaign_id=1234, primary_id=5555)
        emu.add_activity(lead, 47, primary_id=1234, at=datetime.now(UTC) - timedelta(hours=3))
        report = settle(path, emu)
        verdicts = {i.key: i.verdict for c in report.campaigns for i in c.items}
        assert verdicts == {"user0@example.com/w1": "not_sent", "user1@example.com/w1": "sent"}
        apply(path, emu)
        assert sorted(triggered(emu).values()) == [1, 1, 1, 1]


def test_only_requests_dated_inside_the_window_count_and_a_future_one_decides_nothing(
    tmp_path: Path,
) -> None:
    """The window runs from the call's run start to the read's end, each with a 2 min
    clock margin; a request dated later says the clocks disagree: never "not sent"."""
    path = write_project(tmp_path, rows(3, shared_code=False), concurrency=1)
    with emulator(path) as emu:
        for nth in (1, 2, 3):
            emu.script_fault("trigger", nth, "reset")  # none reached Marketo
        apply(path, emu)
        lead_of = {r.key.split("/")[0]: r.lead_id or 0 for r in records(path)}
        now = datetime.now(UTC)
        future, slightly_ahead, before = now + timedelta(hours=1), now + timedelta(seconds=60), now - timedelta(hours=1)  # fmt: skip
        emu.add_activity(lead_of["user0@example.com"], 47, primary_id=1234, at=future)
        emu.add_activity(lead_of["user1@example.com"], 47, primary_id=1234, at=slightly_ahead)
        emu.add_activity(lead_of["user2@example.com"], 47, primary_id=1234, at=before)
        report = settle(path, emu)
        items = {i.key.split("/")[0]: i for c in report.campaigns for i in c.items}
        assert {k: i.verdict for k, i in items.items()} == {
            "user0@example.com": "unknown",
            "user1@example.com": "sent",  # Marketo's clock a minute ahead: within the margin
            "user2@example.com": "not_sent",  # an earlier request is not this call's
        }
        ahead = items["user0@example.com"]
        assert (
            f"dated {future.strftime('%Y-%m-%dT%H:%M:%SZ')}, later than the end of" in ahead.reason
        )
        assert "Marketo's clock and this machine's disagree" in ahead.reason
        assert ahead.check is not None and "Activity Log" in ahead.check  # by hand
        assert report.exit_code == 3
        apply(path, emu)  # only the item settled as not sent goes out again
        assert [t["lead_ids"] for t in emu.triggers()] == [[lead_of["user2@example.com"]]]


def test_a_request_without_a_campaign_id_decides_nothing(tmp_path: Path) -> None:
    path = write_project(tmp_path, rows(2, shared_code=False), concurrency=1)
    with emulator(path) as emu:
        emu.script_fault("trigger", 1, "reset")
        apply(path, emu)
        (unknown,) = [r for r in records(path) if r.status == "unknown"]
        emu.add_activity(unknown.lead_id or 0, 47)  # no primaryAttributeValueId
        (item,) = settle(path, emu).campaigns[0].items
    assert item.verdict == "unknown" and "without a readable campaign id" in item.reason
    assert item.check is not None and "Activity Log" in item.check


def test_a_log_not_read_to_its_end_says_why_and_how_to_read_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(3, shared_code=False), concurrency=1)
    with emulator(path) as emu:
        emu.script_fault("trigger", 1, "reset")
        assert cli(["apply", str(path), "--yes"], emu, monkeypatch)[0] == 3
        emu.set_faults("activities.endless=on")
        args = ["ledger", "--config", str(path), "settle", "--min-age", "0", "--max-pages", "7"]
        code, out, err = cli(args, emu, monkeypatch)
        assert (code, err) == (3, "")
        lines = out.splitlines()
        assert (
            lines[0] == "campaign 1234: settled as sent 0, settled as not sent 0, still unknown 1"
        )
        assert lines[1] == (
            "  still unknown: 'user0@example.com/w1': Marketo's activity log for lead 100001 "
            "was not read to its end: the page budget (7 pages) was spent"
        )
        assert lines[2].startswith(
            "note: Marketo's activity log was not read to its end for 1 of 1 lead(s): the page "
            "budget (7 pages) was spent (7 pages in "
        )
        assert "budget --max-pages 7 --max-seconds 300). Their items stay unknown" in lines[2]
        assert "Settle again with a larger budget" in lines[2]
        pages = sum(e.get("endpoint") == "activities" for e in emu.journal())
        assert pages == 7
        # The same log, read to its end: now the absence of a request is evidence.
        emu.set_faults("activities.endless=off,activities.empty_pages=20")
        args[-1] = "30"
        code, out, err = cli(args, emu, monkeypatch)
        assert (code, err) == (0, "")
        assert out.startswith("campaign 1234: settled as sent 0, settled as not sent 1,")


def test_max_seconds_holds_while_the_limiter_makes_pages_wait(tmp_path: Path) -> None:
    """``--max-seconds 2`` counts the waits for a rate slot: the read stops when its next
    page would wait past it, instead of waiting out the window (20 s) and reading on."""
    latency = 0.2
    path = write_project(tmp_path, rows(1), calls=5, window=20, concurrency=1)
    with emulator(path) as emu:
        emu.script_fault("trigger", 1, "reset")
        apply(path, emu)
        emu.set_faults("activities.endless=on")
        emu.set_latency(latency)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETO_")}
        env |= {"MARKETO_BASE_URL": emu.base_url, "MARKETO_CLIENT_ID": emu.client_id,
                "MARKETO_CLIENT_SECRET": emu.client_secret}  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "mktsync", "ledger", "--config", str(path), "settle",
             "--min-age", "0", "--max-seconds", "2", "--format", "json"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        pages = sum(e.get("endpoint") == "activities" for e in emu.journal())
    assert (done.returncode, done.stderr) == (3, "")
    log = json.loads(done.stdout)["activity_log"]
    assert log["stopped"].startswith(
        "the time budget (2 s) runs out before the next call: the next slot in the rate window"
    )
    # Every slot of the limiter's window but the paging token's was a page.
    slots = Limiter(load_config(path).marketo.limits).capacity
    assert log["pages"] == pages == slots - 1
    assert log["seconds"] < 2 + latency + 1.0  # the budget, one call's latency, some slack


def test_the_budget_must_be_positive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_project(tmp_path, rows(1))
    for option in ("--max-pages", "--max-seconds"):
        code, out, err = cli(
            ["ledger", "--config", str(path), "settle", option, "0"], None, monkeypatch
        )
        assert code == 1 and "must be more than 0" in err


def test_the_budget_is_shared_by_every_read_of_a_settle(tmp_path: Path) -> None:
    people = [{"email": f"user{i}@example.com", "webinar": "w1", "code": f"c{i}"}
              for i in range(70)]  # fmt: skip
    path = write_project(tmp_path, people, concurrency=1)
    with emulator(path) as emu:
        for nth in range(1, 71):
            emu.script_fault("trigger", nth, "reset")
        apply(path, emu)
        emu.set_faults("activities.endless=on")
        report = settle(path, emu, budget=ReadBudget(max_pages=12))
    assert report.log is not None and report.log.pages == 12
    assert report.log.leads == 70 and report.log.unread == 70
    assert report.still_unknown == 70


def test_one_request_for_two_lost_calls_to_one_lead_is_settled_by_hand(tmp_path: Path) -> None:
    two = [{"email": "ann@example.com", "webinar": w, "code": "c"} for w in ("w1", "w2")]
    path = write_project(tmp_path, two, concurrency=1)
    with emulator(path) as emu:
        emu.script_fault("trigger", 1, "lost")  # w1: carried out
        emu.script_fault("trigger", 2, "reset")  # w2: never reached Marketo
        apply(path, emu)
        first = settle(path, emu)
        (campaign,) = first.campaigns
        assert [i.verdict for i in campaign.items] == ["unknown", "unknown"]
        assert all("which were carried out cannot be told" in i.reason for i in campaign.items)
        assert all(i.check and "Activity Log" in i.check for i in campaign.items)
        # A person checks in Marketo and marks w1 sent: that record has no answered call,
        # so its activity still cannot be told from w2's.
        config = load_config(path)
        with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
            ledger.repair(1234, ["ann@example.com/w1"], action="mark-sent", who="t", why="seen")
        (item,) = settle(path, emu).campaigns[0].items
        assert (item.key, item.verdict) == ("ann@example.com/w2", "unknown")
        assert "without a call Marketo answered" in item.reason and item.check
        apply(path, emu)
        assert duplicates(emu) == 0


def test_the_command_line_defaults_are_the_library_budget() -> None:
    from mktsync.cli.ledger import settlecmd

    assert ReadBudget() == ReadBudget(
        max_pages=settlecmd.DEFAULT_MAX_PAGES, max_seconds=settlecmd.DEFAULT_MAX_SECONDS
    )
