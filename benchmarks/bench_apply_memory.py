"""Benchmark: ``apply``'s peak memory is flat in the number of leads (issue 16, point 7).

    python benchmarks/bench_apply_memory.py [--sizes 20000,200000] [--target 1.5]
                                            [--modes config,saved]

For each size N it writes N registrations with distinct emails and one shared token set
(so 100 leads a trigger call, and every email is looked up: ``ceil(N / 300)`` lookups),
serves an emulator seeded with those leads (limits raised so the run is quick; it lives in
this parent process, so its own memory is not counted), and runs ``apply`` in a child
process of its own, which prints its own peak RSS (``measure.peak_rss_mb``, VmHWM):

- ``config``: ``apply campaigns.yaml`` (``apply_config``: plan, resolve, send);
- ``saved``: ``apply plan.json`` of a plan saved first by another child (``plan --out``),
  read back with ``plan.file.load_plan``;
- ``plan`` (for reference, no target): ``make_plan`` and ``write_plan`` alone, the part of
  ``config`` that is not apply's own.

Each run starts from an empty ledger.  The line ``ratio`` gives the peak at the largest size
over the peak at the smallest, per mode; the benchmark exits 1 when a ratio misses
``--target`` (default 1.5), when apply did not exit 0, or when it made more lookup calls
than its plan forecast.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CONFIG = """\
version: 1
marketo:
  limits:
    calls: 1000000
    window_seconds: 1
    concurrency: 4
    daily_quota: 100000000
    safety_margin: 0
ledger: sqlite:///ledger.db
sources:
  registrations:
    type: csv
    path: registrations.csv
campaigns:
  webinar-reminder:
    campaign_id: 1234
    source: registrations
    lead:
      email: "{{ row.email }}"
    key: "{{ row.email }}/{{ row.webinar_id }}"
    tokens:
      my.WebinarTitle: "{{ row.webinar_title }}"
      my.JoinLink: "https://webinars.example.com/join/{{ row.webinar_id }}"
"""


def write_inputs(folder: Path, leads: int) -> Path:
    with (folder / "registrations.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["email", "webinar_id", "webinar_title"])
        for i in range(leads):
            writer.writerow([f"lead{i}@example.com", "wb-100", "Part one"])
    path = folder / "campaigns.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def print_result(start: float, exit_code: int, counts: dict[str, int], lookups: int) -> None:
    """The child's JSON line: seconds since ``start``, its own peak RSS, what apply did."""
    from measure import peak_rss_mb

    peak, source = peak_rss_mb()
    result = {"seconds": time.perf_counter() - start, "peak_mb": peak, "peak_source": source}
    result |= {"exit_code": exit_code, "counts": counts, "lookup_calls": lookups}
    print(json.dumps(result))


def child(mode: str, folder: Path, base_url: str, client_id: str, secret: str) -> None:
    """Run in a fresh interpreter: plan (``plan``) or apply, then print a JSON line."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from mktsync.apply import ApplyOptions, apply_config
    from mktsync.config import load_config
    from mktsync.ledger import open_ledger
    from mktsync.marketo import MarketoClient
    from mktsync.plan.file import load_plan, write_plan

    config = load_config(folder / "campaigns.yaml")
    start = time.perf_counter()
    if mode == "plan":
        from mktsync.plan import make_plan

        with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
            plan = make_plan(config, ledger, config_path=config.path.name)
            with (folder / "plan.json").open("w", encoding="utf-8") as out:
                write_plan(plan, out)
        print_result(start, 0, {}, plan.summary.lookup_calls)
        return
    saved = load_plan(folder / "plan.json") if mode == "saved" else None
    with (
        open_ledger(config.ledger.resolve(), config.base_dir) as ledger,
        MarketoClient(base_url, client_id, secret, limits=config.marketo.limits) as client,
    ):
        report = apply_config(config, ledger, client, ApplyOptions(lock_timeout=5.0), saved=saved)
    print_result(start, report.exit_code, report.counts(), report.plan.summary.lookup_calls)


def run_child(mode: str, folder: Path, emu: Any) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(folder), emu.base_url, emu.client_id,
         emu.client_secret],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{mode} child failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(size: int, modes: list[str]) -> dict[str, dict[str, Any]]:
    from mktsync.cli.demo import seed_for
    from mktsync.config import load_config
    from mktsync.emulator import EmulatorOptions, serve

    results: dict[str, dict[str, Any]] = {}
    options = EmulatorOptions(calls=1_000_000, window_seconds=1, daily_quota=100_000_000)
    for mode in modes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            path = write_inputs(folder, size)
            seed = seed_for(load_config(path))
            if mode == "saved":
                with serve(seed=seed, options=options) as emu:
                    run_child("plan", folder, emu)
            with serve(seed=seed, options=options) as emu:
                result = run_child(mode, folder, emu)
                by_endpoint = emu.stats()["by_endpoint"]
            result["lookups_made"] = by_endpoint.get("leads_get", 0)
            if mode == "plan":  # no apply: what making the plan alone peaks at
                result["lookups_made"] = 0
            results[mode] = result
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="20000,200000", help="leads per run, smallest first")
    parser.add_argument("--modes", default="config,saved,plan", help="of config, saved, plan")
    parser.add_argument("--target", type=float, default=1.5, help="largest peak / smallest")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, folder, url, client_id, secret = args.child
        child(mode, Path(folder), url, client_id, secret)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    print(f"python {sys.version.split()[0]}; apply of N leads, one shared token set, all emails")
    peaks: dict[str, list[float]] = {m: [] for m in modes}
    problems = []
    for size in sizes:
        for mode, r in measure(size, modes).items():
            peaks[mode].append(r["peak_mb"])
            c = r["counts"]
            print(
                f"{mode:6} N={size:>9,}  peak {r['peak_mb']:7.1f} MB ({r['peak_source']})  "
                f"{r['seconds']:6.1f} s  exit {r['exit_code']}  {c.get('leads_triggered', 0):,} "
                f"leads in {c.get('calls_sent', 0):,} calls; lookups {r['lookups_made']} "
                f"(plan: {r['lookup_calls']})"
            )
            if r["exit_code"] != 0:
                problems.append(f"{mode} N={size}: apply exited {r['exit_code']}")
            if r["lookups_made"] > r["lookup_calls"]:
                problems.append(f"{mode} N={size}: more lookups than the plan forecast")
    for mode, values in peaks.items():
        ratio = values[-1] / values[0]
        target = f"target <= {args.target:g}" if mode != "plan" else "no target: plan's own"
        print(
            f"ratio {mode}: peak at {sizes[-1]:,} / peak at {sizes[0]:,} = {ratio:.2f} ({target})"
        )
        if ratio > args.target and mode != "plan":
            problems.append(f"{mode}: ratio {ratio:.2f} > target {args.target:g}")
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
