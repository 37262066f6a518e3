"""Benchmark: ``mktsync --help`` against a bare ``python -c 'import mktsync'`` (issue 16).

    python benchmarks/bench_start.py [--runs 31] [--target 1.3]

Byte-compiles the package first (as an install does; with ``PYTHONDONTWRITEBYTECODE`` set
every start would compile the changed modules again), then starts each command ``--runs``
times, alternating, and compares the medians (the minimum too).  Exits 1 when
``mktsync --help`` takes more than ``--target`` times the bare import.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import mktsync


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--target", type=float, default=1.3)
    args = parser.parse_args()
    compileall.compile_dir(str(Path(mktsync.__file__).parent), quiet=1)
    script = shutil.which("mktsync", path=str(Path(sys.executable).parent))
    help_cmd = [script, "--help"] if script else [sys.executable, "-m", "mktsync", "--help"]
    commands = {
        "import mktsync": [sys.executable, "-c", "import mktsync"],
        "mktsync --help": help_cmd,
    }
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=env)
            times[name].append(time.perf_counter() - start)
    for name, ts in times.items():
        print(
            f"{name:15} median {statistics.median(ts) * 1000:6.1f} ms  min {min(ts) * 1000:6.1f} ms"
        )
    ratio = statistics.median(times["mktsync --help"]) / statistics.median(times["import mktsync"])
    floor = min(times["mktsync --help"]) / min(times["import mktsync"])
    ok = ratio <= args.target
    print(
        f"ratio mktsync --help / import mktsync = {ratio:.2f} (medians; minimums {floor:.2f}); "
        f"target <= {args.target:g}: {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
