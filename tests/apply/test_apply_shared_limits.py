"""One Marketo instance, many runners (issue 24): applies of separate configs and ledgers,
run at once as real processes against one emulator, draw from one rate window and one set
of concurrency slots -- in PostgreSQL, or in a file on this machine -- and Marketo
refuses none of their calls.  A run whose PostgreSQL goes away stops sending (exit 1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from testing.project import LEAD_BY_EMAIL, MARKETO_FROM_ENV, csv_source, csv_text, flow
from testing.project import write_project as write_files

from mktsync.cli.demo import seed_for
from mktsync.config import load_config
from mktsync.emulator import Emulator, EmulatorOptions, serve

LEADS = 12
# The emulator's limits, which every config declares too (no safety margin).
CALLS, WINDOW, CONCURRENCY = 6, 1.0, 2


def write_config(
    folder: Path,
    campaign_id: int,
    *,
    shared: bool,
    leads: int = LEADS,
    calls: int = CALLS,
    window: float = WINDOW,
) -> Path:
    """A config of its own (campaign ``campaign_id``, one call per lead: a per-lead token)
    with its own SQLite ledger; ``shared``: ``limits.shared: ${MKTSYNC_LIMITS_URL}``."""
    limits: dict[str, Any] = {"calls": calls, "window_seconds": window, "concurrency": CONCURRENCY}
    if shared:
        limits["shared"] = "${MKTSYNC_LIMITS_URL}"
    rows = [{"email": f"user{i}@example.com", "code": f"c{i}"} for i in range(leads)]
    return write_files(
        folder,
        marketo={**MARKETO_FROM_ENV, "limits": flow(**limits)},
        sources={"regs": csv_source("regs.csv")},
        campaigns={
            f"reminder-{campaign_id}": {
                "campaign_id": campaign_id,
                "source": "regs",
                "lead": LEAD_BY_EMAIL,
                "tokens": {"my.Link": "https://example.com/{{ row.code }}"},
            }
        },
        files={"regs.csv": csv_text(rows)},
    )


def one_instance(paths: Sequence[Path], options: EmulatorOptions) -> Any:
    """One emulator under which every config can be applied: their campaigns and programs
    together, and the leads (the same emails, so the same ids, in each)."""
    seeds = [seed_for(load_config(p)) for p in paths]
    merged = dict(seeds[0])
    for section in ("programs", "campaigns"):
        merged[section] = [entry for s in seeds for entry in s[section]]
    return serve(seed=merged, options=options)


def environment(emu: Emulator, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("MARKETO_")},
        "MARKETO_BASE_URL": emu.base_url,
        "MARKETO_CLIENT_ID": emu.client_id,
        "MARKETO_CLIENT_SECRET": emu.client_secret,
        **extra,
    }


def start_apply(path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "mktsync", "apply", str(path), "--yes", "--format", "json"]
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def triggered(emu: Emulator) -> Counter[tuple[int, int]]:
    seen: Counter[tuple[int, int]] = Counter()
    for t in emu.triggers():
        for lead in t["lead_ids"]:
            seen[(int(t["campaign_id"]), int(lead))] += 1
    return seen


def run_together(paths: Sequence[Path], extra_env: dict[str, str]) -> tuple[Any, Emulator]:
    options = EmulatorOptions(
        calls=CALLS,
        window_seconds=WINDOW,
        concurrency=CONCURRENCY,
        latency=(0.02, 0.05),
    )
    with one_instance(paths, options) as emu:
        env = environment(emu, **extra_env)
        procs = [start_apply(p, env) for p in paths]
        outputs = [p.communicate(timeout=240) for p in procs]
        results = [
            (p.returncode, out.decode(), err.decode())
            for p, (out, err) in zip(procs, outputs, strict=True)
        ]
        return results, emu


@pytest.mark.slow
def test_applies_on_many_machines_share_the_instance_through_postgresql(
    tmp_path: Path, postgres_database: str
) -> None:
    paths = [write_config(tmp_path / f"repo{i}", 2001 + i, shared=True) for i in range(3)]
    results, emu = run_together(paths, {"MKTSYNC_LIMITS_URL": postgres_database})
    assert [code for code, _, _ in results] == [0, 0, 0], [err for _, _, err in results]
    stats = emu.stats()
    # Three processes, each alone would spend the whole window: together, no refusal.
    assert stats["rejected"] == {"rate": 0, "concurrency": 0, "quota": 0}
    counts = triggered(emu)
    assert len(counts) == 3 * LEADS and set(counts.values()) == {1}  # each lead once, per config
    for _, out, _ in results:
        assert json.loads(out)["totals"]["leads_triggered"] == LEADS


@pytest.mark.slow
def test_two_jobs_on_one_machine_share_through_its_file(tmp_path: Path) -> None:
    """SQLite ledgers, no ``limits.shared``: the machine's file is the shared window."""
    paths = [write_config(tmp_path / f"repo{i}", 2101 + i, shared=False) for i in range(2)]
    results, emu = run_together(paths, {})
    assert [code for code, _, _ in results] == [0, 0], [err for _, _, err in results]
    assert emu.stats()["rejected"] == {"rate": 0, "concurrency": 0, "quota": 0}
    counts = triggered(emu)
    assert len(counts) == 2 * LEADS and set(counts.values()) == {1}


def test_an_unreachable_postgresql_stops_apply_before_it_sends(tmp_path: Path) -> None:
    path = write_config(tmp_path, 2201, shared=True)
    options = EmulatorOptions(calls=CALLS, window_seconds=WINDOW, concurrency=CONCURRENCY)
    with one_instance([path], options) as emu:
        env = environment(emu, MKTSYNC_LIMITS_URL="postgresql://ci:s3cret@127.0.0.1:1/limits")
        proc = start_apply(path, env)
        out, err = (s.decode() for s in proc.communicate(timeout=60))
        journal = emu.journal()
    assert proc.returncode == 1, err
    assert "PostgreSQL postgresql://ci:***@127.0.0.1:1/limits cannot be reached" in err
    assert "s3cret" not in out + err
    assert "Traceback" not in err
    # Never a private limiter instead: Marketo was not called at all.
    assert [e for e in journal if e["endpoint"] != "identity"] == []


@pytest.fixture
def doomed_database(postgres_admin_url: str) -> Iterator[tuple[str, str]]:
    import psycopg

    name = f"mktsync_lost_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_admin_url.rpartition("/")[0] + "/" + name, name
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.slow
def test_apply_stops_when_its_postgresql_goes_away_mid_run(
    tmp_path: Path, doomed_database: tuple[str, str], postgres_admin_url: str
) -> None:
    import psycopg

    url, name = doomed_database
    path = write_config(tmp_path, 2301, shared=True, leads=40, calls=4)
    # Slow enough that the database goes while most calls still wait for the window.
    options = EmulatorOptions(calls=4, window_seconds=WINDOW, concurrency=2, latency=(0.05, 0.1))
    with one_instance([path], options) as emu:
        proc = start_apply(path, environment(emu, MKTSYNC_LIMITS_URL=url))
        deadline = time.monotonic() + 60
        while not emu.triggers() and time.monotonic() < deadline:
            time.sleep(0.05)
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        out, err = (s.decode() for s in proc.communicate(timeout=120))
        sent = sum(triggered(emu).values())
    assert proc.returncode == 1, err
    report = json.loads(out)
    totals = report["totals"]
    assert report["stopped_by"].startswith("the shared limiter (PostgreSQL")
    assert report["last_line"].startswith("Stopped by the shared limiter (PostgreSQL")
    assert report["last_line"].endswith("the next run sends the rest.")
    # What Marketo received is what the run reports as sent; the rest waits, untouched.
    assert 0 < totals["leads_triggered"] == sent < 40
    assert totals["leads_not_attempted"] == 40 - sent
    assert totals["leads_failed"] == totals["leads_unknown"] == 0


@pytest.mark.parametrize(
    ("written", "value", "says"),
    [
        ("postgresql://127.0.0.1:1/limits", None, "limits.shared must come from the environment"),
        (
            "${MKTSYNC_LIMITS_URL:-postgresql://127.0.0.1:1/limits}",
            None,
            "limits.shared takes no default",
        ),
        ("${MKTSYNC_LIMITS_URL}", "sqlite:///limits.db", "is not a postgresql:// URL"),
    ],
    ids=["literal host", "default host", "not postgresql"],
)
def test_limits_shared_obeys_the_host_rule(
    tmp_path: Path, written: str, value: str | None, says: str
) -> None:
    """The file never chooses the limiter's host: refused, located, before any call."""
    path = write_config(tmp_path, 2401, shared=True)
    options = EmulatorOptions(calls=CALLS, window_seconds=WINDOW, concurrency=CONCURRENCY)
    with one_instance([path], options) as emu:
        path.write_text(path.read_text().replace("${MKTSYNC_LIMITS_URL}", written))
        env = environment(emu, **({} if value is None else {"MKTSYNC_LIMITS_URL": value}))
        proc = start_apply(path, env)
        out, err = (s.decode() for s in proc.communicate(timeout=60))
        journal = emu.journal()
    assert proc.returncode == 1, err
    assert "marketo.limits.shared" in err and says in err, err
    assert "Traceback" not in err
    assert [e for e in journal if e["endpoint"] != "identity"] == []


def test_a_malformed_limits_url_is_a_plain_error_that_hides_its_password(tmp_path: Path) -> None:
    path = write_config(tmp_path, 2202, shared=True)
    options = EmulatorOptions(calls=CALLS, window_seconds=WINDOW, concurrency=CONCURRENCY)
    with one_instance([path], options) as emu:
        # "[::1" without its "]": libpq cannot read it, and its error quotes the URL.
        env = environment(emu, MKTSYNC_LIMITS_URL="postgresql://ci:S3cretPW@[::1/limits")
        proc = start_apply(path, env)
        out, err = (s.decode() for s in proc.communicate(timeout=60))
        journal = emu.journal()
    assert proc.returncode == 1, err
    assert "PostgreSQL postgresql://ci:***@[::1/limits cannot be read" in err
    assert "internal error" not in err and "S3cretPW" not in out + err
    assert [e for e in journal if e["endpoint"] != "identity"] == []


@pytest.mark.parametrize("damage", ["NaN", "Infinity"])
def test_a_damaged_machine_file_stops_every_apply_with_a_plain_error(
    tmp_path: Path, damage: str
) -> None:
    """A slot no process writes (an older mktsync's NaN window) is the other jobs'
    plain error naming the file and how to clear it: never a wait without end."""
    path = write_config(tmp_path / "repo", 2203, shared=False)
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    options = EmulatorOptions(calls=CALLS, window_seconds=WINDOW, concurrency=CONCURRENCY)
    with one_instance([path], options) as emu:
        port = emu.base_url.rsplit(":", 1)[1].split("/")[0]
        book = runtime / "mktsync" / f"limits-localhost_{port}.json"
        book.parent.mkdir(mode=0o700)
        slots = ",".join(f"[{damage if i == 0 else 0},null,null]" for i in range(CALLS))
        book.write_text(
            f'{{"rate":[{slots}],"concurrency":[[0,null,null],[0,null,null]],"hold_until":0}}',
            encoding="utf-8",
        )
        proc = start_apply(path, environment(emu, XDG_RUNTIME_DIR=str(runtime)))
        out, err = (s.decode() for s in proc.communicate(timeout=60))
        journal = emu.journal()
        assert proc.returncode == 1, err
        assert f"{book}: this machine's shared limits are damaged" in out + err
        assert "delete the file" in out + err and "internal error" not in err
        assert [e for e in journal if e["endpoint"] != "identity"] == []
        # As the message says: deleted, the next run goes.
        book.unlink()
        again = start_apply(path, environment(emu, XDG_RUNTIME_DIR=str(runtime)))
        _, err = (s.decode() for s in again.communicate(timeout=120))
        assert again.returncode == 0, err


# Issue 24, QA: three runs at once, 44,980 calls used today by the CRM sync, 10 % of
# 50,000 kept: room for 20 calls at the start, 3 x 14 planned.
CRM, USED, RESERVE_LINE = "crm-sync@example.com", 44_980, 45_000


def run_into_the_reserve(
    paths: Sequence[Path], extra_env: dict[str, str]
) -> tuple[list[tuple[int, str, str]], int]:
    options = EmulatorOptions(
        calls=CALLS, window_seconds=WINDOW, concurrency=CONCURRENCY, latency=(0.02, 0.05)
    )
    with one_instance(paths, options) as emu:
        emu.add_usage([{"userId": CRM, "count": USED}])
        env = environment(emu, **extra_env)
        procs = [start_apply(p, env) for p in paths]
        outputs = [p.communicate(timeout=240) for p in procs]
        return [
            (p.returncode, out.decode(), err.decode())
            for p, (out, err) in zip(procs, outputs, strict=True)
        ], emu.usage()[0]["total"]


def assert_the_reserve_was_kept(results: list[tuple[int, str, str]], total: int) -> None:
    assert total <= RESERVE_LINE, f"{total - RESERVE_LINE} calls into the reserve"
    sent = 0
    for code, out, err in results:
        report = json.loads(out)
        quota, triggered_ = report["quota"], report["totals"]["leads_triggered"]
        sent += triggered_
        assert quota["shared"] is True, quota
        if code == 0:  # "these N fit": they did, and all were sent
            assert not report["reserve_stopped"] and quota["needed"] <= quota["room"]
            assert triggered_ == LEADS
        else:  # kept home at the shared room: never more than the room it reported
            assert code == 4 and report["reserve_stopped"], err
            assert triggered_ < LEADS and triggered_ <= quota["room"]
    assert 0 < sent <= RESERVE_LINE - USED


@pytest.mark.slow
def test_runs_at_once_share_the_day_s_room_through_the_machine_s_file(tmp_path: Path) -> None:
    paths = [write_config(tmp_path / f"repo{i}", 2301 + i, shared=False) for i in range(3)]
    results, total = run_into_the_reserve(paths, {})
    assert_the_reserve_was_kept(results, total)


@pytest.mark.slow
def test_runs_at_once_share_the_day_s_room_through_postgresql(
    tmp_path: Path, postgres_database: str
) -> None:
    paths = [write_config(tmp_path / f"repo{i}", 2401 + i, shared=True) for i in range(3)]
    results, total = run_into_the_reserve(paths, {"MKTSYNC_LIMITS_URL": postgres_database})
    assert_the_reserve_was_kept(results, total)


def test_plan_usage_takes_its_slot_of_the_shared_window_before_apply(
    tmp_path: Path, postgres_database: str
) -> None:
    """``plan --usage`` then ``apply`` in one job (docs/ci.md): the read is one of the
    instance's calls in the shared window, so apply's first window leaves room for it."""
    # A window longer than a process takes to start: the read is still in it.
    path = write_config(tmp_path, 2501, shared=True, leads=6, window=4.0)
    options = EmulatorOptions(calls=CALLS, window_seconds=4.0, concurrency=CONCURRENCY)
    with one_instance([path], options) as emu:
        env = environment(emu, MKTSYNC_LIMITS_URL=postgres_database)
        plan = subprocess.run(
            [sys.executable, "-m", "mktsync", "plan", str(path), "--usage", "-q"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert plan.returncode == 0, plan.stderr
        proc = start_apply(path, env)
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err.decode()
        assert emu.stats()["rejected"] == {"rate": 0, "concurrency": 0, "quota": 0}
