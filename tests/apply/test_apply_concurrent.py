"""Two applies at once on one shared ledger: the run lock makes them take turns, so no
item is sent twice (CI runners sharing a PostgreSQL ledger rely on this)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from apply_helpers import emulator, rows, triggered, write_project

from mktsync.emulator import EmulatorOptions

ROWS = 30


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/shared/ledger.db"
    return str(request.getfixturevalue("postgres_database"))


def test_two_concurrent_applies_never_send_an_item_twice(
    tmp_path: Path, shared_ledger: str
) -> None:
    path = write_project(tmp_path, rows(ROWS, shared_code=False), concurrency=2)
    with emulator(path, EmulatorOptions(latency=(0.02, 0.04))) as emu:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MARKETO_")},
            "MARKETO_BASE_URL": emu.base_url,
            "MARKETO_CLIENT_ID": emu.client_id,
            "MARKETO_CLIENT_SECRET": emu.client_secret,
        }
        argv = [
            sys.executable,
            "-m",
            "mktsync",
            "apply",
            str(path),
            "--yes",
            "--ledger",
            shared_ledger,
            "--lock-timeout",
            "60",
            "--format",
            "json",
        ]
        procs = [
            subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        results = [p.communicate(timeout=120) for p in procs]
        codes = [p.returncode for p in procs]
        counts = triggered(emu)
    assert codes == [0, 0], [err.decode() for _, err in results]
    assert sum(counts.values()) == ROWS
    assert max(counts.values()) == 1
    sent = sorted(json.loads(out)["totals"]["leads_triggered"] for out, _ in results)
    assert sent == [0, ROWS]  # one run sent everything, the other found nothing left
