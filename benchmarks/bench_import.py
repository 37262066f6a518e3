"""Benchmark: ``ledger import`` of N rows, peak memory and time (issue 25, point 4).

    python benchmarks/bench_import.py [--sizes 10000,100000,1000000] [--repeat 1]
                                      [--landed DIR] [--target-mb 150]

For each size N it writes a source of N registrations (distinct emails, one webinar,
one title), a ``campaigns.yaml`` whose campaign keys them ``email/webinar`` with one My
Token, and ``sent.csv`` listing every key as sent (``key,sent_at,my.WebinarTitle``):
adopting mktsync after an old script sent everything.  Each mode runs on a fresh
ledger in a child process of its own, which prints its own peak RSS
(``measure.peak_rss_mb``, VmHWM) and its seconds (interpreter start and imports
excluded):

- ``import``: ``mktsync.apply.baseline.import_sent`` -- the file read and checked, the
  campaign rendered and every key checked against it, the records written under the
  run lock in one transaction;
- ``landed`` (with ``--landed DIR``): the same call on the code in DIR, e.g. a
  checkout of main before this change (``git worktree add /tmp/landed main``);
- ``baseline``: what a competent user would write without mktsync's import: the file
  read with ``csv.reader`` and written with ``executemany`` in one transaction, records
  complete (token hash, checksum) but no key checked against the campaign;
- ``floor``: the least an import with the key check must do: both CSVs read with
  ``csv.reader`` (the source is what the keys are checked against) and one bare row
  per key written with ``executemany`` in one transaction.

The ledger must hold N records afterwards (``floor``: its bare table), or the benchmark
exits 1; it also exits 1 when ``import``'s peak at the largest size is above
``--target-mb``.  With ``--repeat R`` each mode runs R times and its fastest run counts.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CONFIG = """\
version: 1
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
"""
SENT_AT = "2026-11-03T10:00:00Z"


def write_inputs(folder: Path, rows: int) -> None:
    with (
        (folder / "registrations.csv").open("w", encoding="utf-8", newline="") as source,
        (folder / "sent.csv").open("w", encoding="utf-8", newline="") as sent,
    ):
        registrations, log = csv.writer(source), csv.writer(sent)
        registrations.writerow(["email", "webinar_id", "webinar_title"])
        log.writerow(["key", "sent_at", "my.WebinarTitle"])
        for i in range(rows):
            registrations.writerow([f"lead{i}@example.com", "wb-100", "Part one"])
            log.writerow([f"lead{i}@example.com/wb-100", SENT_AT, "Part one"])
    (folder / "campaigns.yaml").write_text(CONFIG, encoding="utf-8")


# -- the modes, each run in a child ----------------------------------------------------------
def run_import(folder: Path) -> int:
    from mktsync.apply.baseline import import_sent
    from mktsync.config import load_config
    from mktsync.ledger import open_ledger

    config = load_config(folder / "campaigns.yaml")
    with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
        import_sent(
            config, ledger, "webinar-reminder", folder / "sent.csv", why="benchmark", who="bench"
        )
    return count(folder / "ledger.db", "items")


def run_baseline(folder: Path) -> int:
    from mktsync.items import token_hash
    from mktsync.ledger import open_ledger
    from mktsync.ledger.integrity import record_checksum
    from mktsync.ledger.rows import RECORD_COLUMNS, encode_tokens

    with open_ledger("sqlite:///ledger.db", folder):
        pass  # the ledger's tables, made the way mktsync makes them
    conn = sqlite3.connect(folder / "ledger.db", isolation_level=None)
    marks = ", ".join("?" * len(RECORD_COLUMNS.split(",")))
    with (folder / "sent.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        conn.execute("BEGIN")
        rows = []
        for key, sent_at, title in reader:
            tokens = (("{{my.WebinarTitle}}", title),)
            thash, lead = token_hash(tokens), key.split("/")[0]
            rows.append(
                (1234, key, lead, None, encode_tokens(tokens), thash, "sent", 0, None, None,
                 "imported", 0, sent_at, sent_at, record_checksum(1234, key, "sent", thash, lead))
            )  # fmt: skip
            if len(rows) == 1000:
                conn.executemany(f"INSERT INTO items ({RECORD_COLUMNS}) VALUES ({marks})", rows)
                rows.clear()
        conn.executemany(f"INSERT INTO items ({RECORD_COLUMNS}) VALUES ({marks})", rows)
        conn.execute("COMMIT")
    conn.close()
    return count(folder / "ledger.db", "items")


def run_floor(folder: Path) -> int:
    conn = sqlite3.connect(folder / "floor.db", isolation_level=None)
    conn.execute("CREATE TABLE sent (key TEXT PRIMARY KEY, sent_at TEXT, title TEXT)")
    with (
        (folder / "sent.csv").open(encoding="utf-8", newline="") as sent,
        (folder / "registrations.csv").open(encoding="utf-8", newline="") as source,
    ):
        for _ in csv.reader(source):
            pass  # what the keys are checked against must at least be read
        reader = csv.reader(sent)
        next(reader)
        conn.execute("BEGIN")
        rows = []
        for row in reader:
            rows.append(row)
            if len(rows) == 1000:
                conn.executemany("INSERT INTO sent VALUES (?, ?, ?)", rows)
                rows.clear()
        conn.executemany("INSERT INTO sent VALUES (?, ?, ?)", rows)
        conn.execute("COMMIT")
    conn.close()
    return count(folder / "floor.db", "sent")


def count(db: Path, table: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


MODES = {"import": run_import, "landed": run_import, "baseline": run_baseline, "floor": run_floor}


def child(mode: str, folder: Path) -> None:
    from measure import peak_rss_mb

    os.chdir(folder)
    start = time.perf_counter()
    records = MODES[mode](folder)
    seconds = time.perf_counter() - start
    peak, source = peak_rss_mb()
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "source": source, "records": records}))


def run_child(mode: str, folder: Path, landed: Path | None) -> dict[str, Any]:
    for name in ("ledger.db", "ledger.db-wal", "ledger.db-shm", "floor.db"):
        (folder / name).unlink(missing_ok=True)
    here = str(Path(__file__).resolve().parent)
    env = dict(os.environ)
    if mode == "landed":
        assert landed is not None
        env["PYTHONPATH"] = os.pathsep.join([str(landed), here])  # that checkout's mktsync
    else:
        env["PYTHONPATH"] = here
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(folder)],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{mode} child failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="rows, smallest first")
    parser.add_argument("--repeat", type=int, default=1, help="runs per mode; the fastest counts")
    parser.add_argument("--landed", type=Path, help="a checkout of the code before, to compare")
    parser.add_argument("--modes", default="import,baseline,floor", help="landed is added")
    parser.add_argument("--target-mb", type=float, default=150.0, help="import's peak, largest N")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if args.landed is not None and "landed" not in modes:
        modes.insert(1, "landed")
    print(f"python {sys.version.split()[0]}; ledger import of N rows, every key sent before")
    print("| rows | mode | seconds | peak RSS | records | seconds / floor | peak / floor |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    problems = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
            folder = Path(tmp)
            write_inputs(folder, size)
            best: dict[str, dict[str, Any]] = {}
            for _ in range(args.repeat):
                for mode in modes:  # the modes take turns: load moves them alike
                    r = run_child(mode, folder, args.landed)
                    if mode not in best or r["seconds"] < best[mode]["seconds"]:
                        best[mode] = r
            floor = best.get("floor")
            for mode in modes:
                r = best[mode]
                ratios = "- | -"
                if floor is not None:
                    ratios = (
                        f"{r['seconds'] / floor['seconds']:.2f} | "
                        f"{r['peak_mb'] / floor['peak_mb']:.2f}"
                    )
                print(
                    f"| {size:,} | {mode} | {r['seconds']:.2f} | {r['peak_mb']:,.1f} MB "
                    f"| {r['records']:,} | {ratios} |"
                )
                if r["records"] != size:
                    problems.append(f"{mode} N={size}: {r['records']} records, expected {size}")
            if "import" in best and "baseline" in best:
                mine, theirs = best["import"], best["baseline"]
                print(
                    f"N={size:,}: import/baseline seconds {mine['seconds'] / theirs['seconds']:.2f}"
                    f", peak {mine['peak_mb'] / theirs['peak_mb']:.2f}"
                )
            if (
                "import" in best
                and size == sizes[-1]
                and best["import"]["peak_mb"] > args.target_mb
            ):
                problems.append(
                    f"import N={size}: peak {best['import']['peak_mb']:.1f} MB > {args.target_mb:g}"
                )
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
