"""A hard link is another name for the same ledger file: one run lock, whatever the name.

SQLite keeps its ``-wal`` and ``-shm`` files per name, so a run through a second name
would write the file without seeing the first run's log.  The run lock is therefore the
file's (device and inode): a second run through a hard link is refused as "locked by
another run", naming the holder, in the same folder or another (the run's guard, in the
file, names its lock file); the lost-log guard still refuses a real copy.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from testing.project import (
    LEAD_BY_EMAIL,
    MARKETO_FROM_ENV,
    Flow,
    csv_source,
    flow,
    write_project,
)
from testing.seed import serve_project

from mktsync.emulator import EmulatorOptions
from mktsync.errors import LedgerError, LedgerLocked
from mktsync.ledger import open_ledger

REMINDER = {
    "campaign_id": 1234,
    "source": "regs",
    "lead": LEAD_BY_EMAIL,
    "tokens": Flow({"my.Link": "https://example.com/{{ row.code }}"}),
}


def project(folder: Path, leads: int) -> None:
    """``campaigns.yaml`` on ``.mktsync/ledger.db`` and ``copy.yaml`` on ``.mktsync/copy.db``:
    one campaign whose every lead has its own link (a trigger call each)."""
    rows = "".join(f"lead{i}@example.com,c{i}\n" for i in range(leads))
    limits = flow(calls=100, window_seconds=20, concurrency=1)
    for name, ledger in (("campaigns.yaml", "ledger.db"), ("copy.yaml", "copy.db")):
        write_project(
            folder,
            name=name,
            marketo={**MARKETO_FROM_ENV, "limits": limits},
            ledger=f"sqlite:///.mktsync/{ledger}",
            sources={"regs": csv_source("regs.csv")},
            campaigns={"reminder": REMINDER},
            files={"regs.csv": "email,code\n" + rows},
        )


def apply(folder: Path, config: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mktsync", "apply", config, "--yes", "--lock-timeout", "1"],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.slow
def test_an_apply_through_a_hard_link_is_refused_while_another_holds_the_lock(
    tmp_path: Path,
) -> None:
    project(tmp_path, 12)
    (tmp_path / ".mktsync").mkdir()
    with open_ledger("sqlite:///.mktsync/ledger.db", tmp_path):
        pass
    os.link(tmp_path / ".mktsync" / "ledger.db", tmp_path / ".mktsync" / "copy.db")
    options = EmulatorOptions(latency=(0.25, 0.3))  # 12 calls, one at a time: 3 s or more
    with serve_project(tmp_path / "campaigns.yaml", options) as emu:
        env = {**os.environ, "MARKETO_BASE_URL": emu.base_url,
               "MARKETO_CLIENT_ID": emu.client_id, "MARKETO_CLIENT_SECRET": emu.client_secret}  # fmt: skip
        first = apply(tmp_path, "campaigns.yaml", env)
        deadline = time.monotonic() + 60
        while not emu.triggers():  # the first apply holds the lock once it sends
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.05)
        second = apply(tmp_path, "copy.yaml", env)
        out, err = second.communicate(timeout=60)
        first_out, first_err = first.communicate(timeout=60)
        triggered = Counter(lead for t in emu.triggers() for lead in t["lead_ids"])
    assert first.returncode == 0, first_out + first_err
    assert second.returncode == 1, out + err
    assert f"pid {first.pid} " in err and "running 'apply' since" in err
    assert "the ledger is locked by another run" in err
    assert "through another name of the same file" in err and "ledger.db" in err
    assert "saved without its write-ahead log" not in err
    assert len(triggered) == 12 and set(triggered.values()) == {1}  # each lead once
    # The first run over, the other name reaches the same records: nothing to send.
    again = subprocess.run(
        [sys.executable, "-m", "mktsync", "plan", "copy.yaml", "--detailed-exitcode"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes" in again.stdout


def test_a_run_that_opened_by_another_name_waits_for_the_same_lock(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    with open_ledger("sqlite:///state/ledger.db", tmp_path):
        pass
    os.link(tmp_path / "state" / "ledger.db", tmp_path / "state" / "copy.db")
    with (
        open_ledger("sqlite:///state/ledger.db", tmp_path) as first,
        open_ledger("sqlite:///state/copy.db", tmp_path) as second,  # opened before the lock
        first.lock(command="apply"),
    ):
        with pytest.raises(LedgerLocked) as caught:
            with second.lock(command="apply", timeout=0.2):
                pass  # pragma: no cover
    text = str(caught.value)
    assert "locked by pid" in text and "through another name of the same file" in text


def test_a_run_opened_by_a_name_in_another_folder_waits_for_the_same_lock(
    tmp_path: Path,
) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "elsewhere").mkdir()
    with open_ledger("sqlite:///state/ledger.db", tmp_path):
        pass
    os.link(tmp_path / "state" / "ledger.db", tmp_path / "elsewhere" / "other.db")
    with (
        open_ledger("sqlite:///state/ledger.db", tmp_path) as first,
        open_ledger("sqlite:///elsewhere/other.db", tmp_path) as second,  # before the lock
    ):
        with first.lock(command="apply"):
            started = time.monotonic()
            with pytest.raises(LedgerLocked) as caught:
                with second.lock(command="apply", timeout=0.3):
                    pass  # pragma: no cover
            assert time.monotonic() - started >= 0.3  # it waited, as for any holder
        with second.lock(command="apply"):  # the first run over: the other name takes it
            pass
    text = str(caught.value)
    assert f"locked by pid {os.getpid()} " in text
    assert "through another name of the same file" in text and text.endswith("waited 0.3 s")


HOLD = """\
import sys, time
from pathlib import Path
from mktsync.ledger import open_ledger
with open_ledger("sqlite:///state/ledger.db", Path(".")) as ledger, ledger.lock(command="apply"):
    run = ledger.start_run(command="apply")
    ledger.finish_run(run, counts={}, exit_status=0)
    print("holding", flush=True)
    time.sleep(60)
"""


def test_after_a_run_killed_through_another_name_the_guard_says_where_its_log_is(
    tmp_path: Path,
) -> None:
    (tmp_path / "state").mkdir()
    with open_ledger("sqlite:///state/ledger.db", tmp_path):
        pass
    os.link(tmp_path / "state" / "ledger.db", tmp_path / "state" / "copy.db")
    with subprocess.Popen(
        [sys.executable, "-c", HOLD], cwd=tmp_path, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        with pytest.raises(LedgerLocked, match="locked by another run"):
            open_ledger("sqlite:///state/copy.db", tmp_path)
        holder.send_signal(signal.SIGKILL)
    # The dead run's log is beside ledger.db: copy.db alone is a ledger without it.
    with pytest.raises(LedgerError) as caught:
        open_ledger("sqlite:///state/copy.db", tmp_path)
    text = str(caught.value)
    assert "saved without its write-ahead log (copy.db-wal)" in text
    assert "The file has 2 names (hard links)" in text
    with open_ledger("sqlite:///state/ledger.db", tmp_path) as ledger:  # its own name works
        assert ledger.runs()[0].command == "apply"


def mktsync(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mktsync", *args],
        cwd=folder, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def test_a_hard_link_in_another_folder_is_refused_as_locked_by_every_command(
    tmp_path: Path,
) -> None:
    """The name's folder has no lock file of the holder's; the guard in the file names it."""
    write_project(
        tmp_path,
        ledger="sqlite:///state/ledger.db",
        sources={"regs": csv_source("regs.csv")},
        campaigns={"reminder": REMINDER},
        files={"regs.csv": "email,code\nann@example.com,c1\n"},
    )
    (tmp_path / "state").mkdir()
    with open_ledger("sqlite:///state/ledger.db", tmp_path):
        pass
    (tmp_path / "elsewhere").mkdir()
    os.link(tmp_path / "state" / "ledger.db", tmp_path / "copy.db")
    os.link(tmp_path / "state" / "ledger.db", tmp_path / "elsewhere" / "other.db")
    with subprocess.Popen(
        [sys.executable, "-c", HOLD], cwd=tmp_path, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        try:
            for name in ("copy.db", "elsewhere/other.db"):
                url = f"sqlite:///{name}"
                for create in (False, True):  # plan's open, and a writer's
                    with pytest.raises(LedgerLocked) as caught:
                        open_ledger(url, tmp_path, create=create)
                    text = str(caught.value)
                    assert f"locked by another run: pid {holder.pid} " in text
                    assert "through another name of the same file" in text
                    assert str(tmp_path / "state" / "ledger.db") in text
                for args in (
                    ["plan", "--ledger", url],
                    ["ledger", "forget", "--ledger", url, "--campaign-id", "1234",
                     "--why", "qa", "--lock-timeout", "1", "ann@example.com"],
                ):  # fmt: skip
                    done = mktsync(tmp_path, *args)
                    assert done.returncode == 1, done.stdout + done.stderr
                    assert "the ledger is locked by another run: pid" in done.stderr
                    assert "write-ahead log" not in done.stderr  # never "restore a backup"
        finally:
            holder.kill()
    # The holder died: every name opens again once a writer by its own name recovered it.
    with open_ledger("sqlite:///state/ledger.db", tmp_path) as ledger, ledger.lock(command="t"):
        pass
    with open_ledger("sqlite:///elsewhere/other.db", tmp_path) as ledger:
        assert [run.command for run in ledger.runs()] == ["apply"]
