"""apply under Marketo's bad days: expiring tokens, throttling, faults, quota, lost answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_helpers import apply, cli, emulator, rows, statuses, triggered, write_project
from testing.clock import FakeClock

from mktsync.emulator import EmulatorOptions
from mktsync.report.outcome import last_line


def test_token_expiring_mid_run(tmp_path: Path) -> None:
    path = write_project(tmp_path, rows(12, shared_code=False), concurrency=2)
    # Marketo's clock moves on with each call it answers: the token runs out mid-run.
    clock = FakeClock(tick=0.1)
    with emulator(path, EmulatorOptions(token_ttl=1.5), clock=clock) as emu:
        # The client's clock stands still, so it trusts its token until Marketo says 602.
        report = apply(path, emu, client_options={"renew_margin": 0.0, "clock": lambda: 0.0})
        assert report.exit_code == 0
        codes = [c for e in emu.journal() for c in e.get("codes", [])]
        assert "602" in codes or "601" in codes  # the token did expire under us
        assert report.stats["token_renewals"] >= 2
        assert max(triggered(emu).values()) == 1
        assert sum(triggered(emu).values()) == 12


@pytest.mark.parametrize("fault", ["606", "615", "604", "608", "713", "502", "html500"])
def test_retryable_faults_are_retried(tmp_path: Path, fault: str) -> None:
    path = write_project(tmp_path, rows(4, shared_code=False))
    with emulator(path) as emu:
        emu.script_fault("trigger", 2, fault)
        report = apply(path, emu)
        assert report.exit_code == 0, report.campaigns[0].failures
        assert report.stats["retries"], "the fault must have been retried"
        assert sorted(triggered(emu).values()) == [1, 1, 1, 1]
    assert statuses(path) == {"sent": 4}


def test_611_is_a_failure_tried_again_next_run(tmp_path: Path) -> None:
    path = write_project(tmp_path, rows(3, shared_code=False))
    with emulator(path) as emu:
        emu.script_fault("trigger", 1, "611")
        report = apply(path, emu)
        assert report.exit_code == 3
        assert statuses(path) == {"sent": 2, "failed": 1}
        report = apply(path, emu)
        assert report.exit_code == 0
        assert report.counts()["leads_triggered"] == 1
        assert sorted(triggered(emu).values()) == [1, 1, 1]


def test_lost_answer_is_unknown_and_never_resent_unless_asked(tmp_path: Path) -> None:
    path = write_project(tmp_path, rows(3, shared_code=False), concurrency=1)
    with emulator(path) as emu:
        emu.script_fault("trigger", 2, "lost")  # applied by Marketo, answer lost
        report = apply(path, emu)
        assert report.exit_code == 3
        assert report.counts()["leads_unknown"] == 1
        assert sorted(triggered(emu).values()) == [1, 1, 1]  # Marketo did trigger all three
        assert statuses(path) == {"sent": 2, "unknown": 1}
        again = apply(path, emu)
        assert again.counts()["calls_sent"] == 0
        assert again.plan.summary.unknown == 1
        # Still not settled: the rerun may not claim the ledger holds everything.
        assert again.exit_code == 3
        assert last_line(again) == (
            "Not everything was sent: 0 leads sent in 0 calls, 1 item still unknown from an "
            "earlier run; settle them with 'mktsync ledger settle' (or resend them with "
            "--retry-unknown once you know Marketo did not carry the earlier calls out)."
        )
        assert sorted(triggered(emu).values()) == [1, 1, 1]  # not sent twice
        retried = apply(path, emu, retry_unknown=True)
        assert retried.counts()["leads_triggered"] == 1
    assert statuses(path) == {"sent": 3}


def test_connection_reset_after_sending_is_unknown_not_retried(tmp_path: Path) -> None:
    # A reset after the request left cannot tell whether Marketo carried it out: a trigger
    # is not resent blindly (here the emulator had not applied it, so nothing was sent).
    path = write_project(tmp_path, rows(2, shared_code=False), concurrency=1)
    with emulator(path) as emu:
        emu.script_fault("trigger", 1, "reset")
        report = apply(path, emu)
        assert report.exit_code == 3
        assert sum(triggered(emu).values()) == 1
        assert statuses(path) == {"sent": 1, "unknown": 1}
        apply(path, emu, retry_unknown=True)
        assert sorted(triggered(emu).values()) == [1, 1]


def test_daily_quota_stops_cleanly_and_the_next_run_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(20, shared_code=False), concurrency=1)
    # 1 usage read + 2 preflight + 1 lookup + 4 triggers fit in a quota of 8.
    with emulator(path, EmulatorOptions(daily_quota=8)) as emu:
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 4, out + err
        assert "daily quota" in out
        first = triggered(emu)
    assert sum(first.values()) == 4
    assert statuses(path)["sent"] == 4
    with emulator(path) as emu2:  # the next day
        code, out, err = cli(["apply", str(path), "--yes"], emu2, monkeypatch)
        assert code == 0, out + err
        second = triggered(emu2)
    assert sum(second.values()) == 16
    assert not set(first) & set(second)  # nobody twice
    assert statuses(path) == {"sent": 20}


def test_saved_plan_applies_and_then_is_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(3))
    saved = tmp_path / "plan.json"
    assert cli(["plan", str(path), "--out", str(saved)], None, monkeypatch)[0] == 0
    with emulator(path) as emu:
        with open(tmp_path / "regs.csv", "a", encoding="utf-8") as f:
            f.write("late@example.com,w1,c\n")
        code, out, err = cli(
            ["apply", str(saved), "--yes", "--config", str(path)], emu, monkeypatch
        )
        assert code == 0, err
        assert sum(triggered(emu).values()) == 3  # exactly the plan: not the late row
        code, out, err = cli(
            ["apply", str(saved), "--yes", "--config", str(path)], emu, monkeypatch
        )
        assert code == 1
        assert "the ledger changed since the plan was made" in err
        assert sum(triggered(emu).values()) == 3


def test_saved_plan_refused_when_config_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(3))
    saved = tmp_path / "plan.json"
    assert cli(["plan", str(path), "--out", str(saved)], None, monkeypatch)[0] == 0
    path.write_text(path.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    with emulator(path) as emu:
        code, out, err = cli(
            ["apply", str(saved), "--yes", "--config", str(path)], emu, monkeypatch
        )
        assert code == 1
        assert "campaigns.yaml changed since the plan was made" in err
        assert emu.triggers() == []


def test_quota_spent_before_the_first_trigger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(3))
    with emulator(path, EmulatorOptions(daily_quota=2)) as emu:  # preflight takes both calls
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 4, out + err
        assert emu.triggers() == []
        assert "3 not attempted" in out
    assert statuses(path) == {}
