"""The plan and apply benchmarks still run: tiny sizes, in a subprocess, no timing asserted.

Each benchmark must exit 0 and print its ``ratio`` line; the facts on that line that do not
depend on speed (counts, refusals, calls against the plan) are checked too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def run_benchmark(name: str, args: list[str], tmp_path: Path) -> str:
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the benchmark's temp files land here
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_bench_plan_runs_and_prints_its_ratio(tmp_path: Path) -> None:
    out = run_benchmark("bench_plan.py", ["--rows", "400", "--small", "100"], tmp_path)
    ratios = re.findall(r"^ratio rows=([\d,]+) ledger=([\d,]+): plan/baseline = [\d.]+", out, re.M)
    assert ratios == [("100", "50"), ("400", "200")], out
    counts = [
        dict(re.findall(r"'(\w+)': (\d+)", line))
        for line in out.splitlines()
        if line.strip().startswith("plan ")
    ]
    # Every row is classified once; half the items are in the ledger, 1 in 50 of them changed.
    assert [
        sum(int(c[k]) for k in ("trigger", "retrigger", "unchanged", "filtered")) for c in counts
    ] == [100, 400]
    assert [int(c["unchanged"]) + int(c["retrigger"]) for c in counts] == [50, 200]
    assert [int(c["retrigger"]) for c in counts] == [1, 4]


def test_bench_apply_runs_and_prints_its_ratio(tmp_path: Path) -> None:
    args = ["--leads", "30", "--calls", "10", "--window", "0.5", "--latency", "0"]
    out = run_benchmark("bench_apply.py", [*args, "--baseline-seconds", "0.5"], tmp_path)
    line = next((s for s in out.splitlines() if s.startswith("ratio ")), None)
    assert line is not None, out
    assert re.search(r"= [\d.]+ of ceiling 20/s", line), line
    assert "606+615 refusals 0" in line
    # 30 triggers + 1 lookup (30 emails) + 2 preflight, and the emulator counted the same.
    assert "calls made 33 = plan total_calls 33" in line
