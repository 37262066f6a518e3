"""kill -9 at several points of a run, then run again: nobody is triggered twice, nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from apply_helpers import apply, emulator, rows, statuses, triggered, write_project

from mktsync.config import load_config
from mktsync.emulator import EmulatorOptions
from mktsync.ledger import open_ledger

ROWS = 40


def start_apply(path: Path, base_url: str, client_id: str, secret: str) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MARKETO_")},
        "MARKETO_BASE_URL": base_url,
        "MARKETO_CLIENT_ID": client_id,
        "MARKETO_CLIENT_SECRET": secret,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "mktsync", "apply", str(path), "--yes"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [0, 3, 17])
def test_kill_9_then_rerun(tmp_path: Path, kill_after: int) -> None:
    path = write_project(tmp_path, rows(ROWS, shared_code=False), concurrency=3)
    with emulator(path, EmulatorOptions(latency=(0.08, 0.12))) as emu:
        proc = start_apply(path, emu.base_url, emu.client_id, emu.client_secret)
        deadline = time.monotonic() + 30
        # Wait until the run is under way: the lookup for kill_after=0, else N triggers.
        while time.monotonic() < deadline and proc.poll() is None:
            journal = emu.journal()
            if kill_after == 0 and any(e.get("endpoint") == "leads_get" for e in journal):
                break
            if kill_after and sum(e.get("endpoint") == "trigger" for e in journal) >= kill_after:
                break
            time.sleep(0.01)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

        after_kill = statuses(path)
        # The next run recovers: pending records of the dead run become unknown, the rest is sent.
        report = apply(path, emu)
        final = statuses(path)
        counts = triggered(emu)

    assert set(after_kill) <= {"pending", "sent"}
    assert "pending" not in final
    assert sum(final.values()) == ROWS  # every row is accounted for: sent or unknown
    assert set(final) <= {"sent", "unknown"}
    assert max(counts.values()) == 1  # never twice
    assert final["sent"] <= sum(counts.values()) <= ROWS
    assert report.counts()["leads_unknown"] == 0  # the rerun itself lost nothing
    config = load_config(path)
    with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
        unknown = [r for r in ledger.iter_records() if r.status == "unknown"]
    assert len(unknown) == final.get("unknown", 0)
    assert all("ended while the call was in flight" in (r.error_message or "") for r in unknown)
