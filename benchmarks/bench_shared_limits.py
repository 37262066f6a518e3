"""Benchmark: many mktsync processes on one Marketo instance, shared limits vs private (issue 24).

    python benchmarks/bench_shared_limits.py [--scale full|ci] [--processes 4] [--leads N]
        [--modes private,shared,kill] [--postgres URL] [--target 0.95] [--kill-target 0.9]
        [--no-targets]

``--processes`` applies run at once, each with its own config (its own campaign, one
trigger call per lead: a per-lead token), its own SQLite ledger and ``--leads`` leads,
against one emulator at Marketo's limits with per-call latency.  ``--scale full`` is
Marketo's: 100 calls per 20 s, 10 concurrent, 150-250 ms a call, 300 leads each.
``--scale ci`` divides every time and count by 5, keeping the ratios: 20 calls per 4 s,
2 concurrent, 30-50 ms a call, 60 leads each (the ceiling stays 5 calls/s; a run takes a
fifth of the time).  Modes, each on a fresh emulator and fresh ledgers:

- ``private``: today's behaviour, each process limiting only itself (``limits.Limiter``):
  the library's ``apply_config`` with a plain ``MarketoClient``, as ``mktsync apply`` ran
  before issue 24 (this script re-runs itself as that child, ``--child-private``);
- ``shared``: ``mktsync apply --yes`` with ``limits.shared: ${MKTSYNC_LIMITS_URL}``, one
  PostgreSQL for the limiter (``marketo.shared_limits``);
- ``kill``: ``shared``, and the first process is killed with SIGKILL once a third of its
  leads were triggered; the others' rate is measured from the end of its lease on;
- ``machine``: like ``shared`` without ``limits.shared``: the per-machine file.

PostgreSQL: ``--postgres URL`` (a server whose role may create databases; default
``$MKTSYNC_TEST_POSTGRES_URL``), else a throwaway server started as the test suite does
(``.ci/postgres.sh``) and stopped after.  The limiter's tables go into a database made for
the run and dropped after it.

Counted at the emulator: refusals (606 rate, 615 concurrency); calls counted (Marketo
counts a refused call too: it spends the daily quota); leads triggered (distinct, over
all processes) and each process's trigger calls and leads (by campaign: every lead
triggered exactly once, calls equal to the plan's); the combined rate of *admitted*
calls (counted and not refused: the work done) as a share of the ceiling
(``calls / window``), measured as ``bench_apply.py`` does (the least first-to-last span
the sliding window allows for those calls, over the span seen); after a kill, the same
from the end of the victim's lease to the last call.  Exits 1 when a
target is missed (``shared``, ``machine``: no refusal, share >= ``--target``, every
process exit 0 with its plan's calls and each lead once; ``kill``: the same for the
survivors, share after the lease >= ``--kill-target``), unless ``--no-targets``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
FIRST_CAMPAIGN = 3001
REFUSALS = frozenset({"606", "607", "615"})  # answered without doing anything


@dataclass(frozen=True)
class Scale:
    calls: int
    window: float
    concurrency: int
    latency: tuple[float, float]
    leads: int


SCALES = {
    "full": Scale(calls=100, window=20.0, concurrency=10, latency=(0.15, 0.25), leads=300),
    "ci": Scale(calls=20, window=4.0, concurrency=2, latency=(0.03, 0.05), leads=60),
}

CONFIG = """\
version: 1
marketo:
  base_url: ${{MARKETO_BASE_URL}}
  client_id: ${{MARKETO_CLIENT_ID}}
  client_secret: ${{MARKETO_CLIENT_SECRET}}
  limits:
    calls: {calls}
    window_seconds: {window}
    concurrency: {concurrency}
{shared}ledger: sqlite:///.mktsync/ledger.db
sources:
  regs: {{type: csv, path: regs.csv}}
campaigns:
  reminder-{n}:
    campaign_id: {campaign_id}
    source: regs
    lead: {{email: "{{{{ row.email }}}}"}}
    tokens:
      my.JoinLink: "https://webinars.example.com/join/{{{{ row.code }}}}"
"""


@dataclass
class Outcome:
    """What one mode measured."""

    mode: str
    seconds: float = 0.0
    exits: list[int | None] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)
    counted: int = 0
    triggered: int = 0  # distinct (campaign, lead) pairs triggered
    planned: int = 0
    share: float | None = None
    share_after_lease: float | None = None
    leads_failed: int = 0
    plan_ok: list[bool] = field(default_factory=list)  # per process: calls = plan, leads once
    notes: list[str] = field(default_factory=list)
    load: tuple[float, float] = (0.0, 0.0)


# -- the child that runs today's apply: a private limiter ------------------------------------


def child_private(config_path: Path) -> int:
    """``mktsync apply`` as it was before issue 24: the client's own limiter."""
    from mktsync.config import load_config
    from mktsync.errors import MktsyncError

    config = load_config(config_path)
    try:
        return _apply_private(config)
    except MktsyncError as exc:  # as the cli says it: one line, the error's exit code
        sys.stderr.write(f"error: {exc}\n")
        return exc.exit_code


def _apply_private(config: Any) -> int:
    from mktsync.apply import ApplyOptions, apply_config
    from mktsync.ledger import open_ledger
    from mktsync.marketo import MarketoClient
    from mktsync.report.outcome import render_apply_json

    with (
        open_ledger(config.ledger.resolve(), config.base_dir) as ledger,
        MarketoClient(
            os.environ["MARKETO_BASE_URL"],
            os.environ["MARKETO_CLIENT_ID"],
            os.environ["MARKETO_CLIENT_SECRET"],
            limits=config.marketo.limits,
        ) as client,
    ):
        report = apply_config(config, ledger, client, ApplyOptions(lock_timeout=30.0))
    sys.stdout.write(render_apply_json(report))
    return report.exit_code


# -- set-up ----------------------------------------------------------------------------------


def write_configs(folder: Path, scale: Scale, processes: int, *, shared: bool) -> list[Path]:
    rows = "".join(f"lead{j}@example.com,{j:06d}\n" for j in range(scale.leads))
    paths = []
    for n in range(processes):
        repo = folder / f"repo{n}"
        repo.mkdir(parents=True)
        (repo / "regs.csv").write_text("email,code\n" + rows, encoding="utf-8")
        text = CONFIG.format(
            calls=scale.calls,
            window=scale.window,
            concurrency=scale.concurrency,
            shared="    shared: ${MKTSYNC_LIMITS_URL}\n" if shared else "",
            n=n,
            campaign_id=FIRST_CAMPAIGN + n,
        )
        (repo / "campaigns.yaml").write_text(text, encoding="utf-8")
        paths.append(repo / "campaigns.yaml")
    return paths


def instance_seed(paths: list[Path]) -> dict[str, Any]:
    """One instance for every config: their campaigns and programs, and the leads (the
    same emails in each, so the same ids)."""
    from mktsync.cli.demo import seed_for
    from mktsync.config import load_config

    seeds = [seed_for(load_config(p)) for p in paths]
    merged = dict(seeds[0])
    for section in ("programs", "campaigns"):
        merged[section] = [entry for s in seeds for entry in s[section]]
    return merged


def plan_of(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "mktsync", "plan", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    summary: dict[str, Any] = json.loads(out)["summary"]
    return summary


@contextmanager
def postgres(given: str | None) -> Iterator[str]:
    """An admin URL: ``given``, or a throwaway server (.ci/postgres.sh) for the run."""
    if given:
        yield given
        return
    script = REPO / ".ci" / "postgres.sh"
    started = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    found = dict(re.findall(r"^export (\w+)=(\S+)$", started.stdout, re.MULTILINE))
    if started.returncode != 0 or "MKTSYNC_TEST_POSTGRES_URL" not in found:
        raise SystemExit(f"could not start PostgreSQL: {started.stderr.strip()}")
    try:
        yield found["MKTSYNC_TEST_POSTGRES_URL"]
    finally:
        subprocess.run(
            ["bash", str(script), "stop", found["MKTSYNC_TEST_POSTGRES_DIR"]],
            capture_output=True,
            check=False,
        )


@contextmanager
def database(admin_url: str) -> Iterator[str]:
    import psycopg

    name = f"mktsync_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rpartition("/")[0] + "/" + name
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- one mode --------------------------------------------------------------------------------


def run_mode(
    mode: str, folder: Path, scale: Scale, processes: int, limits_url: str, kill_at: int
) -> Outcome:
    from mktsync.emulator import EmulatorOptions, serve
    from mktsync.marketo.shared_limits import LEASE

    outcome = Outcome(mode=mode)
    load_before = os.getloadavg()[0]
    paths = write_configs(folder / mode, scale, processes, shared=mode in ("shared", "kill"))
    plans = [plan_of(p) for p in paths]
    options = EmulatorOptions(
        calls=scale.calls,
        window_seconds=scale.window,
        concurrency=scale.concurrency,
        latency=scale.latency,
        random_seed=1,
    )
    with serve(seed=instance_seed(paths), options=options) as emu:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MARKETO_")},
            "MARKETO_BASE_URL": emu.base_url,
            "MARKETO_CLIENT_ID": emu.client_id,
            "MARKETO_CLIENT_SECRET": emu.client_secret,
            "MKTSYNC_LIMITS_URL": limits_url,
        }
        procs = []
        for path in paths:
            if mode == "private":
                argv = [sys.executable, __file__, "--child-private", str(path)]
            else:
                argv = [sys.executable, "-m", "mktsync", "apply", str(path), "--yes"]
                argv += ["--format", "json"]
            out = (path.parent / "stdout.json").open("wb")
            err = (path.parent / "stderr.txt").open("wb")
            procs.append(subprocess.Popen(argv, env=env, stdout=out, stderr=err, cwd=path.parent))
        start = time.time()
        killed_at: float | None = None
        while any(p.poll() is None for p in procs):
            if mode == "kill" and killed_at is None:
                victim = sum(1 for t in emu.triggers() if int(t["campaign_id"]) == FIRST_CAMPAIGN)
                if victim >= kill_at:
                    procs[0].send_signal(signal.SIGKILL)
                    killed_at = time.time()
                    outcome.notes.append(
                        f"process 0 killed (SIGKILL) after {victim} of its {scale.leads} "
                        f"triggers, {killed_at - start:.1f} s in; lease {LEASE:g} s"
                    )
            time.sleep(0.05)
        outcome.seconds = time.time() - start
        outcome.exits = [p.returncode for p in procs]
        stats = emu.stats()
        journal = emu.journal()
        triggers = emu.triggers()
    outcome.load = (load_before, os.getloadavg()[0])
    outcome.refused = {k: stats["rejected"][k] for k in ("rate", "concurrency")}
    outcome.counted = sum(1 for e in journal if e.get("counted"))
    times = sorted(
        datetime.fromisoformat(e["time"]).timestamp()
        for e in journal
        if e.get("counted") and not REFUSALS & set(e.get("codes") or ())
    )
    outcome.share = share_of_ceiling(times, scale)
    if killed_at is not None:
        after = [t for t in times if t >= killed_at + LEASE]
        outcome.share_after_lease = share_of_ceiling(after, scale)
        if after:
            outcome.notes.append(
                f"after the lease: {len(after)} admitted calls in {after[-1] - after[0]:.1f} s"
            )
    by_campaign: dict[int, Counter[int]] = {}
    calls_of: Counter[int] = Counter()
    for t in triggers:
        cid = int(t["campaign_id"])
        calls_of[cid] += 1
        by_campaign.setdefault(cid, Counter()).update(int(lead) for lead in t["lead_ids"])
    for n, (path, plan) in enumerate(zip(paths, plans, strict=True)):
        cid = FIRST_CAMPAIGN + n
        leads = by_campaign.get(cid, Counter())
        outcome.triggered += len(leads)
        outcome.planned += scale.leads
        once = len(leads) == scale.leads and set(leads.values()) == {1}
        report = _report(path)
        sent_total = (report or {}).get("stats", {}).get("total_calls")
        outcome.leads_failed += (report or {}).get("totals", {}).get("leads_failed", 0)
        ok = once and calls_of[cid] == plan["trigger_calls"] and sent_total == plan["total_calls"]
        outcome.plan_ok.append(ok)
        if not ok:
            dupes = sum(1 for v in leads.values() if v > 1)
            outcome.notes.append(
                f"process {n}: {calls_of[cid]} trigger calls (plan {plan['trigger_calls']}), "
                f"{len(leads)} of {scale.leads} leads triggered, {dupes} more than once; "
                f"calls made {sent_total} (plan {plan['total_calls']})"
            )
    return outcome


def share_of_ceiling(times: list[float], scale: Scale) -> float | None:
    """Admitted calls (their times) as a share of the ceiling: the least span a sliding
    window allows them (call k + calls no sooner than one window after call k) over the
    span seen; None when they fit in one window (no rate to tell)."""
    if len(times) <= scale.calls or times[-1] <= times[0]:
        return None
    return (len(times) - 1) // scale.calls * scale.window / (times[-1] - times[0])


def _report(path: Path) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = json.loads((path.parent / "stdout.json").read_text())
    except (OSError, ValueError):
        return None
    return found


# -- the table -------------------------------------------------------------------------------

LABELS = {
    "private": "private limiter (before issue 24)",
    "shared": "shared limiter, PostgreSQL",
    "kill": "shared, one process SIGKILLed",
    "machine": "shared limiter, machine file",
}


def table(outcomes: list[Outcome], scale: Scale, processes: int) -> str:
    lines = [
        "| mode | seconds | calls counted | 606 / 615 refusals | leads triggered "
        "| leads failed | exit codes | share of ceiling | calls = plan, each lead once |",
        "|---|---:|---:|---:|---:|---:|---|---:|---|",
    ]
    for o in outcomes:
        share = f"{o.share:.3f}" if o.share is not None else "n/a"
        if o.share_after_lease is not None:
            share = f"{share}; after the lease **{o.share_after_lease:.3f}**"
        elif o.mode in ("shared", "machine") and o.share is not None:
            share = f"**{share}**"
        exits = " ".join("killed" if c == -signal.SIGKILL else str(c) for c in o.exits)
        ok = sum(o.plan_ok)
        lines.append(
            f"| {LABELS[o.mode]} | {o.seconds:.1f} | {o.counted:,} | {o.refused['rate']} / "
            f"{o.refused['concurrency']} | {o.triggered:,} of {o.planned:,} | "
            f"{o.leads_failed} | {exits} | {share} | "
            f"{ok} of {processes} |"
        )
    return "\n".join(lines)


def check(outcomes: list[Outcome], target: float, kill_target: float) -> list[str]:
    problems = []
    for o in outcomes:
        if o.mode == "private":
            continue
        refused = o.refused["rate"] + o.refused["concurrency"]
        if refused:
            problems.append(f"{o.mode}: {refused} calls refused with 606/615")
        survivors = o.exits[1:] if o.mode == "kill" else o.exits
        if any(code != 0 for code in survivors):
            problems.append(f"{o.mode}: exit codes {o.exits}")
        kept = o.plan_ok[1:] if o.mode == "kill" else o.plan_ok
        if not all(kept):
            problems.append(f"{o.mode}: a process's calls differ from its plan")
        if o.mode == "kill":
            if o.share_after_lease is None or o.share_after_lease < kill_target:
                problems.append(
                    f"kill: share after the lease {o.share_after_lease} < {kill_target:g}"
                )
        elif o.share is None or o.share < target:
            problems.append(f"{o.mode}: share of ceiling {o.share} < {target:g}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--leads", type=int, help="per process (default: the scale's)")
    parser.add_argument("--modes", default="private,shared,kill")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("MKTSYNC_TEST_POSTGRES_URL"),
        help="an admin URL (default: $MKTSYNC_TEST_POSTGRES_URL, else start one: .ci/postgres.sh)",
    )
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--kill-target", type=float, default=0.9)
    parser.add_argument("--no-targets", action="store_true")
    parser.add_argument("--child-private", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_private:
        return child_private(args.child_private)
    scale = SCALES[args.scale]
    if args.leads:
        scale = Scale(**{**scale.__dict__, "leads": args.leads})
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - set(LABELS)
    if unknown:
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    print(
        f"python {sys.version.split()[0]}; {os.cpu_count()} cores; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; scale {args.scale}: "
        f"{scale.calls} calls / {scale.window:g} s (ceiling {scale.calls / scale.window:g}/s), "
        f"{scale.concurrency} concurrent, latency {scale.latency[0]:g}-{scale.latency[1]:g} s; "
        f"{args.processes} processes x {scale.leads} per-lead trigger calls",
        flush=True,
    )
    outcomes = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        postgres(args.postgres) as admin,
        database(admin) as limits_url,
    ):
        for mode in modes:
            o = run_mode(mode, Path(tmp), scale, args.processes, limits_url, scale.leads // 3)
            print(
                f"{mode}: {o.seconds:.1f} s, exits {o.exits}, refused {o.refused}, share "
                f"{o.share}, after lease {o.share_after_lease}, load {o.load[0]:.2f} -> "
                f"{o.load[1]:.2f}",
                flush=True,
            )
            for note in o.notes:
                print(f"  {note}", flush=True)
            outcomes.append(o)
    print()
    print(table(outcomes, scale, args.processes))
    if args.no_targets:
        return 0
    problems = check(outcomes, args.target, args.kill_target)
    for problem in problems:
        print(f"FAILED: {problem}")
    if not problems:
        print(
            f"targets met: no refusal, share >= {args.target:g}, after a kill >= {args.kill_target:g}"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
