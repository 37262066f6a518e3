"""Lead fields stream (issue 16): the values written this run are remembered off-heap, so
a lead met again 400 items later is still checked against its first value."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from apply_helpers import cli, emulator, rows, statuses, triggered, write_project
from test_apply_fields import links, project
from testing.project import csv_source
from testing.seed import lead

from mktsync.emulator import Emulator


def test_a_lead_met_again_past_a_batch_keeps_one_value_per_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan defers a second row of a lead it knows by the same email (issue 22); the
    same lead named once by email and once by id is apply's to find, 400 items later."""
    data = [
        *rows(400, shared_code=False),  # webinar w1: four trigger calls, two field batches
        {"email": "user1@example.com", "webinar": "w3", "code": "c1"},  # the same value
    ]
    path = project(tmp_path, data)
    by_id = {  # user0 again, by its lead id, with another link: the plan cannot tell
        "campaign_id": 1234,
        "source": "ids",
        "lead": {"id": "{{ row.id }}"},
        "key": "id:{{ row.id }}/{{ row.webinar }}",
        "tokens": {"my.Webinar": "{{ row.webinar }}"},
        "fields": {"webinarJoinLink": "https://j.example.com/{{ row.code }}"},
    }
    reminder = yaml.safe_load(path.read_text(encoding="utf-8"))["campaigns"]["reminder"]
    write_project(
        tmp_path,
        data,
        sources={"ids": csv_source("ids.csv")},
        campaigns={"reminder": reminder, "by-id": by_id},
        files={"ids.csv": "id,webinar,code\n1000,w2,z\n"},
    )
    leads = [lead(1000 + i, f"user{i}@example.com") for i in range(400)]
    with emulator(path, leads=leads) as emu:
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out + err  # deferred, not failed
        assert "id:1000/w2: ids row 2 goes after regs row 2 (differs: webinarJoinLink)" in out
        assert "1 row deferred to the next run" in out.splitlines()[-1]
        assert links(emu)["user0@example.com"] == "https://j.example.com/c0"
        assert statuses(path) == {"sent": 401}  # the deferred item is not marked
        assert triggered(emu)[(1234, _id(emu, "user1@example.com"))] == 2  # w1 and w3
        code, out, _ = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out
        assert links(emu)["user0@example.com"] == "https://j.example.com/z"
        assert statuses(path) == {"sent": 402}
        assert triggered(emu)[(1234, 1000)] == 2  # once per run: w1, then w2


def _id(emu: Emulator, email: str) -> int:
    return int(next(lead["id"] for lead in emu.leads() if lead["email"] == email))
