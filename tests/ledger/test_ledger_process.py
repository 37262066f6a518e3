"""The run lock across processes: a holder killed with SIGKILL releases it, and the
next run turns the dead run's ``pending`` records into ``unknown``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mktsync.errors import LedgerLocked
from mktsync.ledger import Ledger

HOLDER = """
import sys, time
from pathlib import Path
from mktsync.items import Item
from mktsync.ledger import open_ledger

ledger = open_ledger(sys.argv[1], Path(sys.argv[2]))
with ledger.lock(command="apply", timeout=5):
    run = ledger.start_run(command="apply")
    item = Item(campaign="c", campaign_id=1234, key="ann@example.com/w1", lead_id=None,
                email="ann@example.com", tokens=(), source="s", row=1)
    ledger.mark_pending(run, [item])
    print(run, flush=True)
    time.sleep(120)  # "in flight" until killed
"""


def test_a_killed_holder_releases_the_lock_and_its_pending_become_unknown(
    ledger_url: str, tmp_path: Path, open_: Callable[..., Ledger]
) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, ledger_url, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout is not None
            run = int(holder.stdout.readline())
            ledger = open_()
            expected = rf"locked by pid {holder.pid} \(.+@.+\) running 'apply' since 20"
            with (
                pytest.raises(LedgerLocked, match=expected),
                ledger.lock(command="apply", timeout=0.3),
            ):
                pass  # pragma: no cover
        finally:
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(30)
    assert holder.returncode == -signal.SIGKILL
    with ledger.lock(command="apply", timeout=30) as recovered:
        assert recovered == 1
    rec = ledger.lookup(1234, ["ann@example.com/w1"])["ann@example.com/w1"]
    assert rec.status == "unknown"
    assert rec.error_message == f"run {run} ended while the call was in flight"
    assert rec.attempts == 1
