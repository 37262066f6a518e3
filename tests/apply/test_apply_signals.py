"""SIGTERM and SIGHUP stop a real run in order; a second signal aborts at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apply_helpers import apply, emulator, rows, statuses, triggered, write_project

from mktsync.emulator import Emulator, EmulatorOptions

ROWS = 40


def start_apply(path: Path, emu: Emulator) -> subprocess.Popen[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MARKETO_")},
        "MARKETO_BASE_URL": emu.base_url,
        "MARKETO_CLIENT_ID": emu.client_id,
        "MARKETO_CLIENT_SECRET": emu.client_secret,
    }
    env.pop("CI", None)
    return subprocess.Popen(
        [sys.executable, "-m", "mktsync", "apply", str(path), "--yes"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(proc: subprocess.Popen[str], emu: Emulator, triggers: int) -> None:
    """Until the run is under way: its lookup for 0, else ``triggers`` trigger calls."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        journal = emu.journal()
        if not triggers and any(e.get("endpoint") == "leads_get" for e in journal):
            return
        if triggers and sum(e.get("endpoint") == "trigger" for e in journal) >= triggers:
            return
        time.sleep(0.01)
    raise AssertionError("the run ended before it could be stopped")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signame", "after", "code"),
    [("SIGTERM", 0, 143), ("SIGTERM", 3, 143), ("SIGTERM", 17, 143), ("SIGHUP", 5, 129)],
)
def test_signal_stops_in_order_then_rerun_sends_the_rest(
    tmp_path: Path, signame: str, after: int, code: int
) -> None:
    path = write_project(tmp_path, rows(ROWS, shared_code=False), concurrency=3)
    with emulator(path, EmulatorOptions(latency=(0.08, 0.12))) as emu:
        proc = start_apply(path, emu)
        wait_for(proc, emu, after)
        proc.send_signal(getattr(signal, signame))
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == code, err
        assert f"{signame}: stopping: no new calls" in err
        last = out.rstrip().splitlines()[-1]
        assert last.startswith(f"Stopped by {signame}: ")
        assert "not attempted; the next run sends the rest." in last
        # Calls in flight finished and were recorded: nothing pending, nothing unknown.
        after_stop = statuses(path)
        assert set(after_stop) <= {"sent"}
        assert after_stop["sent"] == sum(triggered(emu).values())
        assert sum(triggered(emu).values()) < ROWS

        report = apply(path, emu)
        assert report.exit_code == 0
    assert statuses(path) == {"sent": ROWS}  # nothing lost
    assert set(triggered(emu).values()) == {1}  # nothing twice
    assert len(triggered(emu)) == ROWS


@pytest.mark.slow
def test_second_signal_aborts_at_once(tmp_path: Path) -> None:
    n = 9
    path = write_project(tmp_path, rows(n, shared_code=False), concurrency=3)
    # 1.2 s a call: the second signal must land while calls are surely still in flight,
    # even on a loaded CI machine (0.6 s was not always enough).
    with emulator(path, EmulatorOptions(latency=(1.2, 1.2))) as emu:
        proc = start_apply(path, emu)
        # The journal records a call when it ends: after the first three, the next three
        # start at once and stay in flight for 1.2 s.
        wait_for(proc, emu, 3)
        # On a loaded machine the next calls may not have started yet: a first signal with
        # nothing in flight ends the run before the second can land.
        deadline = time.monotonic() + 10
        while emu.stats()["in_flight"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert emu.stats()["in_flight"] > 0
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 143
        assert "SIGTERM again: aborting now" in err
        # It did not wait: the calls in flight are still pending in the ledger. The next run
        # reports them unknown (never resent blindly) and sends the rest.
        assert "pending" in statuses(path)
        emu.set_latency(0.0)
        report = apply(path, emu)
    final = statuses(path)
    assert "pending" not in final and final["unknown"] >= 1
    assert sum(final.values()) == n
    assert report.counts()["leads_unknown"] == 0, report.campaigns[0].failures
    assert max(triggered(emu).values()) == 1
