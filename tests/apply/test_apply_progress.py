"""apply's progress line (issue 22.5): an ETA that includes the rate window's waits, a line
that fits the terminal and is rewritten in place, durations a person reads at a glance."""

from __future__ import annotations

import fcntl
import io
import itertools
import math
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Any

from apply_helpers import apply, emulator, rows, write_project

from mktsync.cli.progress import CLEAR, Progress
from mktsync.config.model import Limits
from mktsync.emulator import EmulatorOptions
from mktsync.report.words import duration

REPO = Path(__file__).resolve().parents[2]


def in_a_terminal(argv: list[str], cwd: Path, columns: int) -> str:
    """What ``python -m mktsync ARGV`` writes to a terminal ``columns`` wide (a pty)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "CI")}
    env["PYTHONPATH"] = str(REPO)
    with subprocess.Popen(
        [sys.executable, "-m", "mktsync", *argv],
        cwd=cwd,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
    ) as proc:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=120) == 0, b"".join(chunks).decode()
    os.close(leader)
    return b"".join(chunks).decode()


def test_the_progress_line_fits_40_columns_and_is_rewritten_in_place(tmp_path: Path) -> None:
    # Five calls per half-second window, one lead per call: twelve calls, several waits.
    path = write_project(tmp_path, rows(12, shared_code=False), calls=5, window=0.5, concurrency=2)
    shown = in_a_terminal(["apply", "--emulator"], path.parent, columns=40)
    drawn = [part for part in shown.split("\r") if part.endswith(CLEAR)]
    assert len(drawn) >= 12, shown  # one per call, each over the last
    for part in drawn:
        line = part.removesuffix(CLEAR)
        assert "\n" not in line and "\x1b" not in line
        assert len(line) <= 40, line
        assert "ETA 0" not in line
    assert drawn[0].startswith("1/12 calls") and "ETA " in drawn[0]
    assert drawn[-1].startswith("12/12 calls") and "ETA" not in drawn[-1]
    assert "Everything planned was sent" in shown


def test_the_eta_of_a_throttled_run_includes_the_window_wait(tmp_path: Path) -> None:
    window = 1.0
    path = write_project(
        tmp_path, rows(12, shared_code=False), calls=5, window=window, concurrency=2
    )
    events: list[dict[str, Any]] = []
    options = EmulatorOptions(calls=5, window_seconds=window)
    with emulator(path, options) as emu:
        report = apply(path, emu, on_event=lambda e: events.append(dict(e)))
    assert report.exit_code == 0
    start = next(e for e in events if e["event"] == "start")
    # 12 triggers after the preflight and lookup calls, five a window: at least two waits.
    assert start["eta"] >= 2 * window
    calls = [e for e in events if e["event"] == "call"]
    assert len(calls) == 12
    # The window is exhausted after each fifth call; the calls rate says "no time left",
    # the ETA says the wait for the window.
    for e in calls:
        if e["done"] < e["total"] - 5:
            assert e["eta"] >= window * 0.5, e
    stream = io.StringIO()
    progress = Progress(stream, tty=False, every=0)
    for e in events:
        progress(e)
    lines = [line for line in stream.getvalue().splitlines() if " calls, " in line]
    assert len(lines) == 12
    waiting = r"(, waiting for Marketo's rate window, [1-9]\d* s)?"
    assert all(re.search(rf"ETA [1-9]\d* s{waiting}$", line) for line in lines[:-1]), lines
    assert not lines[-1].endswith("s") or "ETA" not in lines[-1]


def test_a_ci_log_gets_a_line_while_the_run_waits_for_the_shared_window(
    tmp_path: Path,
) -> None:
    """The default limiter of an SQLite-ledger run is this machine's file (shared by its
    processes): its ETA counts the wait for the window, and the CI log, which gets a line
    every 5 s, gets them while no call ends, each saying what the run waits for."""
    window = 11.0  # two of the CI log's 5 s, and some
    # Six calls a window: the preflight's reads and the first triggers fill it, and the
    # last triggers wait for it.
    path = write_project(
        tmp_path, rows(6, shared_code=False), calls=6, window=window, concurrency=1
    )
    with emulator(path) as emu:
        env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "COLUMNS")}
        env.update(
            PYTHONPATH=str(REPO), CI="true", MARKETO_BASE_URL=emu.base_url,
            MARKETO_CLIENT_ID=emu.client_id, MARKETO_CLIENT_SECRET=emu.client_secret,
        )  # fmt: skip
        lines: list[tuple[float, str]] = []
        with subprocess.Popen(
            [sys.executable, "-m", "mktsync", "apply", "--yes"],
            cwd=path.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        ) as proc:
            assert proc.stderr is not None and proc.stdout is not None
            out = threading.Thread(target=proc.stdout.read)  # never let stdout fill up
            out.start()
            for line in proc.stderr:
                lines.append((time.monotonic(), line.rstrip("\n")))
            out.join()
            assert proc.wait(timeout=60) == 0, lines
    shown = [line for _, line in lines]
    progress = [(at, line) for at, line in lines if re.match(r"\d+/6 calls", line)]
    assert progress[-1][1].startswith("6/6 calls"), shown
    # Lines while no call ended (the count of calls done repeats), one saying why.
    done = [line.split("/")[0] for _, line in progress]
    assert sum(a == b for a, b in itertools.pairwise(done)) >= 1, shown
    assert any("waiting for Marketo's rate window, " in line for _, line in progress), shown
    first = progress[0][1]
    eta = re.search(r"ETA (\d+) s", first)
    assert eta and int(eta.group(1)) >= window / 2, shown  # the wait, counted
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(progress)]
    assert max(gaps) < 5 + 3, (gaps, shown)  # 5 s, and room for a loaded machine


def test_a_line_is_shortened_to_the_width_never_wrapped() -> None:
    event = {"event": "call", "done": 7, "total": 1200, "elapsed": 2.0, "eta": 3725.0}
    for width in range(1, 120):
        progress = Progress(io.StringIO(), tty=True, width=lambda w=width: w)
        line = progress.line(event, width)
        assert len(line) <= width, (width, line)
        full = "7/1200 calls, 0 leads, 210 calls/min, ETA 1 h 02 min"
        if width >= len(full) + 13:  # room for a bar of 10 too
            assert line.endswith("] " + full) and line.startswith("[.")
        elif width >= len(full):
            assert line == full
        elif width >= 37:  # the rate goes first, then the leads; the time left stays
            assert line == "7/1200 calls, 0 leads, ETA 1 h 02 min"
        elif width >= 28:
            assert line == "7/1200 calls, ETA 1 h 02 min"
        else:
            assert "7/1200 calls".startswith(line)
    stream = io.StringIO()
    Progress(stream, tty=True, width=lambda: 30)(event)
    assert stream.getvalue().startswith("\r") and stream.getvalue().endswith(CLEAR)
    assert len(stream.getvalue()) - len("\r") - len(CLEAR) <= 29  # the last column left free


def test_a_ci_log_gets_a_line_every_few_seconds_and_the_last() -> None:
    stream = io.StringIO()
    progress = Progress(stream, tty=False, every=3600)
    for done in range(1, 11):
        progress({"event": "call", "outcome": "sent", "leads": 1, "done": done, "total": 10,
                  "elapsed": done / 10, "eta": (10 - done) / 10})  # fmt: skip
    lines = stream.getvalue().splitlines()
    assert lines == [lines[0], "10/10 calls, 10 leads, 600 calls/min"]
    assert lines[0].startswith("1/10 calls, 1 lead, ") and lines[0].endswith("ETA 1 s")
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_a_terminal_says_the_run_waits_for_the_window_and_nothing_after_the_end() -> None:
    stream = io.StringIO()
    progress = Progress(stream, tty=True, width=lambda: 200)
    progress({"event": "start", "calls": 10, "leads": 10, "eta": 14.0, "wait": 0.0})
    progress({"event": "call", "outcome": "sent", "leads": 1, "done": 9, "total": 10,
              "elapsed": 2.0, "eta": 12.5, "wait": 12.0})  # fmt: skip
    progress.tick()  # what the printer's thread does while no call ends
    drawn = [part.removesuffix(CLEAR) for part in stream.getvalue().split("\r") if part]
    assert drawn[-2].endswith("ETA 13 s, waiting for Marketo's rate window, 12 s"), drawn
    assert "waiting for Marketo's rate window, " in drawn[-1], drawn  # drawn again
    progress({"event": "finish"})
    before = stream.getvalue()
    progress.tick()
    assert stream.getvalue() == before and before.endswith("\n")


def test_the_first_line_counts_in_words() -> None:
    stream = io.StringIO()
    progress = Progress(stream, tty=False)
    progress({"event": "start", "calls": 1, "leads": 1, "eta": 0.2})
    progress({"event": "start", "calls": 1200, "leads": 3000, "eta": 3725.0})
    progress({"event": "finish"})
    assert stream.getvalue().splitlines() == [
        "applying: 1 trigger call for 1 lead (ETA 1 s)",
        "applying: 1,200 trigger calls for 3,000 leads (ETA 1 h 02 min)",
    ]


def test_durations_are_whole_units_never_zero() -> None:
    assert [duration(s) for s in (0, 0.01, 1, 59.2, 60, 65, 3599, 3600, 3725)] == [
        "1 s", "1 s", "1 s", "1 min 00 s", "1 min 00 s", "1 min 05 s", "59 min 59 s",
        "1 h 00 min", "1 h 02 min",
    ]  # fmt: skip
    stream = io.StringIO()
    Progress(stream, tty=False, every=0)({"event": "call", "done": 1, "total": 2, "elapsed": 0})
    assert "ETA" not in stream.getvalue()  # unknown: nothing, rather than a guess


def test_the_plan_estimate_and_the_eta_share_one_model() -> None:
    """Without slots taken or latency, ``seconds_for`` is the plan's old estimate: whole
    windows past the first; latency and a full window only add to it."""
    for calls, window, margin in ((1, 20, 0.2), (80, 20, 0.2), (81, 20, 0.2), (5000, 20, 0.0)):
        limits = Limits(calls=100, window_seconds=window, safety_margin=margin)
        old = max(0, math.ceil(calls / limits.capacity) - 1) * window
        assert limits.seconds_for(calls) == old
        assert limits.seconds_for(calls, latency=0.2) >= old
        full = [window / 2] * limits.capacity
        assert limits.seconds_for(calls, frees=full) >= window / 2
