"""Batch campaigns (``schedules:``): planned like triggers, scheduled once, tokens delivered."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apply_helpers import cli, emulator, rows, write_project
from testing.project import csv_source


def at(hours: float) -> str:
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours)
    return moment.isoformat()


def project(tmp_path: Path, sessions: list[tuple[str, str, str]], retrigger: str = "never") -> Path:
    starts_soon = {
        "campaign_id": 3001,
        "source": "webinars",
        "key": "{{ row.webinar_id }}",
        "run_at": "{{ row.blast_at }}",
        "retrigger": retrigger,
        "tokens": {"my.WebinarTitle": "{{ row.title }}"},
    }
    lines = ["webinar_id,title,blast_at", *(",".join(s) for s in sessions)]
    return write_project(
        tmp_path,
        rows(1),
        sources={"webinars": csv_source("webinars.csv")},
        schedules={"starts-soon": starts_soon},
        files={"webinars.csv": "\n".join(lines) + "\n"},
    )


def test_schedules_are_planned_scheduled_once_with_their_tokens_and_changes_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = at(2), at(26)
    path = project(tmp_path, [("wb-1", "Git for Ops", first), ("wb-2", "Contracts", second)])
    with emulator(path) as emu:
        code, out, err = cli(["plan", str(path)], None, monkeypatch)
        assert code == 0, err
        assert "starts-soon (batch campaign 3001, source webinars)" in out
        assert "+ schedule          2" in out
        assert f"+ wb-1: run at {first}" in out
        assert "2 batch runs to schedule" in out
        code, out, err = cli(["plan", str(path), "--format", "json"], None, monkeypatch)
        plan = json.loads(out)
        assert plan["summary"]["schedule_calls"] == 2
        assert plan["schedules"][0]["send"][0]["tokens"] == {"{{my.WebinarTitle}}": "Git for Ops"}
        code, out, err = cli(["plan", str(path), "--format", "markdown"], None, monkeypatch)
        assert "| `starts-soon` | 3001 | 2 |" in out

        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out + err
        assert "2 batch runs scheduled" in out.splitlines()[-1]
        seen = emu.schedules()
        assert [(s["campaign_id"], s["tokens"]) for s in seen] == [
            (3001, {"{{my.WebinarTitle}}": "Git for Ops"}),
            (3001, {"{{my.WebinarTitle}}": "Contracts"}),
        ]
        assert datetime.fromisoformat(seen[0]["run_at"]) == datetime.fromisoformat(first)

        # Once only: a second apply schedules nothing.
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out + err
        assert len(emu.schedules()) == 2
        code, out, err = cli(["plan", str(path)], None, monkeypatch)
        assert "nothing to do (2 unchanged)" in out

        # A moved run_at is reported, not sent (retrigger: never), with Marketo's limit said.
        moved = at(5)
        (tmp_path / "webinars.csv").write_text(
            f"webinar_id,title,blast_at\nwb-1,Git for Ops,{moved}\nwb-2,Contracts,{second}\n",
            encoding="utf-8",
        )
        code, out, err = cli(["plan", str(path), "--detailed-exitcode"], None, monkeypatch)
        assert code == 0, out + err  # accepted by retrigger: never: apply changes nothing
        assert "≠ changed           1" in out
        assert f"runAt: {first} → {moved}" in out
        assert "Marketo cannot unschedule a batch run through its REST API" in out
        assert f"the run at {first} stays scheduled" in out
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out + err
        assert len(emu.schedules()) == 2
        assert "1 changed batch run not scheduled again" in out.splitlines()[-1]


def test_a_run_at_in_the_past_is_refused_at_plan_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    past = at(-3)
    path = project(tmp_path, [("wb-1", "Git for Ops", past)])
    code, out, err = cli(["plan", str(path)], None, monkeypatch)
    assert code == 1
    assert f"schedules.starts-soon: row 2 of webinars: run_at {past} is in the past" in err
    assert "Traceback" not in err


def test_a_run_at_more_than_two_years_ahead_is_refused_at_plan_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    far = at(24 * 731)
    path = project(tmp_path, [("wb-1", "Git for Ops", far)])
    code, out, err = cli(["plan", str(path)], None, monkeypatch)
    assert code == 1
    assert (
        f"schedules.starts-soon: row 2 of webinars: run_at {far} is more than 2 years ahead" in err
    )


def test_preflight_refuses_a_trigger_campaign_and_schedules_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project(tmp_path, [("wb-1", "Git for Ops", at(2))])
    with emulator(path) as emu:
        world = emu._app.world  # the seed made 3001 a batch campaign; make it a trigger one
        world.campaigns[3001] = dataclasses.replace(world.campaigns[3001], type="trigger")
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 1, out + err
        assert "is a trigger campaign; a schedule needs a batch campaign" in out
        assert emu.schedules() == []
        code, out, err = cli(["plan", str(path)], None, monkeypatch)
        assert "+ schedule          1" in out  # nothing was recorded: it is tried again


def test_preflight_refuses_missing_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = project(tmp_path, [("wb-1", "Git for Ops", at(2))])
    with emulator(path) as emu:
        world = emu._app.world
        program = world.programs[world.campaigns[3001].program_id]
        program.tokens.clear()
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 1, out + err
        assert "has no My Token 'WebinarTitle'" in out
        assert emu.schedules() == []


def test_record_only_covers_schedules_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = project(tmp_path, [("wb-1", "Git for Ops", at(2))])
    with emulator(path) as emu:
        argv = ["apply", str(path), "--record-only", "--why", "scheduled by hand", "--yes"]
        code, out, err = cli(argv, None, monkeypatch)
        assert code == 0, err
        assert "Recorded 2 item(s)" in out  # the one trigger and the one batch run
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out + err
        assert emu.schedules() == [] and emu.triggers() == []


def test_a_saved_plan_schedules_what_it_showed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project(tmp_path, [("wb-1", "Git for Ops", at(2))])
    saved = tmp_path / "plan.json"
    with emulator(path) as emu:
        code, out, err = cli(["plan", str(path), "--out", str(saved)], None, monkeypatch)
        assert code == 0, err
        code, out, err = cli(["apply", str(saved)], emu, monkeypatch)
        assert code == 0, out + err
        assert [s["tokens"] for s in emu.schedules()] == [{"{{my.WebinarTitle}}": "Git for Ops"}]
        code, out, err = cli(["plan", str(path), "--detailed-exitcode"], None, monkeypatch)
        assert code == 0, out + err
