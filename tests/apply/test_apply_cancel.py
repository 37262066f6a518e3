"""Cancelling a real run the way GitHub does: SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s
after that (actions/runner ``ProcessInvoker``), and ^C at a terminal.

Calls wait in mktsync's limiter (its rate window is spent) or back off after Marketo's 606
(the instance's window is spent by "another integration").  A cancel must send nothing
more: no trigger reaches the emulator after the process is gone, calls that never left are
*not attempted* (their items stay new: never ``pending``, never ``unknown``), and the next
run sends the rest, each lead once.
"""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from apply_helpers import apply, emulator, rows, statuses, triggered, write_project
from testing.project import csv_source

from mktsync.apply import ApplyOptions, apply_config
from mktsync.apply.result import StopRequest
from mktsync.config import load_config
from mktsync.emulator import Emulator, EmulatorOptions
from mktsync.ledger import open_ledger
from mktsync.marketo import MarketoClient

ROWS = 30  # a token set per lead: one call per lead
REPO = Path(__file__).resolve().parent.parent.parent
MKTSYNC = Path(sys.executable).parent / "mktsync"


def apply_env(emu: Emulator) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARKETO_")}
    env.pop("CI", None)
    return {
        **env,
        "MARKETO_BASE_URL": emu.base_url,
        "MARKETO_CLIENT_ID": emu.client_id,
        "MARKETO_CLIENT_SECRET": emu.client_secret,
    }


def trigger_calls(emu: Emulator) -> list[float]:
    """When each trigger request was answered (the journal's time), as epoch seconds."""
    return [
        datetime.fromisoformat(e["time"]).timestamp()
        for e in emu.journal()
        if e.get("endpoint") == "trigger"
    ]


def wait_for_triggers(emu: Emulator, n: int, alive: object) -> None:
    deadline = time.monotonic() + 60
    while len(emu.triggers()) < n:
        assert time.monotonic() < deadline, "the run never got under way"
        assert alive(), "the run ended before it could be cancelled"  # type: ignore[operator]
        time.sleep(0.01)


def github_cancel(proc: subprocess.Popen[str]) -> int:
    """GitHub's cancel of a step: SIGINT; SIGTERM if still running 7.5 s later; SIGKILL 2.5 s
    after that.  Returns the exit status (negative: killed by that signal)."""
    proc.send_signal(signal.SIGINT)
    for then, grace in ((signal.SIGTERM, 7.5), (signal.SIGKILL, 2.5)):
        try:
            return proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.send_signal(then)
    return proc.wait()


@dataclass(frozen=True, kw_only=True)
class Cancelled:
    """What a cancel left: the counts the issue asks for."""

    before_signal: int  # trigger requests answered before the signal
    after_signal: int  # answered after it: calls that were in flight
    late: int  # answered more than 2 s after it: calls that left after the stop
    after_exit: int  # trigger requests answered after the process was gone
    seconds: float  # from the signal to the exit
    sent: int
    new: int
    unknown: int  # unknown or pending: the next run reports both as unknown
    exit_code: int

    def __str__(self) -> str:
        return (
            f"trigger calls before the signal {self.before_signal}, after it "
            f"{self.after_signal} ({self.late} late), after exit {self.after_exit}; "
            f"exited {self.seconds:.2f} s after the signal; "
            f"items sent {self.sent} / new {self.new} / unknown {self.unknown}; "
            f"exit {self.exit_code}"
        )


def cancel_counts(
    path: Path, emu: Emulator, signalled: float, exited: float, code: int
) -> Cancelled:
    # A moment for anything still on its way to land in the journal.
    time.sleep(0.5)
    calls = trigger_calls(emu)
    found = statuses(path)
    return Cancelled(
        before_signal=sum(t < signalled for t in calls),
        after_signal=sum(t >= signalled for t in calls),
        late=sum(t > signalled + 2.0 for t in calls),  # calls answer in 0.1 s
        after_exit=sum(t > exited for t in calls),
        seconds=exited - signalled,
        sent=found["sent"],
        new=ROWS - sum(found.values()),
        unknown=found["unknown"] + found["pending"],
        exit_code=code,
    )


def assert_clean_cancel(path: Path, emu: Emulator, got: Cancelled, err: str) -> None:
    print(f"\n{got}")
    assert got.exit_code == 130, err  # out before GitHub's SIGTERM: SIGINT's own code
    assert got.after_exit == 0
    assert got.late == 0  # nothing left after the stop: only calls in flight finished
    assert got.unknown == 0, statuses(path)  # nothing left pending or unknown
    assert got.sent == sum(triggered(emu).values())  # every trigger Marketo ran is recorded
    assert got.new > 0, "the cancel came too late to leave anything unsent"
    assert "SIGINT: stopping: no new calls" in err
    # The next run (unthrottled, on the same instance's twin) sends the rest, each lead once.
    write_project(path.parent, rows(ROWS, shared_code=False))
    with emulator(path) as again:
        report = apply(path, again)
        sent = triggered(emu, again)
    assert report.exit_code == 0, report.campaigns[0].failures
    assert statuses(path) == Counter({"sent": ROWS})
    assert len(sent) == ROWS and set(sent.values()) == {1}


@pytest.mark.parametrize("throttle", ["limiter", "606"])
def test_github_cancel_sends_nothing_more_and_leaves_no_unknowns(
    tmp_path: Path, throttle: str
) -> None:
    """``limiter``: mktsync's own window (12 calls a 20 s) is spent, so calls wait in it.
    ``606``: the instance's window is spent by another integration (the emulator allows 12
    calls a 20 s; mktsync thinks it has 100), so calls are refused and back off."""
    if throttle == "limiter":
        path = write_project(tmp_path, rows(ROWS, shared_code=False), calls=12)
        options = EmulatorOptions(latency=(0.05, 0.1))
    else:
        path = write_project(tmp_path, rows(ROWS, shared_code=False))
        options = EmulatorOptions(latency=(0.05, 0.1), calls=12)
    with emulator(path, options) as emu:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mktsync", "apply", str(path), "--yes"],
            env=apply_env(emu),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for_triggers(emu, 4, lambda: proc.poll() is None)
        if throttle == "606":  # until calls are backing off after 606
            while not emu.stats()["rejected"]["rate"]:
                time.sleep(0.01)
        signalled = time.time()
        code = github_cancel(proc)
        exited = time.time()
        _, err = proc.communicate(timeout=10)
        got = cancel_counts(path, emu, signalled, exited, code)
        assert_clean_cancel(path, emu, got, err)


@pytest.mark.skipif(not MKTSYNC.exists(), reason="needs the mktsync entry point")
def test_github_cancel_reaches_mktsync_through_the_action(tmp_path: Path) -> None:
    """GitHub signals the step's shell, not its children: the action's script (run by bash
    as GitHub runs it) passes SIGINT on, and reports mktsync's own exit code."""
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    (step,) = [s for s in action["runs"]["steps"] if s.get("id") == "run"]
    path = write_project(tmp_path, rows(ROWS, shared_code=False), calls=12)
    outputs = tmp_path / "github_output"
    outputs.write_text("", encoding="utf-8")
    with emulator(path, EmulatorOptions(latency=(0.05, 0.1))) as emu:
        env = {
            **apply_env(emu),
            "PATH": f"{MKTSYNC.parent}{os.pathsep}{os.environ['PATH']}",
            "RUNNER_TEMP": str(tmp_path),
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_RUN_ATTEMPT": "1",
            "INPUT_COMMAND": "apply",
            "INPUT_CONFIG": "campaigns.yaml",
            "INPUT_ARGS": "--yes",
            "CI": "true",
        }
        proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # only so that a failure can clean up what it left
        )
        try:
            wait_for_triggers(emu, 4, lambda: proc.poll() is None)
            signalled = time.time()
            code = github_cancel(proc)  # signals bash alone, as the runner does
            exited = time.time()
            # Before the fix bash died at SIGTERM and mktsync ran on, sending everything:
            # its output pipes stayed open and this timed out.
            _, err = proc.communicate(timeout=10)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        got = cancel_counts(path, emu, signalled, exited, code)
        assert "exit-code=130" in outputs.read_text(encoding="utf-8").splitlines()
        assert_clean_cancel(path, emu, got, err)


def test_ctrl_c_at_a_terminal(tmp_path: Path) -> None:
    """^C typed at a terminal: the terminal sends SIGINT to the foreground process group."""
    path = write_project(tmp_path, rows(ROWS, shared_code=False), calls=12)
    with emulator(path, EmulatorOptions(latency=(0.05, 0.1))) as emu:
        env = apply_env(emu)
        pid, terminal = pty.fork()
        if pid == 0:  # the child: a session of its own, the pty its controlling terminal
            os.execve(
                sys.executable, [sys.executable, "-m", "mktsync", "apply", str(path), "--yes"], env
            )
        output = bytearray()
        status: int | None = None

        def alive() -> bool:
            return os.waitpid(pid, os.WNOHANG) == (0, 0)

        try:
            wait_for_triggers(emu, 4, alive)
            signalled = time.time()
            os.write(terminal, b"\x03")  # ^C
            deadline = time.monotonic() + 30
            while status is None and time.monotonic() < deadline:
                ready, _, _ = select.select([terminal], [], [], 0.05)
                if ready:
                    with contextlib.suppress(OSError):  # the child closed the terminal
                        output += os.read(terminal, 65536)
                done, raw = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = os.waitstatus_to_exitcode(raw)
            exited = time.time()
            assert status is not None, "still running 30 s after ^C"
        finally:
            if status is None:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(terminal)
        got = cancel_counts(path, emu, signalled, exited, status)
        assert_clean_cancel(path, emu, got, output.decode("utf-8", "replace"))


@pytest.mark.slow
def test_a_second_signal_leaves_pending_only_the_calls_on_the_wire(tmp_path: Path) -> None:
    """SIGINT, then SIGTERM before the calls in flight are answered: those stay pending (the
    next run reports them unknown); the calls waiting in the limiter were never marked."""
    # A window of 8 calls for 10 workers: after preflight and the lookup (3 calls), 5
    # triggers are on the wire for a second each, and the other workers wait in the limiter.
    path = write_project(tmp_path, rows(ROWS, shared_code=False), calls=8)
    with emulator(path, EmulatorOptions(latency=(1.0, 1.0))) as emu:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mktsync", "apply", str(path), "--yes"],
            env=apply_env(emu),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while (
            not any(e.get("endpoint") == "leads_get" for e in emu.journal())
            or not emu.stats()["in_flight"]
        ):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 143, err
        assert "SIGTERM again: aborting now" in err
        while emu.stats()["in_flight"]:  # the emulator answers the calls left on the wire
            time.sleep(0.05)
        received = len(trigger_calls(emu))
        applied = sum(triggered(emu).values())
        found = statuses(path)
        emu.set_latency(0.0)
        print(f"\nreceived {received} trigger calls, {applied} applied; ledger {dict(found)}")
        assert found["pending"] == received - found["sent"] > 0  # exactly the calls on the wire
        assert found["sent"] < applied  # they were applied, the answers never read
        assert ROWS - sum(found.values()) == ROWS - received  # all the others stay new
        write_project(tmp_path, rows(ROWS, shared_code=False))  # the next run, unthrottled
        report = apply(path, emu)
    final = statuses(path)
    assert final["unknown"] == received - found["sent"]  # reported, never resent blindly
    assert final["sent"] == ROWS - final["unknown"]
    assert report.counts()["leads_unknown"] == 0 and max(triggered(emu).values()) == 1


def test_a_batch_run_waiting_for_its_turn_is_not_scheduled_when_stopped(tmp_path: Path) -> None:
    """``schedules:`` follow the same rule: a schedule call stopped in the limiter is not
    attempted and leaves no record (a pending one would read as an unknown run)."""

    def project(folder: Path, calls: int) -> Path:
        folder.mkdir()
        soon = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0).isoformat()
        blast = {
            "campaign_id": 3001,
            "source": "webinars",
            "key": "{{ row.webinar_id }}",
            "run_at": "{{ row.blast_at }}",
            "tokens": {"my.WebinarTitle": "{{ row.title }}"},
        }
        return write_project(
            folder,
            rows(1),
            calls=calls,
            window=600,
            sources={"webinars": csv_source("webinars.csv")},
            schedules={"blast": blast},
            files={
                "webinars.csv": f"webinar_id,title,blast_at\nwb-1,Git,{soon}\nwb-2,SQL,{soon}\n"
            },
        )

    def calls_before_scheduling(emu: Emulator) -> int:
        endpoints = [e.get("endpoint") for e in emu.journal() if e.get("endpoint") != "identity"]
        return endpoints.index("schedule") if "schedule" in endpoints else len(endpoints)

    dry = project(tmp_path / "dry", 1000)
    with emulator(dry) as emu:
        assert apply(dry, emu).exit_code == 0
        before = calls_before_scheduling(emu)
    path = project(tmp_path / "real", before)  # the window is spent when scheduling starts
    stop = StopRequest()
    with emulator(path) as emu:
        config = load_config(path)
        with (
            open_ledger(config.ledger.resolve(), config.base_dir) as ledger,
            MarketoClient(
                emu.base_url, emu.client_id, emu.client_secret,
                limits=config.marketo.limits, stop=stop,
            ) as client,
        ):  # fmt: skip
            stopper = threading.Thread(target=stop_when, args=(emu, before, stop))
            stopper.start()
            report = apply_config(config, ledger, client, ApplyOptions(stop=stop))
            stopper.join()
        assert emu.schedules() == []
    assert report.exit_code == 130
    assert report.schedules[0].not_attempted == 2
    assert statuses(path) == Counter({"sent": 1})  # no schedule record, pending or other


def stop_when(emu: Emulator, calls: int, stop: StopRequest) -> None:
    deadline = time.monotonic() + 30
    while len([e for e in emu.journal() if e.get("endpoint") != "identity"]) < calls:
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    time.sleep(0.3)  # the next call is waiting for the window, 600 s away
    stop.request("SIGINT", exit_code=130)
