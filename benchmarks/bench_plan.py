"""Benchmark: ``mktsync plan --format json`` over a big CSV and a half-full ledger (issue 5).

    python benchmarks/bench_plan.py [--rows 1000000] [--small N]

For each size (``--small``, default rows // 4, then ``--rows``) writes bench_render's CSV
(shaped like ``data/registrations.csv``) and a ``campaigns.yaml`` with one campaign (the example's
``webinar-reminder``), fills a SQLite ledger with the first half of the rendered items as
``sent`` (every 50th with an older join link, so it plans as ``~ retrigger``; fill time is
not measured), then measures in a fresh subprocess each:

- ``plan``: the whole path of ``plan --format json``: ``load_config``, ``open_ledger``
  (read-only), ``make_plan``, ``planfile.write_plan`` streamed to /dev/null (as the CLI does);
- ``baseline``: bench_render's own baseline (imported): ``csv.DictReader`` and
  ``template.render(row=row)`` on a sandboxed Jinja template for each of the campaign's six
  templates, for every row.

Peak RSS is the child's ``ru_maxrss``.  Prints seconds, RSS, the plan's counts, and the
ratio ``plan seconds / baseline seconds`` per size (the line starting ``ratio``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mktsync.items import Item

# The baseline is bench_render's own (issue 5 asks for "the baseline of Sources and
# rendering"): the same six webinar-reminder templates, rendered with plain Jinja per row.
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_render import TEMPLATES
from bench_render import generate as write_csv
from bench_render import measure_baseline as render_baseline

CONFIG = """\
version: 1
ledger: sqlite:///ledger.db
sources:
  registrations:
    type: csv
    path: {csv}
campaigns:
  webinar-reminder:
    campaign_id: 1234
    source: registrations
    when: "{when}"
    lead:
      email: "{email}"
    key: "{key}"
    retrigger: on_change
    tokens:
      my.WebinarTitle: "{title}"
      my.JoinLink: "{link}"
      my.WebinarImage: "{image}"
"""
CHANGED_EVERY = 50  # every 50th ledger record holds an older join link: a retrigger
FILL_BATCH = 50_000


def write_config(folder: Path, csv_name: str) -> Path:
    path = folder / "campaigns.yaml"
    path.write_text(
        CONFIG.format(
            csv=csv_name,
            when=TEMPLATES["when"],
            email=TEMPLATES["email"],
            key=TEMPLATES["key"],
            title=TEMPLATES["my.WebinarTitle"],
            link=TEMPLATES["my.JoinLink"],
            image=TEMPLATES["my.WebinarImage"],
        ),
        encoding="utf-8",
    )
    return path


def fill_ledger(config_path: Path, records: int) -> int:
    """Mark the first ``records`` rendered items sent, in big batches under one lock."""
    from mktsync.config import load_config
    from mktsync.items import Item
    from mktsync.ledger import open_ledger
    from mktsync.render import iter_items

    config = load_config(config_path)
    campaign = config.campaigns["webinar-reminder"]
    items = (x for x in iter_items(config, campaign) if isinstance(x, Item))
    filled = 0
    with (
        open_ledger(config.ledger.resolve(), config.base_dir) as ledger,
        ledger.lock(command="bench fill"),
    ):
        run = ledger.start_run(command="bench fill")
        while batch := list(islice(items, min(FILL_BATCH, records - filled))):
            batch = [
                _older(item) if (filled + n) % CHANGED_EVERY == 0 else item
                for n, item in enumerate(batch)
            ]
            ledger.mark_pending(run, batch)
            ledger.mark_sent(run, campaign.campaign_id, [i.key for i in batch], request_id="b")
            filled += len(batch)
        ledger.finish_run(run, counts={"sent": filled}, exit_status=0)
    return filled


def _older(item: Item) -> Item:
    """The item as it was sent last time: another join link."""
    tokens = tuple(
        (name, value + "-old" if name == "{{my.JoinLink}}" else value)
        for name, value in item.tokens
    )
    return dataclasses.replace(item, tokens=tokens)


def measure_plan(config_path: Path) -> dict[str, object]:
    from mktsync import plan_config
    from mktsync.planfile import write_plan

    start = time.perf_counter()
    _config, plan = plan_config(config_path)
    planned = time.perf_counter()
    plan_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/dev/null", "w", encoding="utf-8") as sink:
        write_plan(plan, sink)
    end = time.perf_counter()
    s = plan.summary
    counts = {k: getattr(s, k) for k in ("trigger", "retrigger", "unchanged", "filtered")}
    counts["calls"] = s.total_calls
    return {
        "seconds": end - start,
        "plan_seconds": planned - start,
        "dump_seconds": end - planned,
        "plan_rss_mb": plan_rss,
        "counts": counts,
    }


def measure_baseline(config_path: Path) -> dict[str, object]:
    result = render_baseline(config_path.parent / "registrations.csv")
    return {"seconds": result["seconds"], "counts": {"rows": result["rows"]}}


def child(mode: str, config_path: Path, profile: bool) -> None:
    measure = measure_plan if mode == "plan" else measure_baseline
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        result = profiler.runcall(measure, config_path)
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    else:
        result = measure(config_path)
    result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run(mode: str, config_path: Path, profile: bool = False) -> dict[str, object]:
    argv = [sys.executable, __file__, "--child", mode, str(config_path)]
    proc = subprocess.run(
        argv + (["--profile"] if profile else []), check=True, capture_output=True, text=True
    )
    if profile:
        sys.stderr.write(proc.stderr)
    return dict(json.loads(proc.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=None, help="second size (default rows // 4)")
    parser.add_argument("--ledger", type=int, default=None, help="records (default rows // 2)")
    parser.add_argument("--profile", action="store_true", help="cProfile the plan to stderr")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.profile)
        return
    small = args.small if args.small is not None else max(args.rows // 4, 1)
    print(f"python {sys.version.split()[0]}; one campaign, {len(TEMPLATES)} templates per row")
    with tempfile.TemporaryDirectory() as tmp:
        for size in dict.fromkeys([small, args.rows]):
            folder = Path(tmp) / str(size)
            folder.mkdir()
            write_csv(folder / "registrations.csv", size)
            config_path = write_config(folder, "registrations.csv")
            want = args.ledger if args.ledger is not None else size // 2
            t0 = time.perf_counter()
            filled = fill_ledger(config_path, want)
            print(
                f"rows={size:,}: ledger filled with {filled:,} sent records "
                f"in {time.perf_counter() - t0:.1f} s (not measured)"
            )
            plan = run("plan", config_path, args.profile and size == args.rows)
            base = run("baseline", config_path)
            for name, r in (("plan", plan), ("baseline", base)):
                print(
                    f"  {name:8} {float(r['seconds']):7.2f} s  "  # type: ignore[arg-type]
                    f"peak RSS {float(r['max_rss_mb']):7.1f} MB  {r['counts']}"  # type: ignore[arg-type]
                )
            print(
                f"  (plan: {float(plan['plan_seconds']):.2f} s to plan, "  # type: ignore[arg-type]
                f"{float(plan['dump_seconds']):.2f} s to write JSON; "  # type: ignore[arg-type]
                f"peak RSS {float(plan['plan_rss_mb']):.0f} MB before the JSON)"  # type: ignore[arg-type]
            )
            ratio = float(plan["seconds"]) / float(base["seconds"])  # type: ignore[arg-type]
            print(
                f"ratio rows={size:,} ledger={filled:,}: plan/baseline = {ratio:.2f} "
                f"(plan {float(plan['seconds']):.2f} s, "  # type: ignore[arg-type]
                f"baseline {float(base['seconds']):.2f} s, "  # type: ignore[arg-type]
                f"plan peak RSS {float(plan['max_rss_mb']):.0f} MB)"  # type: ignore[arg-type]
            )


if __name__ == "__main__":
    main()
