"""Benchmark: ``mktsync plan --format json`` against two baselines, first run and steady state.

    python benchmarks/bench_plan.py [--sizes 10000,100000,1000000] [--profile first|steady]
                                    [--repeat 3] [--no-targets]
    python benchmarks/bench_plan.py --check-cost [--sizes 625000] [--repeat 3]

For each size writes bench_render's CSV (shaped like ``data/registrations.csv``: 80 %
registered, every join code distinct, 40 webinars) and a ``campaigns.yaml`` with the two
campaigns of ``naive_plan.CAMPAIGNS``: ``webinar-reminder`` (a per-lead join link: one
token set, so one call, per lead) and ``webinar-series`` (one token set per webinar:
calls of 100).  Then, for two ledgers:

- ``first``: no ledger file at all (a first run: every item is sent);
- ``steady``: a ledger holding every item as ``sent`` with today's tokens (filled in a
  child process, not measured): nothing to send, everything to compare;

it measures, each in a fresh child process:

- ``plan``: the whole path of ``plan --format json``: ``plan_config`` (``load_config``,
  read-only ``open_ledger``, ``make_plan``) and ``plan.file.write_plan`` to /dev/null;
- ``naive`` (a): ``naive_plan.py jinja``, the script a competent engineer would write:
  templates compiled once, ``template.render`` per row, the ledger read into a dict,
  items grouped by token set, calls written as JSON;
- ``floor`` (b): ``naive_plan.py format``, the same script with the templates written by
  hand in Python: the floor that rendering allows.

Each mode runs ``--repeat`` times (default 3), the modes taking turns, and its fastest
run counts (as ``timeit`` reports the best of its repeats): a 2-core runner shared with
other work slows single runs by up to half, which made one-run ratios move by 0.3.
Seconds exclude interpreter start and imports; peak memory is each child's own
(``measure.peak_rss_mb``: VmHWM, not the ``ru_maxrss`` a child inherits from its parent).
The three must agree on items to send, unchanged, filtered and trigger calls, or the
benchmark fails.  Prints a Markdown table, then each target for the largest size as
``target ...: met`` or ``MISSED``; exits 1 if one is missed (``--no-targets``: report only).

``--check-cost`` measures instead what ``plan``'s ledger check costs (issue 21: the check
``apply`` makes as it takes the run lock, ``LedgerReader.check_integrity``): on the steady
ledger only, ``plan`` as shipped against ``plan`` with the check skipped, and the check
alone, each ``--repeat`` times, the fastest counting.  625,000 rows give a ledger of about
1,000,000 records (80 % registered, two campaigns).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_render import generate as write_csv
from measure import peak_rss_mb
from naive_plan import CAMPAIGNS
from naive_plan import plan as naive_plan

MODES = ("plan", "naive", "floor")
RUNS = ("first", "steady")
FILL_BATCH = 50_000

# Issue 16's targets, checked on the largest size.
FIRST_RSS_MB = 300.0
FIRST_RSS_GROWTH = 1.5  # peak at the largest size over the peak at the one before
FIRST_VS_FLOOR = 1.2
STEADY_VS_NAIVE = 5.0  # naive seconds / plan seconds, at least
STEADY_VS_FLOOR = 1.2


def write_config(folder: Path, csv_name: str) -> Path:
    lines = [
        "version: 1",
        "ledger: sqlite:///ledger.db",
        "sources:",
        "  registrations:",
        "    type: csv",
        f"    path: {csv_name}",
        "campaigns:",
    ]
    for spec in CAMPAIGNS:
        lines += [
            f"  {spec.name}:",
            f"    campaign_id: {spec.campaign_id}",
            "    source: registrations",
            f"    when: {json.dumps(spec.when[0])}",
            "    lead:",
            f"      email: {json.dumps(spec.email[0])}",
            f"    retrigger: {spec.retrigger}",
        ]
        if spec.key:
            lines.append(f"    key: {json.dumps(spec.key[0])}")
        lines.append("    tokens:")
        lines += [f"      {name}: {json.dumps(t[0])}" for name, t in spec.tokens.items()]
    path = folder / "campaigns.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def fill_ledger(config_path: Path) -> dict[str, Any]:
    """Record every rendered item of every campaign as sent, with today's tokens."""
    from mktsync.config import load_config
    from mktsync.items import Item
    from mktsync.ledger import open_ledger
    from mktsync.render import iter_items

    config = load_config(config_path)
    filled = 0
    with (
        open_ledger(config.ledger.resolve(), config.base_dir) as ledger,
        ledger.lock(command="bench fill"),
    ):
        run = ledger.start_run(command="bench fill")
        for campaign in config.campaigns.values():
            items = (x for x in iter_items(config, campaign) if isinstance(x, Item))
            while batch := list(islice(items, FILL_BATCH)):
                ledger.mark_pending(run, batch)
                ledger.mark_sent(
                    run, campaign.campaign_id, [i.key for i in batch], request_id="bench"
                )
                filled += len(batch)
        ledger.finish_run(run, counts={"sent": filled}, exit_status=0)
    return {"records": filled}


def measure_plan(config_path: Path) -> dict[str, Any]:
    import mktsync.config
    import mktsync.ledger
    import mktsync.plan
    import mktsync.render  # noqa: F401 - imported before the clock starts, as the others do
    from mktsync import plan_config
    from mktsync.plan.file import write_plan

    start = time.perf_counter()
    _config, plan = plan_config(config_path)
    planned = time.perf_counter()
    plan_peak, _ = peak_rss_mb()
    with open("/dev/null", "w", encoding="utf-8") as sink:
        write_plan(plan, sink)
    end = time.perf_counter()
    s = plan.summary
    return {
        "seconds": end - start,
        "plan_seconds": planned - start,
        "plan_peak_mb": plan_peak,
        "counts": {
            "send": s.trigger + s.retrigger,
            # 'changed' (sent before, retrigger: never) is not sent, like 'unchanged'.
            "unchanged": s.unchanged + getattr(s, "changed", 0),
            "filtered": s.filtered,
            "calls": s.trigger_calls,
        },
    }


def measure_check(config_path: Path) -> dict[str, Any]:
    """The check alone, on a read-only open of the steady ledger, as ``plan`` makes it."""
    from mktsync.config import load_config
    from mktsync.ledger import open_ledger

    config = load_config(config_path)
    with open_ledger(config.ledger.resolve(), config.base_dir, create=False) as ledger:
        start = time.perf_counter()
        records = ledger.check_integrity()
        return {"seconds": time.perf_counter() - start, "counts": {"records": records}}


def measure_naive(config_path: Path, mode: str) -> dict[str, Any]:
    if mode == "jinja":
        import jinja2.sandbox  # noqa: F401 - imported before the clock starts
    start = time.perf_counter()
    with open("/dev/null", "w", encoding="utf-8") as sink:
        counts = naive_plan(
            mode, config_path.parent / "registrations.csv", config_path.parent / "ledger.db", sink
        )
    return {"seconds": time.perf_counter() - start, "counts": counts}


def child(mode: str, config_path: Path, profile: bool) -> None:
    def measure() -> dict[str, Any]:
        if mode == "fill":
            return fill_ledger(config_path)
        if mode == "plan":
            return measure_plan(config_path)
        if mode == "plan-unchecked":
            from mktsync.ledger.reader import LedgerReader

            LedgerReader.check_integrity = lambda self: 0  # type: ignore[method-assign]
            return measure_plan(config_path)
        if mode == "check":
            return measure_check(config_path)
        return measure_naive(config_path, "jinja" if mode == "naive" else "format")

    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        result = profiler.runcall(measure)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(35)
    else:
        result = measure()
    result["peak_mb"], result["peak_source"] = peak_rss_mb()
    print(json.dumps(result))


def run(mode: str, config_path: Path, profile: bool = False) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", mode, str(config_path)]
    proc = subprocess.run(
        argv + (["--profile", "first"] if profile else []), capture_output=True, text=True
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{mode} failed (exit {proc.returncode})")
    if profile:
        sys.stderr.write(proc.stderr)
    return dict(json.loads(proc.stdout))


def best_of(repeat: int, config_path: Path, profile: bool) -> dict[str, dict[str, Any]]:
    """Each mode ``repeat`` times, the modes taking turns; per mode the fastest run (and the
    highest peak): a run slowed by other work on the machine does not count, and the
    ratios compare runs that each had the machine to themselves."""
    best: dict[str, dict[str, Any]] = {}
    for turn in range(repeat):
        for mode in MODES:
            r = run(mode, config_path, profile and mode == "plan" and turn == 0)
            r["runs"] = [r["seconds"]]
            if mode in best:
                r["runs"] = best[mode]["runs"] + r["runs"]
                r["peak_mb"] = max(r["peak_mb"], best[mode]["peak_mb"])
                r["seconds"] = min(r["seconds"], best[mode]["seconds"])
            best[mode] = r
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="rows, comma-separated")
    parser.add_argument(
        "--profile", choices=RUNS, help="cProfile mktsync's plan of this run, largest size"
    )
    parser.add_argument("--no-targets", action="store_true", help="report targets, exit 0")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each mode, taking turns; the fastest counts"
    )
    parser.add_argument(
        "--check-cost", action="store_true", help="plan with and without its ledger check"
    )
    parser.add_argument("--child", nargs=2, metavar=("MODE", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.profile is not None)
        return 0
    sizes = sorted({int(s.replace("_", "")) for s in args.sizes.split(",")})
    if args.check_cost:
        return check_cost(sizes, args.repeat)
    print(
        f"python {sys.version.split()[0]}; campaigns "
        + ", ".join(
            f"{c.name} ({len(c.tokens)} tokens, retrigger {c.retrigger})" for c in CAMPAIGNS
        )
        + "; seconds exclude interpreter start and imports; peak = each child's own VmHWM"
    )
    results: dict[tuple[int, str], dict[str, dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            folder = Path(tmp) / str(size)
            folder.mkdir()
            write_csv(folder / "registrations.csv", size)
            config_path = write_config(folder, "registrations.csv")
            for which in RUNS:
                if which == "steady":
                    t0 = time.perf_counter()
                    filled = run("fill", config_path)["records"]
                    print(
                        f"rows={size:,}: ledger filled with {filled:,} sent records in "
                        f"{time.perf_counter() - t0:.1f} s (not measured)",
                        flush=True,
                    )
                profile = args.profile == which and size == sizes[-1]
                r = best_of(args.repeat, config_path, profile)
                results[size, which] = r
                print(
                    f"rows={size:,} {which}: "
                    + "; ".join(
                        f"{m} {r[m]['seconds']:.2f} s (runs {', '.join(f'{x:.2f}' for x in r[m]['runs'])})"
                        f" {r[m]['peak_mb']:.0f} MB {r[m]['counts']}"
                        for m in MODES
                    ),
                    flush=True,
                )
                if len({json.dumps(r[m]["counts"], sort_keys=True) for m in MODES}) != 1:
                    print(f"MISMATCH rows={size:,} {which}: the three plans disagree")
                    return 1
    print_table(sizes, results)
    missed = check_targets(sizes, results)
    return 1 if missed and not args.no_targets else 0


def check_cost(sizes: list[int], repeat: int) -> int:
    """``plan`` with and without its ledger check, on a steady ledger of each size."""
    modes = ("plan", "plan-unchecked", "check")
    print("| rows | records | plan s | plan without the check s | check alone s | plan peak |")
    print("|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            folder = Path(tmp) / str(size)
            folder.mkdir()
            write_csv(folder / "registrations.csv", size)
            config_path = write_config(folder, "registrations.csv")
            records = run("fill", config_path)["records"]
            best: dict[str, dict[str, Any]] = {}
            for _ in range(repeat):
                for mode in modes:
                    r = run(mode, config_path)
                    if mode not in best or r["seconds"] < best[mode]["seconds"]:
                        best[mode] = r
            plan, unchecked, check = (best[m] for m in modes)
            if plan["counts"] != unchecked["counts"] or check["counts"]["records"] != records:
                print(f"MISMATCH rows={size:,}: {plan['counts']} {unchecked['counts']}")
                return 1
            print(
                f"| {size:,} | {records:,} | {plan['seconds']:.2f} | {unchecked['seconds']:.2f} "
                f"| {check['seconds']:.2f} | {plan['peak_mb']:.0f} MB |",
                flush=True,
            )
    return 0


def print_table(
    sizes: list[int], results: dict[tuple[int, str], dict[str, dict[str, Any]]]
) -> None:
    print()
    print(
        "| rows | run | to send | calls | plan s | naive s | floor s | naive/plan | plan/floor "
        "| plan peak | naive peak | floor peak |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        for which in RUNS:
            r = results[size, which]
            p, n, f = (r[m] for m in MODES)
            print(
                f"| {size:,} | {which} | {p['counts']['send']:,} | {p['counts']['calls']:,} "
                f"| {p['seconds']:.2f} | {n['seconds']:.2f} | {f['seconds']:.2f} "
                f"| {n['seconds'] / p['seconds']:.2f} | {p['seconds'] / f['seconds']:.2f} "
                f"| {p['peak_mb']:.0f} MB | {n['peak_mb']:.0f} MB | {f['peak_mb']:.0f} MB |"
            )
    print()


def check_targets(
    sizes: list[int], results: dict[tuple[int, str], dict[str, dict[str, Any]]]
) -> bool:
    """Print each of issue 16's targets for the largest size; True if any is missed."""
    big = sizes[-1]
    first, steady = results[big, "first"], results[big, "steady"]
    checks = [
        (
            f"first run peak RSS <= {FIRST_RSS_MB:g} MB",
            first["plan"]["peak_mb"],
            first["plan"]["peak_mb"] <= FIRST_RSS_MB,
        ),
        (
            f"first run time <= {FIRST_VS_FLOOR:g}x the floor",
            first["plan"]["seconds"] / first["floor"]["seconds"],
            first["plan"]["seconds"] <= FIRST_VS_FLOOR * first["floor"]["seconds"],
        ),
        (
            f"steady state >= {STEADY_VS_NAIVE:g}x faster than the naive script",
            steady["naive"]["seconds"] / steady["plan"]["seconds"],
            steady["naive"]["seconds"] >= STEADY_VS_NAIVE * steady["plan"]["seconds"],
        ),
        (
            f"steady state time <= {STEADY_VS_FLOOR:g}x the floor",
            steady["plan"]["seconds"] / steady["floor"]["seconds"],
            steady["plan"]["seconds"] <= STEADY_VS_FLOOR * steady["floor"]["seconds"],
        ),
    ]
    if len(sizes) > 1:
        before = results[sizes[-2], "first"]["plan"]["peak_mb"]
        growth = first["plan"]["peak_mb"] / before
        checks.append(
            (
                f"first run peak at {big:,} rows <= {FIRST_RSS_GROWTH:g}x the peak at "
                f"{sizes[-2]:,}",
                growth,
                growth <= FIRST_RSS_GROWTH,
            )
        )
    missed = False
    for what, value, ok in checks:
        print(f"target rows={big:,} {what}: {value:.2f} {'met' if ok else 'MISSED'}")
        missed |= not ok
    return missed


if __name__ == "__main__":
    raise SystemExit(main())
