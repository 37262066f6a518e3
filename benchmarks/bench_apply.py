"""Benchmark: ``apply`` against the emulator at Marketo's pace, beside a common client (issue 6).

    python benchmarks/bench_apply.py [--leads 550] [--latency 0.15-0.25] [--calls 50]
                                     [--window 5] [--baseline-seconds 15]

Writes a CSV of ``--leads`` registrations, each with its own join link (one lead per token
set, so one trigger call per lead), and a ``campaigns.yaml`` whose limits match the
emulator's (``--calls`` per ``--window`` seconds, concurrency 10, no safety margin).  Then:

- ``apply``: an emulator seeded by ``mktsync.cli.demo.seed_for`` with that per-call latency and
  those limits; ``apply_config`` with a ``MarketoClient`` on a fresh SQLite ledger;
- ``baseline``: a fresh emulator alike; one thread posting raw httpx trigger calls one
  lead at a time, waiting until 0.2 s have passed since the previous call returned, as
  marketo-rest-python's ``_rate_limited(5)`` does, for ``--baseline-seconds``.

The ceiling is ``calls / window`` per second.  A sliding window lets the first ``calls``
go at once, so calls/elapsed overstates a short run; instead the achieved rate is the
least time the ceiling allows from the first to the last counted call (call k + calls no
sooner than one window after call k) over the time the emulator's journal shows, times
the ceiling.  The line starting ``ratio`` gives it as a share of the ceiling, the 606/615
refusals, and calls made against the plan's ``total_calls``.  Exits 1 when the share
misses ``--target`` (default 0.95, issue 6), when a call was refused, when the calls made
differ from the plan's, or when apply did not exit 0.
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from mktsync.apply import ApplyOptions, apply_config
from mktsync.cli.demo import seed_for
from mktsync.config import load_config
from mktsync.emulator import EmulatorOptions, serve
from mktsync.emulator.options import parse_latency
from mktsync.ledger import open_ledger
from mktsync.marketo import MarketoClient

CONFIG = """\
version: 1
marketo:
  limits:
    calls: {calls}
    window_seconds: {window}
    concurrency: {concurrency}
    daily_quota: 50000
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
    when: "{{{{ row.status == 'registered' and row.email != '' }}}}"
    lead:
      email: "{{{{ row.email }}}}"
    key: "{{{{ row.email | lower | trim }}}}/{{{{ row.webinar_id }}}}"
    retrigger: on_change
    tokens:
      my.WebinarTitle: "{{{{ row.webinar_title }}}}"
      my.JoinLink: "https://webinars.example.com/join/{{{{ row.join_code }}}}"
      my.WebinarImage: "{{{{ row.image_url }}}}"
"""
HEADER = ["email", "first_name", "status", "webinar_id", "webinar_title", "join_code", "image_url"]
BASELINE_GAP = 0.2  # marketo-rest-python: num_calls_per_second = 5, measured from the last return


def write_inputs(folder: Path, leads: int, calls: int, window: float, concurrency: int) -> Path:
    rng = random.Random(leads)
    with (folder / "registrations.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(leads):
            webinar = f"wb-{100 + i % 4}"
            writer.writerow(
                [f"lead{i}@example.com", "Ada", "registered", webinar, f"Part {i % 4}",
                 f"{rng.getrandbits(40):010X}", f"https://cdn.example.com/{webinar}.png"]
            )  # fmt: skip
    path = folder / "campaigns.yaml"
    path.write_text(
        CONFIG.format(calls=calls, window=window, concurrency=concurrency), encoding="utf-8"
    )
    return path


def pace(journal: list[dict[str, Any]], calls: int, window: float) -> tuple[int, float, float]:
    """Counted calls; the least first-to-last span a sliding window allows them, and the span
    seen (finish times from the emulator's journal)."""
    times = sorted(
        datetime.fromisoformat(e["time"]).timestamp() for e in journal if e.get("counted")
    )
    if not times:
        return 0, 0.0, 0.0
    # Call k + calls can start no sooner than one window after call k.
    return len(times), (len(times) - 1) // calls * window, times[-1] - times[0]


def mean_gap(journal: list[dict[str, Any]], calls: int) -> float | None:
    """Mean time between the finish of counted call k and of call k + calls (a slot's cycle)."""
    times = sorted(
        datetime.fromisoformat(e["time"]).timestamp() for e in journal if e.get("counted")
    )
    gaps = [b - a for a, b in zip(times, times[calls:], strict=False)]
    return sum(gaps) / len(gaps) if gaps else None


def bench_apply(config_path: Path, options: EmulatorOptions) -> dict[str, Any]:
    config = load_config(config_path)
    with serve(seed=seed_for(config), options=options) as emu:
        with (
            open_ledger(config.ledger.resolve(), config.base_dir) as ledger,
            MarketoClient(
                emu.base_url, emu.client_id, emu.client_secret, limits=config.marketo.limits
            ) as client,
        ):
            start = time.perf_counter()
            report = apply_config(config, ledger, client, ApplyOptions(lock_timeout=5.0))
            seconds = time.perf_counter() - start
        stats = emu.stats()
        journal = emu.journal()
    counted, ideal, span = pace(journal, options.calls, options.window_seconds)
    return {
        "seconds": seconds,
        "exit_code": report.exit_code,
        "counts": report.counts(),
        "plan_calls": report.plan.summary.total_calls,
        "trigger_calls": report.plan.summary.trigger_calls,
        "emulator_calls": stats["calls"],
        "counted": counted,
        "rejected": stats["rejected"],
        "by_endpoint": stats["by_endpoint"],
        "ideal_span": ideal,
        "span": span,
        "slot_cycle": mean_gap(journal, options.calls),
        "client_stats": dict(report.stats),
    }


def bench_baseline(config_path: Path, options: EmulatorOptions, seconds: float) -> dict[str, Any]:
    config = load_config(config_path)
    seed = seed_for(config)
    lead_ids = [int(lead["id"]) for lead in seed["leads"]]
    with serve(seed=seed, options=options) as emu, httpx.Client(base_url=emu.base_url) as http:
        token = http.get(
            "/identity/oauth/token",
            params={
                "grant_type": "client_credentials",
                "client_id": emu.client_id,
                "client_secret": emu.client_secret,
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        made = failed = 0
        last_return = 0.0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            gap = BASELINE_GAP - (time.perf_counter() - last_return)
            if gap > 0:
                time.sleep(gap)
            body = {
                "input": {
                    "leads": [{"id": lead_ids[made % len(lead_ids)]}],
                    "tokens": [{"name": "{{my.JoinLink}}", "value": f"https://j.example/{made}"}],
                }
            }
            reply = http.post("/rest/v1/campaigns/1234/trigger.json", json=body, headers=headers)
            last_return = time.perf_counter()
            made += 1
            failed += reply.json().get("success") is not True
        elapsed = time.perf_counter() - start
        stats = emu.stats()
    return {
        "seconds": elapsed,
        "calls": made,
        "failed": failed,
        "rate": made / elapsed,
        "rejected": stats["rejected"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--leads", type=int, default=550, help="leads, one trigger call each")
    parser.add_argument("--latency", default="0.15-0.25", help="emulator latency per call, s")
    parser.add_argument("--calls", type=int, default=50, help="calls per window (both sides)")
    parser.add_argument("--window", type=float, default=5.0, help="window seconds (both sides)")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--baseline-seconds", type=float, default=15.0)
    parser.add_argument(
        "--target", type=float, default=0.95, help="least share of the ceiling (default 0.95)"
    )
    args = parser.parse_args()
    options = EmulatorOptions(
        calls=args.calls,
        window_seconds=args.window,
        concurrency=args.concurrency,
        latency=parse_latency(args.latency),
        random_seed=1,
    )
    ceiling = args.calls / args.window
    print(
        f"python {sys.version.split()[0]}; emulator latency {args.latency} s, limits "
        f"{args.calls} calls / {args.window:g} s (ceiling {ceiling:g}/s), "
        f"concurrency {args.concurrency}; {args.leads} leads, one token set each"
    )
    with tempfile.TemporaryDirectory() as tmp:
        config_path = write_inputs(Path(tmp), args.leads, args.calls, args.window, args.concurrency)
        a = bench_apply(config_path, options)
        b = bench_baseline(config_path, options, args.baseline_seconds)
    overall = a["emulator_calls"] / a["seconds"]
    ideal = max(0, math.ceil(a["emulator_calls"] / args.calls) - 1) * args.window
    print(
        f"apply     {a['seconds']:6.1f} s  exit {a['exit_code']}  {a['counts']['calls_sent']} "
        f"trigger calls sent, {a['counts']['leads_triggered']} leads; emulator: "
        f"{a['emulator_calls']} calls counted {a['by_endpoint']}, rejected {a['rejected']}"
    )
    print(
        f"          overall {overall:.2f} calls/s over the whole apply (the sliding window's "
        f"first burst included; the ceiling allows it in >= {ideal:g} s)"
    )
    print(f"          client stats {a['client_stats']}")
    print(
        f"baseline  {b['seconds']:6.1f} s  {b['calls']} calls, {b['failed']} failed, "
        f"{b['rate']:.2f} calls/s, rejected {b['rejected']}"
    )
    refused = a["rejected"]["rate"] + a["rejected"]["concurrency"]
    equal = "=" if a["plan_calls"] == a["emulator_calls"] else "!="
    share: float | None = None
    if a["span"] > 0 and a["ideal_span"] > 0:
        share = a["ideal_span"] / a["span"]
        rate = f"{share * ceiling:.2f} calls/s = {share:.3f} of ceiling {ceiling:g}/s"
        speed = f"{share * ceiling / b['rate']:.1f}x"
    else:
        rate, speed = f"n/a (fits one window; ceiling {ceiling:g}/s)", "n/a"
    cycle = a["slot_cycle"]
    print(
        f"          {a['counted']} counted calls from first to last in {a['span']:.1f} s; the "
        f"ceiling allows {a['ideal_span']:g} s; mean slot cycle (call k to k+{args.calls}) "
        + (f"{cycle:.2f} s for a {args.window:g} s window" if cycle else "n/a")
    )
    print(
        f"ratio apply {rate}; baseline {b['rate']:.2f} calls/s = {b['rate'] / ceiling:.3f}; "
        f"apply/baseline {speed}; 606+615 refusals {refused}; calls made "
        f"{a['emulator_calls']} {equal} plan total_calls {a['plan_calls']}"
    )
    problems = []
    if share is None:
        problems.append("the run fits one window: no rate to compare (use more --leads)")
    elif share < args.target:
        problems.append(f"share of ceiling {share:.3f} < target {args.target:g}")
    if refused:
        problems.append(f"{refused} calls refused with 606/615")
    if equal != "=":
        problems.append("calls made differ from the plan's total_calls")
    if a["exit_code"] != 0:
        problems.append(f"apply exited {a['exit_code']}")
    for problem in problems:
        print(f"FAILED: {problem}")
    if not problems:
        print(f"target met: share of ceiling {share:.3f} >= {args.target:g}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
