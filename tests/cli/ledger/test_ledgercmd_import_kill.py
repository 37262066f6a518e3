"""``ledger import`` killed with SIGKILL at random moments: no record, the ledger intact.

A real ``python -m mktsync ledger import`` of 60,000 rows runs with stderr on a
terminal, so its progress line says where it is; each round picks a phase (reading the
file, checking the keys, recording) and a point in it at random, kills the process there
with SIGKILL, and then finds the ledger as it was: the same records, the same
fingerprint, ``PRAGMA integrity_check`` ok.  A last import, not killed, records every key.
"""

from __future__ import annotations

import os
import pty
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ledgercmd_testing import snapshot
from testing.project import LEAD_BY_EMAIL, Flow, csv_source, write_project

from mktsync.cli import main

ROWS = 60_000
ROUNDS = 8
PHASES = {"read": "reading sent.csv: ", "check": "checking the keys: ", "record": "recording: "}


def project(folder: Path) -> None:
    reminder = {
        "campaign_id": 1234,
        "source": "regs",
        "lead": LEAD_BY_EMAIL,
        "tokens": Flow({"my.Title": "Webinar {{ row.n }}"}),
    }
    write_project(
        folder,
        ledger="sqlite:///state/ledger.db",
        sources={"regs": csv_source("regs.csv")},
        campaigns={"reminder": reminder},
    )
    with (folder / "regs.csv").open("w", encoding="utf-8") as regs:
        regs.write("email,n\n")
        regs.writelines(f"lead{i}@example.com,{i % 7}\n" for i in range(ROWS))
    with (folder / "sent.csv").open("w", encoding="utf-8") as sent:
        sent.write("key,sent_at,my.Title\n")
        sent.writelines(
            f"lead{i}@example.com,2026-11-0{1 + i % 9}T10:00:00Z,Old title {i % 3}\n"
            for i in range(ROWS)
        )
    (folder / "first.csv").write_text("key\nlead7@example.com\nlead8@example.com\n")


def done_of(update: str, phase: str) -> int:
    """How far a progress update says the phase is (``20,000 rows`` -> 20000)."""
    numbers = re.findall(r"[\d,]+\d", update[len(PHASES[phase]) :])
    return int(numbers[0].replace(",", "")) if numbers else 0


def import_killed_at(folder: Path, phase: str, at: int) -> tuple[str, int | None]:
    """Start the import; SIGKILL it once its progress shows ``phase`` at ``at`` or later.
    Returns the last progress update seen and the exit status (None if it was killed)."""
    argv = [sys.executable, "-m", "mktsync", "ledger", "import", "sent.csv", "--campaign",
            "reminder", "--why", "old log"]  # fmt: skip
    master, slave = pty.openpty()
    child = subprocess.Popen(argv, cwd=folder, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen, last = "", ""
    try:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # the child closed the terminal: it finished
                break
            if not data:
                break
            seen += data.decode()
            last = seen.split("\r")[-1] or last
            if last.startswith(PHASES[phase]) and done_of(last, phase) >= at:
                child.send_signal(signal.SIGKILL)
                child.wait()
                return last, None
    finally:
        os.close(master)
        if child.poll() is None:
            child.kill()
        child.wait()
    return last, child.returncode


def integrity(folder: Path) -> str:
    db = folder / "state" / "ledger.db"
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.slow
def test_a_kill_at_any_moment_records_nothing_and_leaves_the_ledger_intact(
    tmp_path: Path,
) -> None:
    project(tmp_path)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        argv = ["ledger", "import", "first.csv", "--campaign", "reminder", "--why", "first"]
        assert main(argv) == 0  # a ledger with records, so its fingerprint is not "empty"
    finally:
        os.chdir(cwd)
    before = snapshot(tmp_path)
    assert len(before[0]) == 2
    rng = random.Random(25)
    results = []
    for round_ in range(ROUNDS):
        phase = ("read", "check", "record")[round_ % 3]
        # Recording is killed in its first half: the records are written in one
        # transaction, committed after the last page, which a kill must precede.
        at = rng.randrange(0, ROWS // 2 if phase == "record" else ROWS, 1000)
        last, status = import_killed_at(tmp_path, phase, at)
        assert status is None, f"round {round_}: the import ended ({status}) before the kill"
        records, runs, fingerprint = snapshot(tmp_path)
        results.append((phase, at, len(records) - len(before[0])))
        print(f"round {round_}: killed while {last.strip()!r}; new records: {results[-1][2]}")
        assert records == before[0], f"round {round_}: records changed"
        assert fingerprint == before[2], f"round {round_}: the fingerprint moved"
        assert integrity(tmp_path) == "ok"
        time.sleep(0.01)
    assert [new for _, _, new in results] == [0] * ROUNDS
    assert {phase for phase, _, _ in results} == {"read", "check", "record"}
    # The kills left nothing in the way: the next import records every key.
    last, status = import_killed_at(tmp_path, "record", ROWS + 1)
    assert status == 0, last
    records, _, fingerprint = snapshot(tmp_path)
    assert len(records) == ROWS
    assert fingerprint != before[2]
