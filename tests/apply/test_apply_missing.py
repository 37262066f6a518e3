"""Leads Marketo does not know are an outcome: listed, exit 3 (or a warning with skip), retried."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_helpers import cli, emulator, rows, statuses, triggered, write_project

from mktsync.config.model import Limits
from mktsync.marketo import MarketoClient

NEW = {"email": "new@example.com", "webinar": "w1", "code": "c"}


def test_missing_lead_exits_3_is_not_marked_and_is_sent_once_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(3))
    with emulator(path) as emu:  # seeded with the three known leads only
        write_project(tmp_path, [*rows(3), NEW])
        code, out, _ = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 3
        assert (
            "? missing lead: regs row 5: new@example.com (no Marketo lead with this email)" in out
        )
        last = out.rstrip().splitlines()[-1]
        assert last.startswith("Not everything was sent: 3 leads sent in 1 call, 1 missing lead;")
        assert "Everything planned was sent" not in out
        assert statuses(path) == {"sent": 3}  # nothing recorded for the missing lead

        # The plan now forecasts it from the ledger's cache of emails not found.
        code, out, _ = cli(["plan", str(path)], None, monkeypatch)
        assert "1 email to look up was not found in Marketo at the last run" in out

        # Once the lead exists in Marketo, the next run sends it, and nothing twice.
        with MarketoClient(
            emu.base_url, emu.client_id, emu.client_secret, limits=Limits()
        ) as client:
            client.create_leads([{"email": "new@example.com"}])
        code, out, _ = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out
        assert out.rstrip().endswith("Everything planned was sent: 1 lead sent in 1 call.")
        assert statuses(path) == {"sent": 4}
        assert sorted(triggered(emu).values()) == [1, 1, 1, 1]


def test_missing_leads_skip_exits_0_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(2), extra="    missing_leads: skip\n")
    with emulator(path) as emu:
        write_project(tmp_path, [*rows(2), NEW], extra="    missing_leads: skip\n")
        code, out, _ = cli(["apply", str(path), "--yes", "--format", "text"], emu, monkeypatch)
        assert code == 0
        lines = out.rstrip().splitlines()
        assert lines[-2].startswith("warning: 1 missing lead skipped (missing_leads: skip)")
        assert lines[-1] == (
            "Not everything was sent: 2 leads sent in 1 call, 1 missing lead skipped; "
            "they are tried again next run."
        )
        code, out, _ = cli(["apply", str(path), "--yes", "--format", "json"], emu, monkeypatch)
        import json

        data = json.loads(out)
        assert data["campaigns"][0]["missing"][0]["row"] == 4
        assert data["campaigns"][0]["missing_leads"] == "skip"
