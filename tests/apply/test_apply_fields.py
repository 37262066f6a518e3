"""Lead fields (issue 15) against the emulator over a socket: written 300 leads a call
before the triggers, not re-sent when unchanged, refused at preflight when unknown."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from apply_helpers import (
    REMINDER,
    apply,
    cli,
    emulator,
    rows,
    statuses,
    triggered,
    write_project,
)

from mktsync.emulator import Emulator


def project(tmp_path: Path, data: list[dict[str, str]]) -> Path:
    """The helpers' project with the per-lead link as a lead field instead of a My Token."""
    reminder = {
        **REMINDER,
        "tokens": {"my.Webinar": "{{ row.webinar }}"},
        "fields": {"webinarJoinLink": "https://j.example.com/{{ row.code }}"},
    }
    return write_project(tmp_path, data, campaigns={"reminder": reminder})


def endpoints(emu: Emulator) -> Counter[str]:
    return Counter(str(e.get("endpoint")) for e in emu.journal())


def links(emu: Emulator) -> dict[str, str | None]:
    return {lead["email"]: lead.get("webinarJoinLink") for lead in emu.leads()}


def test_fields_go_first_then_shared_triggers_and_unchanged_are_not_resent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = rows(250, shared_code=False)
    path = project(tmp_path, data)
    code, out, _ = cli(["plan", str(path)], None, monkeypatch)
    assert "sync fields: 250 leads in 1 call" in out
    assert "3 trigger calls" in out
    assert "1 field sync call" in out  # the 250 leads' fields: 1 call; describe: counted too
    with emulator(path) as emu:
        code, out, _ = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out
        calls = endpoints(emu)
        assert calls["leads_sync"] == 1 and calls["trigger"] == 3
        assert calls["leads_describe2"] == 1
        assert links(emu)["user7@example.com"] == "https://j.example.com/c7"
        assert sorted(set(triggered(emu).values())) == [1]
        assert all(not dict(t["tokens"]).get("{{my.Link}}") for t in emu.triggers())

        # A rerun: every field is what the ledger last wrote -> nothing sent at all.
        before = endpoints(emu)
        code, out, _ = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out
        assert endpoints(emu)["leads_sync"] == before["leads_sync"]
        assert endpoints(emu)["trigger"] == before["trigger"]

        # One link changes (tokens do not): the field is written again and, under
        # retrigger: on_change, that one lead is triggered again.
        data[7]["code"] = "new7"
        project(tmp_path, data)
        code, out, _ = cli(["plan", str(path)], None, monkeypatch)
        assert "~ retrigger         1" in out and "sync fields: 1 lead in 1 call" in out
        assert "lead.webinarJoinLink: https://j.example.com/c7 → https://j.example.com/new7" in out
        code, out, _ = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out
        assert links(emu)["user7@example.com"] == "https://j.example.com/new7"
        assert endpoints(emu)["leads_sync"] == before["leads_sync"] + 1
        counts = triggered(emu)
        assert sum(counts.values()) == 251 and max(counts.values()) == 2


def test_unknown_field_is_refused_at_preflight_with_the_closest_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project(tmp_path, rows(3, shared_code=False))
    seeded = [{"name": "webinarJoinLinks", "dataType": "url"}]
    with emulator(path, lead_fields=seeded) as emu:
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code != 0
        text = out + err
        assert "Marketo has no lead field with API name 'webinarJoinLink'" in text
        assert "closest: webinarJoinLinks" in text
        assert "campaigns.yaml:" in text
        assert emu.triggers() == [] and endpoints(emu)["leads_sync"] == 0


def test_a_skipped_record_fails_its_item_and_is_not_triggered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = rows(3, shared_code=False)
    data[1]["code"] = "x" * 40  # longer than the field's 30 characters
    path = project(tmp_path, data)
    seeded = [{"name": "webinarJoinLink", "dataType": "string", "length": 30}]
    with emulator(path, lead_fields=seeded) as emu:
        code, out, _ = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code != 0
        assert "1003: lead field not written: Invalid value for field 'webinarJoinLink'" in out
        ids = {lead["email"]: lead["id"] for lead in emu.leads()}
        assert (1234, ids["user1@example.com"]) not in triggered(emu)
        assert len(triggered(emu)) == 2
        assert statuses(path) == {"sent": 2, "failed": 1}
        # Fixed in the data, the next run writes and triggers it; the others are not resent.
        data[1]["code"] = "c1"
        project(tmp_path, data)
        code, out, _ = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out
        assert sorted(triggered(emu).values()) == [1, 1, 1]


def test_a_field_call_that_keeps_failing_triggers_none_of_its_leads(tmp_path: Path) -> None:
    # updateOnly by id is safe to resend, so a passing 611 or a lost answer is retried;
    # when every attempt fails, none of the call's leads may be triggered with a link that
    # is not there, and the next run writes and triggers them.
    path = project(tmp_path, rows(3, shared_code=False))
    with emulator(path) as emu:
        for nth in range(1, 7):  # every attempt fast_retry makes
            emu.script_fault("leads_sync", nth, "611")
        report = apply(path, emu)
        assert report.exit_code == 3
        assert emu.triggers() == []
        assert statuses(path) == {"failed": 3}
        again = apply(path, emu)
        assert again.exit_code == 0
        assert sorted(triggered(emu).values()) == [1, 1, 1]
        assert links(emu)["user0@example.com"] == "https://j.example.com/c0"


KILL_AFTER_FIELDS = """
import os, signal, sys
from mktsync.apply import ApplyOptions, apply_config
from mktsync.config import load_config
from mktsync.ledger import open_ledger
from mktsync.marketo import MarketoClient

def on_event(event):
    if event["event"] == "fields":  # the fields are written, no trigger has started
        os.kill(os.getpid(), signal.SIGKILL)

config = load_config(sys.argv[1])
with open_ledger(config.ledger.resolve(), config.base_dir) as ledger, MarketoClient(
    sys.argv[2], sys.argv[3], sys.argv[4], limits=config.marketo.limits
) as client:
    apply_config(config, ledger, client, ApplyOptions(on_event=on_event))
"""


def test_kill_9_between_the_field_step_and_the_triggers_then_rerun(tmp_path: Path) -> None:
    import subprocess
    import sys

    from apply_helpers import apply

    path = project(tmp_path, rows(30, shared_code=False))
    with emulator(path) as emu:
        args = [str(path), emu.base_url, emu.client_id, emu.client_secret]
        proc = subprocess.run(
            [sys.executable, "-c", KILL_AFTER_FIELDS, *args], capture_output=True, timeout=60
        )
        assert proc.returncode == -9, proc.stderr.decode()
        assert endpoints(emu)["leads_sync"] == 1 and emu.triggers() == []
        assert links(emu)["user3@example.com"] == "https://j.example.com/c3"
        assert statuses(path) == Counter()  # nothing recorded: the items are still new

        report = apply(path, emu)
        assert report.exit_code == 0
        assert endpoints(emu)["leads_sync"] == 2  # written again (idempotent), then triggered
        counts = triggered(emu)
        assert len(counts) == 30 and set(counts.values()) == {1}  # nothing lost, none twice
        assert statuses(path) == {"sent": 30}


def test_the_plan_advises_a_lead_field_for_a_token_that_differs_for_every_lead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(1110, shared_code=False))
    code, out, _ = cli(["plan", str(path)], None, monkeypatch)
    assert (
        "advice: my.Link differs for every lead of 'reminder': as a lead field (fields:),"
        " 1,110 leads would cost 4 + 12 calls instead of 1,110" in out
    )
    shared = write_project(tmp_path, rows(150))  # one token set: no advice
    code, out, _ = cli(["plan", str(shared)], None, monkeypatch)
    assert "advice:" not in out


def test_two_rows_of_one_lead_with_different_values_go_in_two_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = [
        *rows(2, shared_code=False),
        {"email": "user0@example.com", "webinar": "w2", "code": "z"},
    ]
    path = project(tmp_path, data)
    with emulator(path) as emu:
        code, out, _ = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        # Deferred by the plan (issue 22): not a failure, not marked, named in the report.
        assert code == 0, out
        assert "regs row 4 goes after regs row 2 (differs: webinarJoinLink" in out
        assert "1 row deferred to the next run" in out.splitlines()[-1]
        assert links(emu)["user0@example.com"] == "https://j.example.com/c0"
        assert statuses(path) == {"sent": 2}
        code, out, _ = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out
        assert links(emu)["user0@example.com"] == "https://j.example.com/z"
        assert sorted(triggered(emu).values()) == [1, 2]  # user0: once per webinar
