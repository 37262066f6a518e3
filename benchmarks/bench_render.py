"""Benchmark: source -> items for a CSV shaped like the example, against plain Jinja.

    python benchmarks/bench_render.py [--rows N] [--small M]

Writes N and M rows (default 1,000,000 and 100,000) to a temp dir, then measures, each
in its own subprocess so peak RSS is per measurement (``measure.peak_rss_mb``: the
child's own VmHWM, not the ``ru_maxrss`` it inherits from this process):

- ``items``: ``mktsync.render.iter_items`` for a webinar-reminder campaign (when, lead
  email, key, three tokens): CSV parsing, rendering, validation, duplicate check, items;
- ``items-no-fast``: the same with the fast paths switched off (every template through Jinja);
- ``rows``: the CSV source alone (``mktsync.sources.iter_rows``), to show its memory;
- ``baseline``: ``csv.DictReader`` and, for each row, ``template.render(row=row)`` on a
  sandboxed Jinja template for each of the six templates.

Prints rows/s and peak RSS for each, and the speed-up of ``items`` over ``baseline``.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import peak_rss_mb

HEADER = [
    "email",
    "marketo_id",
    "first_name",
    "status",
    "webinar_id",
    "webinar_title",
    "join_code",
    "image_url",
    "registered_at",
]
TEMPLATES = {
    "when": "{{ row.status == 'registered' and row.email != '' }}",
    "email": "{{ row.email }}",
    "key": "{{ row.email | lower | trim }}/{{ row.webinar_id }}",
    "my.WebinarTitle": "{{ row.webinar_title }}",
    "my.JoinLink": "https://webinars.example.com/join/{{ row.join_code }}",
    "my.WebinarImage": "{{ row.image_url }}",
}
NAMES = ["Ada", "Grace", "Zoë", "Łukasz", "Margaret", "Donald", "Radia", "Barbara"]


MODES = ("rows", "items", "items-no-fast", "baseline")


def generate(path: Path, rows: int) -> None:
    rng = random.Random(rows)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(rows):
            webinar = f"wb-{100 + i % 40}"
            writer.writerow(
                [
                    f"User.{i}@Example.com",
                    str(1000 + i) if i % 3 else "",
                    rng.choice(NAMES),
                    "registered" if rng.random() < 0.8 else "cancelled",
                    webinar,
                    f"Scaling Marketo Ops, part {i % 40}",
                    f"{rng.getrandbits(40):010X}",
                    f"https://cdn.example.com/webinars/{webinar}.png",
                    f"2026-11-{1 + i % 28:02d}T09:{i % 60:02d}:00Z",
                ]
            )


def measure_items(path: Path, fast: bool) -> dict[str, object]:
    from mktsync.config.model import (
        Campaign,
        Config,
        EnvString,
        LeadSpec,
        MarketoSettings,
        Position,
        SourceSpec,
        Template,
        TokenSpec,
    )
    from mktsync.render import fast as fast_module
    from mktsync.render import iter_items

    if not fast:
        fast_module.python_source = lambda *args: None  # type: ignore[assignment]
    at = Position(file="campaigns.yaml", line=1, column=1)

    def template(name: str) -> Template:
        return Template(text=TEMPLATES[name], field=name, position=at)

    spec = SourceSpec(
        name="registrations",
        type="csv",
        options={"path": path.name},
        base_dir=path.parent,
        position=at,
    )
    campaign = Campaign(
        name="webinar-reminder",
        campaign_id=1234,
        source="registrations",
        lead=LeadSpec(email=template("email")),
        when=template("when"),
        key=template("key"),
        retrigger="on_change",
        tokens=tuple(
            TokenSpec(name=f"{{{{{n}}}}}", template=template(n))
            for n in TEMPLATES
            if n.startswith("my.")
        ),
        position=at,
    )
    config = Config(
        path=path.parent / "campaigns.yaml",
        base_dir=path.parent,
        version=1,
        marketo=MarketoSettings(),
        ledger=EnvString(raw="sqlite:///ledger.db"),
        sources={"registrations": spec},
        campaigns={campaign.name: campaign},
        digest="0" * 64,
    )
    start = time.perf_counter()
    counts = Counter(map(type, iter_items(config, campaign)))
    seconds = time.perf_counter() - start
    return {
        "rows": sum(counts.values()),
        "seconds": seconds,
        "counts": {kind.__name__: n for kind, n in counts.items()},
    }


def measure_rows(path: Path) -> dict[str, object]:
    from mktsync.config.model import Position, SourceSpec
    from mktsync.sources import iter_rows

    at = Position(file="campaigns.yaml", line=1, column=1)
    spec = SourceSpec(
        name="registrations",
        type="csv",
        options={"path": path.name},
        base_dir=path.parent,
        position=at,
    )
    start = time.perf_counter()
    rows = sum(1 for _ in iter_rows(spec))
    return {"rows": rows, "seconds": time.perf_counter() - start, "counts": {}}


def measure_baseline(path: Path) -> dict[str, object]:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(undefined=StrictUndefined)
    templates = [env.from_string(text) for text in TEMPLATES.values()]
    start = time.perf_counter()
    rows = 0
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            rows += 1
            for template in templates:
                template.render(row=row)
    return {"rows": rows, "seconds": time.perf_counter() - start, "counts": {}}


def child(mode: str, path: Path) -> None:
    if mode == "baseline":
        result = measure_baseline(path)
    elif mode == "rows":
        result = measure_rows(path)
    else:
        result = measure_items(path, fast=mode == "items")
    result["max_rss_mb"] = peak_rss_mb()[0]
    print(json.dumps(result))


def run(mode: str, path: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=None, help="second N (default rows // 10)")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    sizes = [args.small if args.small is not None else max(args.rows // 10, 1), args.rows]
    print(f"python {sys.version.split()[0]}; templates per row: {len(TEMPLATES)}")
    with tempfile.TemporaryDirectory() as tmp:
        results: dict[tuple[str, int], dict[str, object]] = {}
        for size in sizes:
            path = Path(tmp) / f"registrations-{size}.csv"
            generate(path, size)
            for mode in MODES:
                r = run(mode, path)
                results[mode, size] = r
                rate = float(r["rows"]) / float(r["seconds"])  # type: ignore[arg-type]
                print(
                    f"{mode:14} rows={size:>9,} {rate:>10,.0f} rows/s  "
                    f"{float(r['seconds']):7.2f} s  peak RSS {float(r['max_rss_mb']):7.1f} MB  "  # type: ignore[arg-type]
                    f"{r['counts']}"
                )
        for size in sizes:
            fast = results["items", size]
            base = results["baseline", size]
            speedup = (float(fast["rows"]) / float(fast["seconds"])) / (  # type: ignore[arg-type]
                float(base["rows"]) / float(base["seconds"])  # type: ignore[arg-type]
            )
            print(f"rows={size:,}: items is {speedup:.1f}x the baseline's rows/s")


if __name__ == "__main__":
    main()
