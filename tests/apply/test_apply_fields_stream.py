"""Lead fields stream (issue 16): the values written this run are remembered off-heap, so
a lead met again 400 items later is still checked against its first value."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_helpers import cli, emulator, rows, statuses, triggered
from test_apply_fields import links, project

from mktsync.emulator import Emulator


def test_a_lead_met_again_past_a_batch_keeps_one_value_per_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = [
        *rows(400, shared_code=False),  # webinar w1: four trigger calls, two field batches
        {"email": "user0@example.com", "webinar": "w2", "code": "z"},  # another value
        {"email": "user1@example.com", "webinar": "w3", "code": "c1"},  # the same value
    ]
    path = project(tmp_path, data)
    with emulator(path) as emu:
        code, out, _ = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code != 0
        assert "of this lead is written with another value for row 2 in this run" in out
        assert links(emu)["user0@example.com"] == "https://j.example.com/c0"
        assert statuses(path) == {"sent": 401, "failed": 1}
        assert triggered(emu)[(1234, _id(emu, "user1@example.com"))] == 2  # w1 and w3
        code, out, _ = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out
        assert links(emu)["user0@example.com"] == "https://j.example.com/z"


def _id(emu: Emulator, email: str) -> int:
    return int(next(lead["id"] for lead in emu.leads() if lead["email"] == email))
