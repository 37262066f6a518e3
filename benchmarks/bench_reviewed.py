"""Benchmark: what ``apply --reviewed`` costs to hold a reviewed plan of N leads (issue 21).

    python benchmarks/bench_reviewed.py [--leads 1000000]

The parent writes a saved plan of N leads (``plan.file.write_plan``: one campaign, one
shared token set, a lead field per lead, 100 leads a call), then a child process of its
own reads it as ``apply --reviewed`` does: ``load_plan`` (calls left in the file),
``ReviewedSet.of`` (the digests of what it sends, on disk), and ``reasons`` for N items
due now, of which one in a thousand has another lead field value (held, ``differs``).
The child prints the seconds of each step, the items held, the size of its private temp
file and its own peak RSS (``measure.peak_rss_mb``).  Exits 1 when the held count is not
N / 1000.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import peak_rss_mb

from mktsync.config.model import Limits
from mktsync.items import Item
from mktsync.plan import Action, Binding, Call, CampaignPlan, Plan, PlannedItem
from mktsync.plan.lists import StreamedSequence

TOKENS = (("{{my.Webinar}}", "Scaling Marketo Ops with Git"),)


def item(n: int, *, link: str | None = None) -> Item:
    return Item(
        campaign="reminder",
        campaign_id=1234,
        key=f"user{n}@example.com/wb-{n % 7}",
        lead_id=None,
        email=f"user{n}@example.com",
        tokens=TOKENS,
        source="registrations",
        row=n + 2,
        synced=(("webinarJoinLink", link or f"https://webinars.example.com/join/{n:08x}"),),
    )


class _Calls(StreamedSequence[Call]):
    def __init__(self, leads: int) -> None:
        self._leads = leads

    def __len__(self) -> int:
        return -(-self._leads // 100)

    def __iter__(self) -> Iterator[Call]:
        for start in range(0, self._leads, 100):
            stop = min(start + 100, self._leads)
            items = tuple(
                PlannedItem(item=item(n), action=Action.TRIGGER) for n in range(start, stop)
            )
            yield Call(campaign_id=1234, tokens=TOKENS, items=items)


def write(path: Path, leads: int) -> None:
    from datetime import UTC, datetime

    from mktsync.plan.file import write_plan

    campaign = CampaignPlan(
        name="reminder",
        campaign_id=1234,
        source="registrations",
        counts={"trigger": leads},
        calls=_Calls(leads),
        invalid=(),
        unknown=(),
        lookup_emails=leads,
        lookup_calls=-(-leads // 300),
        one_lead_per_call=False,
    )
    plan = Plan(
        config_path="campaigns.yaml",
        config_digest="0" * 64,
        ledger_fingerprint="empty",
        limits=Limits(),
        max_calls=None,
        retry_unknown=False,
        campaigns=(campaign,),
        now=datetime(2026, 12, 5, 9, tzinfo=UTC),
        binding=Binding(ledger="sqlite:///.mktsync/ledger.db"),
    )
    with open(path, "w", encoding="utf-8") as f:
        write_plan(plan, f)


def child(path: Path, leads: int) -> None:
    from mktsync.plan.file import load_plan
    from mktsync.plan.filecalls import ReviewedSet

    started = time.perf_counter()
    plan = load_plan(path)
    loaded = time.perf_counter()
    reviewed = ReviewedSet.of(plan)
    built = time.perf_counter()
    temp = 0
    for fd in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        try:  # the private temp file is unlinked at once: find it among the open files
            if os.readlink(f"/proc/self/fd/{fd}").endswith("(deleted)"):
                temp += os.fstat(int(fd)).st_size
        except OSError:
            continue
    held = 0
    for start in range(0, leads, 2000):
        batch = [
            item(n, link="changed" if n % 1000 == 999 else None)
            for n in range(start, min(start + 2000, leads))
        ]
        held += sum(r is not None for r in reviewed.reasons(batch))
    matched = time.perf_counter()
    peak, source = peak_rss_mb()
    print(
        json.dumps(
            {
                "leads": leads,
                "load_s": round(loaded - started, 1),
                "build_s": round(built - loaded, 1),
                "match_s": round(matched - built, 1),
                "held": held,
                "temp_mb": round(temp / 1e6, 1),
                "peak_mb": round(peak, 1),
                "peak_source": source,
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.leads)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.json"
        write(path, args.leads)
        size = path.stat().st_size
        proc = subprocess.run(
            [sys.executable, __file__, "--leads", str(args.leads), "--child", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        return 1
    result = json.loads(proc.stdout)
    print(
        f"| {result['leads']:,} leads | plan file {size / 1e6:.0f} MB | load {result['load_s']} s "
        f"| digests {result['build_s']} s | match {result['match_s']} s | held "
        f"{result['held']:,} | temp {result['temp_mb']} MB | peak {result['peak_mb']} MB "
        f"({result['peak_source']}) |"
    )
    return 0 if result["held"] == args.leads // 1000 else 1


if __name__ == "__main__":
    raise SystemExit(main())
