"""The plan and apply benchmarks still run: tiny sizes, in a subprocess, no timing asserted.

Each benchmark must print its result and exit as it should; the facts that do not depend
on speed (counts, refusals, calls against the plan, a missed target failing) are checked.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def run_benchmark(
    name: str, args: list[str], tmp_path: Path, *, code: int = 0, timeout: float = 60
) -> str:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the benchmark's temp files land here
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == code, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.slow
def test_bench_plan_prints_its_table(tmp_path: Path) -> None:
    out = run_benchmark("bench_plan.py", ["--sizes", "100,400", "--no-targets"], tmp_path)
    rows = re.findall(r"^\| ([\d,]+) \| (first|steady) \| ([\d,]+) \| ([\d,]+) \|", out, re.M)
    # Two campaigns over the same rows: the first run sends every registered row to each
    # (one call per lead for the per-lead token, calls of 100 per webinar for the other);
    # a full ledger leaves nothing to send.  plan, naive and floor agreed, or it exits 1.
    assert [(size, run, send != "0", calls != "0") for size, run, send, calls in rows] == [
        ("100", "first", True, True),
        ("100", "steady", False, False),
        ("400", "first", True, True),
        ("400", "steady", False, False),
    ], out
    assert re.search(r"^target rows=400 first run peak RSS <= 300 MB: [\d.]+ met$", out, re.M)
    # Each child reports its own peak (VmHWM), in MB.
    peaks = [float(mb) for mb in re.findall(r"\| (\d+) MB", out)]
    assert peaks and max(peaks) < 150, out


@pytest.mark.slow
def test_bench_apply_runs_and_fails_a_missed_target(tmp_path: Path) -> None:
    args = ["--leads", "30", "--calls", "10", "--window", "0.5", "--latency", "0"]
    # No run reaches twice the ceiling: the benchmark must say so and exit 1.
    out = run_benchmark(
        "bench_apply.py", [*args, "--baseline-seconds", "0.5", "--target", "2"], tmp_path, code=1
    )
    assert re.search(r"^FAILED: share of ceiling [\d.]+ < target 2$", out, re.M), out
    line = next((s for s in out.splitlines() if s.startswith("ratio ")), None)
    assert line is not None, out
    assert re.search(r"= [\d.]+ of ceiling 20/s", line), line
    assert "606+615 refusals 0" in line
    # 30 triggers + 1 lookup (30 emails) + 2 preflight + 1 usage read (today's quota), and
    # the emulator counted the same.
    assert "calls made 34 = plan total_calls 34" in line


def test_bench_reviewed_holds_one_in_a_thousand(tmp_path: Path) -> None:
    out = run_benchmark("bench_reviewed.py", ["--leads", "3000"], tmp_path)
    assert re.search(r"^\| 3,000 leads \|.*\| held 3 \|", out, re.M), out


@pytest.mark.slow
def test_bench_config_prints_each_shape_and_fails_a_missed_target(tmp_path: Path) -> None:
    shapes = ["--shapes", "campaigns-x60000,merges-deep"]
    out = run_benchmark("bench_config.py", [*shapes, "--target", "60"], tmp_path)
    assert re.search(r"^target campaigns-x60000 validate < 60 s: [\d.]+ met$", out, re.M), out
    assert "aliases add 720,000 values to those written" in out
    assert re.search(r"^merges-deep .* exit 1, 11 lines; last: .*… and 230 more errors", out, re.M)
    # No file validates in no time: the benchmark must say so and exit 1.
    out = run_benchmark("bench_config.py", [*shapes, "--target", "0"], tmp_path, code=1)
    assert re.search(r"^target merges-deep validate < 0 s: [\d.]+ MISSED$", out, re.M), out


@pytest.mark.slow
def test_bench_shared_limits_prints_its_table(tmp_path: Path, postgres_admin_url: str) -> None:
    args = ["--scale", "ci", "--processes", "2", "--leads", "8", "--modes", "private,shared"]
    # Processes and an emulator on a loaded machine: time to start, no time measured.
    out = run_benchmark(
        "bench_shared_limits.py",
        [*args, "--postgres", postgres_admin_url, "--no-targets"],
        tmp_path,
        timeout=180,
    )
    rows = dict(
        re.findall(r"^\| (private limiter .*?|shared limiter, PostgreSQL) \|(.*)$", out, re.M)
    )
    assert set(rows) == {"private limiter (before issue 24)", "shared limiter, PostgreSQL"}, out
    cells = [c.strip() for c in rows["shared limiter, PostgreSQL"].split("|")]
    # seconds, calls counted, refusals, leads triggered, leads failed, exit codes, share,
    # processes whose calls equal their plan and triggered each lead once
    # Every trigger counted, and no more calls than each process's plan (the last cell).
    assert int(cells[1]) >= 16, out
    assert cells[2:6] == ["0 / 0", "16 of 16", "0", "0 0"], out
    assert cells[7] == "2 of 2", out
