"""How fast the ledger answers a planner: ``lookup`` of N keys over M records.

    python benchmarks/bench_ledger.py [--records 500000] [--keys 1000000] [--url URL]

Fills a fresh ledger (SQLite in a temp dir unless ``--url``) with M records in one
campaign, then looks up N keys of which M exist, in batches of 10,000 as a planner
would, and prints keys per second.  Also times ``mark_pending`` + ``mark_sent`` of 100.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from mktsync.items import Item
from mktsync.ledger import open_ledger

TOKENS = (("{{my.Title}}", "Webinar 1"), ("{{my.Link}}", "https://example.com/j/1"))


def _items(start: int, stop: int) -> list[Item]:
    return [
        Item(campaign="bench", campaign_id=1, key=f"lead{i}@example.com/w1", lead_id=None,
             email=f"lead{i}@example.com", tokens=TOKENS, source="bench", row=i)
        for i in range(start, stop)
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or "sqlite:///ledger.db"
        with open_ledger(url, Path(tmp)) as ledger, ledger.lock(command="bench"):
            run = ledger.start_run(command="bench")
            t0 = time.perf_counter()
            for start in range(0, args.records, 10_000):
                ledger.mark_pending(run, _items(start, min(start + 10_000, args.records)))
            fill = time.perf_counter() - t0
            print(f"fill: {args.records} records in {fill:.1f} s")
            keys = [f"lead{i}@example.com/w1" for i in range(args.keys)]
            t0 = time.perf_counter()
            found = 0
            for start in range(0, len(keys), 10_000):
                found += len(ledger.lookup(1, keys[start : start + 10_000]))
            took = time.perf_counter() - t0
            print(f"lookup: {len(keys)} keys, {found} found, {took:.2f} s, "
                  f"{len(keys) / took:,.0f} keys/s")  # fmt: skip
            batch = _items(args.records, args.records + 100)
            t0 = time.perf_counter()
            rounds = 50
            for _ in range(rounds):
                ledger.mark_pending(run, batch)
                ledger.mark_sent(run, 1, [i.key for i in batch], request_id="r")
            took = time.perf_counter() - t0
            print(f"mark_pending + mark_sent of 100 keys: {took / rounds * 1000:.1f} ms a pair")
            ledger.finish_run(run, counts={}, exit_status=0)


if __name__ == "__main__":
    main()
