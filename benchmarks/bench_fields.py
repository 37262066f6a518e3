"""Benchmark: a per-person join link as a My Token vs as a lead field (issue 15).

    python benchmarks/bench_fields.py [--leads 10000] [--webinars 1]

Writes ``--leads`` registrations, each with its own join link, and two configs that
differ only in where the link goes: ``token`` (``my.JoinLink``: every lead its own token
set, so one trigger call per lead) and ``field`` (``fields: webinarJoinLink``: written 300
leads a call, then triggers of 100 leads sharing the webinar's tokens).  Each is planned
and applied against its own emulator (``mktsync.cli.demo.seed_for``, no latency, limits high
enough that the pace is not what is measured) on a fresh SQLite ledger, in the same run.
Prints per mode the plan's total calls, the calls the emulator's journal shows, the calls
by endpoint and the wall time of apply; then the ratio.  Exits 1 when the journal differs
from the plan, when apply did not exit 0, or when the ratio of the calls besides the lead
lookups (the same in both modes: one per 300 emails) misses ``--target`` (70); the ratio of
all calls is printed too.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from mktsync.apply import ApplyOptions, apply_config
from mktsync.cli.demo import seed_for
from mktsync.config import load_config
from mktsync.emulator import EmulatorOptions, serve
from mktsync.ledger import open_ledger
from mktsync.marketo import MarketoClient
from mktsync.plan import make_plan

HEAD = """\
version: 1
marketo:
  limits: {{calls: 100000, window_seconds: 20, concurrency: 10, daily_quota: 100000,
            safety_margin: 0}}
ledger: sqlite:///ledger.db
sources:
  regs: {{type: csv, path: regs.csv}}
campaigns:
  reminder:
    campaign_id: 1234
    source: regs
    lead: {{email: "{{{{ row.email }}}}"}}
    key: "{{{{ row.email }}}}/{{{{ row.webinar }}}}"
    tokens:
      my.WebinarTitle: "{{{{ row.webinar }}}}"
{link}"""
TOKEN = '      my.JoinLink: "https://j.example.com/{{ row.code }}"\n'
FIELD = '    fields:\n      webinarJoinLink: "https://j.example.com/{{ row.code }}"\n'


def run(mode: str, leads: int, webinars: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        with open(base / "regs.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["email", "webinar", "code"])
            for i in range(leads):
                w.writerow([f"user{i}@example.com", f"w{i % webinars}", f"code{i:06d}"])
        path = base / "campaigns.yaml"
        path.write_text(HEAD.format(link=TOKEN if mode == "token" else FIELD), encoding="utf-8")
        config = load_config(path)
        with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
            planned = make_plan(config, ledger).summary.total_calls
        seed = seed_for(config)
        options = EmulatorOptions(calls=100000, daily_quota=100000)
        with serve(seed=seed, options=options) as emu:
            with (
                open_ledger(config.ledger.resolve(), config.base_dir) as ledger,
                MarketoClient(
                    emu.base_url, emu.client_id, emu.client_secret, limits=config.marketo.limits
                ) as client,
            ):
                started = time.perf_counter()
                report = apply_config(config, ledger, client, ApplyOptions())
                seconds = time.perf_counter() - started
            journal = [e for e in emu.journal() if e.get("endpoint") != "identity"]
    return {
        "mode": mode,
        "planned": planned,
        "calls": len(journal),
        "by_endpoint": dict(Counter(str(e.get("endpoint")) for e in journal)),
        "seconds": seconds,
        "exit": report.exit_code,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--webinars", type=int, default=1)
    parser.add_argument("--target", type=float, default=70.0)
    args = parser.parse_args()
    results = [run(mode, args.leads, args.webinars) for mode in ("token", "field")]
    ok = True
    for r in results:
        print(
            f"{r['mode']:<6} planned {r['planned']:>6,}  made {r['calls']:>6,}  "
            f"apply {r['seconds']:7.2f} s  exit {r['exit']}  {r['by_endpoint']}"
        )
        ok = ok and r["planned"] == r["calls"] and r["exit"] == 0
    token, field = results

    def sends(r: dict[str, object]) -> int:
        by = r["by_endpoint"]
        assert isinstance(by, dict)
        return sum(n for e, n in by.items() if e != "leads_get")

    ratio = int(str(token["calls"])) / max(1, int(str(field["calls"])))
    send_ratio = sends(token) / max(1, sends(field))
    print(f"ratio  {ratio:.1f}x fewer API calls in all, lead lookups included")
    print(
        f"ratio  {send_ratio:.1f}x fewer calls besides the lead lookups both make alike"
        f" ({sends(token):,} vs {sends(field):,}; target {args.target:g}x)"
    )
    return 0 if ok and send_ratio >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
