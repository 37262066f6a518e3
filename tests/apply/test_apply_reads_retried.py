"""Calls that only read are retried on every transient code, 611 included, so one passing
fault no longer ends a run; a lost lead-create answer is settled by looking the leads up."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_helpers import apply, emulator, rows, statuses, triggered, write_project


def test_611_on_lookup_and_preflight_is_retried_and_the_run_succeeds(tmp_path: Path) -> None:
    path = write_project(tmp_path, rows(5, shared_code=False))
    with emulator(path) as emu:
        for endpoint in ("smart_campaign", "tokens_get", "leads_get"):
            emu.script_fault(endpoint, 1, "611")
        report = apply(path, emu)
        assert report.exit_code == 0, report.campaigns[0].failures
        assert report.stats["retries"].get("611") == 3
        faulted = [e["endpoint"] for e in emu.journal() if e.get("fault") == "611"]
        assert sorted(faulted) == ["leads_get", "smart_campaign", "tokens_get"]
        assert sorted(triggered(emu).values()) == [1] * 5
    assert statuses(path) == {"sent": 5}


@pytest.mark.parametrize(
    ("endpoint", "fault"),
    [
        *(("leads_get", f) for f in ("604", "608", "713", "502", "html500", "reset", "lost")),
        ("identity", "lost"),  # the connection dropped after the token request left
        ("identity", "502"),
        ("tokens_get", "lost"),
    ],
)
def test_every_transient_fault_on_a_read_is_retried(
    tmp_path: Path, endpoint: str, fault: str
) -> None:
    path = write_project(tmp_path, rows(3, shared_code=False))
    with emulator(path) as emu:
        emu.script_fault(endpoint, 1, fault)
        report = apply(path, emu)
        assert report.exit_code == 0, report.campaigns[0].failures
        assert [e["fault"] for e in emu.journal() if e.get("fault")] == [fault]
        assert sorted(triggered(emu).values()) == [1] * 3


def test_a_lost_answer_to_creating_leads_is_settled_by_looking_them_up(tmp_path: Path) -> None:
    path = write_project(tmp_path, rows(2))
    new = [{"email": f"new{i}@example.com", "webinar": "w1", "code": "c"} for i in range(2)]
    with emulator(path) as emu:
        write_project(tmp_path, [*rows(2), *new], extra="    create_missing: true\n")
        emu.script_fault("leads_sync", 1, "lost")  # Marketo created them; the answer is lost
        report = apply(path, emu)
        assert report.exit_code == 0, report.campaigns[0].lead_problems
        assert report.created_leads == 2
        created = [lead for lead in emu.leads() if str(lead.get("email")).startswith("new")]
        assert len(created) == 2  # looked up, not created twice
        assert sorted(triggered(emu).values()) == [1] * 4
