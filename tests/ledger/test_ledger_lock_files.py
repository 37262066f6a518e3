"""The run lock leaves no file behind: one run's lock file goes with it, and empty ones of
ledger files since replaced are cleaned; a held or a dead run's lock file is kept.

Real processes (``python -m mktsync``, a holder in a subprocess), real SQLite files.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from testing.project import (
    LEAD_BY_EMAIL,
    MARKETO_FROM_ENV,
    csv_source,
    write_file,
    write_project,
)
from testing.seed import serve_project

from mktsync.ledger import open_ledger
from mktsync.ledger.sqlite import lock_path_of


def locks(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(".mktsync-ledger-*.lock"))


def mktsync(repo: Path, *argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mktsync", *argv],
        cwd=repo,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_runs_leave_no_lock_files(tmp_path: Path) -> None:
    """Applies, plans, and applies after the ledger was replaced: no lock file remains."""
    write_file(tmp_path / "regs.csv", "email\nann@example.com\nbob@example.com\n")
    config = write_project(
        tmp_path,
        sources={"regs": csv_source("regs.csv")},
        campaigns={"reminder": {"campaign_id": 1234, "source": "regs", "lead": LEAD_BY_EMAIL}},
        ledger="sqlite:///.mktsync/ledger.db",
        marketo=MARKETO_FROM_ENV,
    )
    folder = tmp_path / ".mktsync"
    with serve_project(config) as emu:
        env = {
            "MARKETO_BASE_URL": emu.base_url,
            "MARKETO_CLIENT_ID": emu.client_id,
            "MARKETO_CLIENT_SECRET": emu.client_secret,
        }
        for run in range(4):
            if run == 2:  # a fresh ledger file (a restore, a test's reset): a new inode
                for db in folder.glob("ledger.db*"):
                    db.unlink()
            applied = mktsync(tmp_path, "apply", "--yes", env=env)
            assert applied.returncode == 0, applied.stderr
            assert mktsync(tmp_path, "plan", env=env).returncode == 0
            assert locks(folder) == []


HOLD = """
import sys, time
from pathlib import Path
from mktsync.ledger import open_ledger
with open_ledger(sys.argv[1], Path(sys.argv[2])) as ledger, ledger.lock(command="apply", timeout=5):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_held_lock_and_a_dead_runs_lock_are_kept(tmp_path: Path) -> None:
    url = "sqlite:///one.db"
    with open_ledger(url, tmp_path):
        pass
    other = "sqlite:///two.db"
    with open_ledger(other, tmp_path):
        pass
    held = lock_path_of(tmp_path / "one.db")
    dead = tmp_path / ".mktsync-ledger-1-2.lock"  # a killed run's: its intent is kept
    dead.write_text('{"run": "9f2c", "commit": 3}\n', encoding="utf-8")
    stale = tmp_path / ".mktsync-ledger-1-3.lock"  # a replaced ledger's, ended cleanly
    stale.write_bytes(b"")
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, url, str(tmp_path)], stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "held\n"
            with open_ledger(other, tmp_path) as ledger, ledger.lock(command="apply", timeout=5):
                pass  # a run of the other ledger, ending: cleans what nobody holds
            assert held.exists() and dead.exists() and not stale.exists()
            fd = os.open(held, os.O_RDONLY)
            try:  # still the holder's file, still held
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    raise AssertionError("the holder's lock was taken")
                except BlockingIOError:
                    pass
            finally:
                os.close(fd)
        finally:
            holder.kill()
    assert locks(tmp_path) == sorted([held.name, dead.name])
