"""One Marketo instance, many runners (issue 24): today's quota and its reserve, and one
``apply`` over several environments.

Every case runs ``python -m mktsync`` in a subprocess against emulators on loopback
sockets (two instances: 127.0.0.1 and 127.0.0.2) and asserts on what they received.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from apply_helpers import rows, statuses, write_project
from testing.cli import credentials, mktsync
from testing.seed import project_seed

from mktsync.apply.verdict import worst
from mktsync.emulator import Emulator, EmulatorOptions, serve

REPO = Path(__file__).resolve().parent.parent.parent
CRM = "crm-sync@example.com"


def endpoints(emu: Emulator) -> list[str]:
    return [e["endpoint"] for e in emu.journal() if e["endpoint"] != "identity"]


@contextmanager
def hundred_calls(tmp_path: Path, used_by_others: int) -> Iterator[tuple[Path, Emulator]]:
    """A plan of 100 calls (96 triggers, one lead each, 1 lookup, 2 preflight checks, 1
    usage read) and an instance where the CRM sync used ``used_by_others`` calls today."""
    path = write_project(tmp_path, rows(96, shared_code=False))
    seed = project_seed(path, usage=[{"userId": CRM, "count": used_by_others}])
    with serve(seed=seed, options=EmulatorOptions()) as emu:
        yield path, emu


def test_a_run_that_would_eat_into_the_reserve_sends_nothing_and_exits_4(tmp_path: Path) -> None:
    with hundred_calls(tmp_path, 46_000) as (path, emu):
        code, out, err = mktsync(tmp_path, "plan", "--format", "json", **credentials(emu))
        assert json.loads(out)["summary"]["total_calls"] == 100
        code, out, err = mktsync(tmp_path, "apply", "--yes", **credentials(emu))
        assert code == 4, out + err
        # 46,000 used + 5,000 kept (10 % of 50,000) > 50,000 - 100: not one call past the read.
        assert endpoints(emu) == ["usage"]
        assert emu.triggers() == []
    assert "room for 0 more" in out and "nothing was sent (exit 4)" in out
    last = out.rstrip().splitlines()[-1]
    assert last.startswith("Stopped at the reserve of Marketo's daily quota"), last
    assert "96 leads not attempted" in last
    assert statuses(path) == {}  # nothing marked: the next run sends everything


def test_a_run_sends_what_fits_in_the_room_and_no_call_past_it(tmp_path: Path) -> None:
    # 44,950 used by the CRM sync and 1 by the read itself (the emulator counts it, as
    # Marketo may): room for 49 = 2 preflight + 1 lookup + 46 triggers; the 47th stays home.
    with hundred_calls(tmp_path, 44_950) as (path, emu):
        code, out, err = mktsync(tmp_path, "apply", "--yes", **credentials(emu))
        assert code == 4, out + err
        assert len(emu.triggers()) == 46
        assert emu.stats()["quota_used"] == 44_950 + 1 + 49  # not one call into the reserve
    assert statuses(path) == {"sent": 46}
    with sqlite3.connect(tmp_path / ".mktsync" / "ledger.db") as db:  # the runs table agrees
        assert db.execute("SELECT exit_status FROM runs").fetchall() == [(4,)]
    assert "50 leads not attempted" in out.rstrip().splitlines()[-1]


def test_a_run_that_fits_reports_the_room_and_succeeds(tmp_path: Path) -> None:
    with hundred_calls(tmp_path, 1_000) as (path, emu):
        code, out, err = mktsync(tmp_path, "apply", "--yes", "--format", "json", **credentials(emu))
        assert code == 0, out + err
    quota = json.loads(out)["quota"]
    assert quota["users"] == [{"userId": CRM, "count": 1_000}, {"userId": "mktsync-demo@emulator.example", "count": 1}]  # fmt: skip
    assert (quota["reserve"], quota["room"], quota["needed"]) == (5_000, 43_999, 99)


def test_plan_shows_todays_usage_only_when_asked_and_never_untrusted(tmp_path: Path) -> None:
    with hundred_calls(tmp_path, 46_000) as (path, emu):
        code, out, err = mktsync(tmp_path, "plan", **credentials(emu))
        assert code == 0 and endpoints(emu) == []  # plan calls nothing unless asked
        code, out, err = mktsync(tmp_path, "plan", "--usage", **credentials(emu))
        assert code == 0, err
        assert endpoints(emu) == ["usage"]  # one read, nothing else
        code, untrusted, err = mktsync(tmp_path, "plan", "--usage", "--untrusted", **credentials(emu))  # fmt: skip
        assert code == 1 and "--usage cannot be used with --untrusted" in err
        assert endpoints(emu) == ["usage"]
    [line] = [x for x in out.splitlines() if "= 100 API calls" in x]
    assert "46,001 of 50,000 calls were used by 2 API users" in line, line
    assert "room for 0 more: apply would send none of these 99 (exit 4)" in line, line
    code, out, err = mktsync(tmp_path, "plan", "--usage")
    assert code == 1 and "environment variable MARKETO_BASE_URL is not set" in err


# -- several environments ------------------------------------------------------------


@contextmanager
def two_instances(tmp_path: Path, used: int) -> Iterator[tuple[Emulator, Emulator, dict[str, str]]]:
    """The example project (sandbox and production), an emulator on 127.0.0.1 for the
    sandbox and one on 127.0.0.2 for production, where the CRM sync used ``used`` today."""
    shutil.copy(REPO / "campaigns.yaml", tmp_path / "campaigns.yaml")
    shutil.copytree(REPO / "data", tmp_path / "data")
    path = tmp_path / "campaigns.yaml"
    production_seed = project_seed(path, environment="production",
                                   usage=[{"userId": CRM, "count": used}])  # fmt: skip
    with (
        serve(seed=project_seed(path, environment="sandbox"), host="127.0.0.1") as sandbox,
        serve(seed=production_seed, host="127.0.0.2") as production,
    ):
        env = {**credentials(sandbox, "MARKETO_SANDBOX"), **credentials(production)}
        yield sandbox, production, env


def test_all_envs_applies_each_with_its_own_quota_and_the_worst_exit_wins(tmp_path: Path) -> None:
    with two_instances(tmp_path, 46_000) as (sandbox, production, env):
        code, out, err = mktsync(tmp_path, "apply", "--all-envs", "--yes", **env)
        assert code == 4, out + err
        assert len(sandbox.triggers()) > 0 and sandbox.schedules()
        assert production.triggers() == [] and endpoints(production) == ["usage"]
    sections = [line for line in out.splitlines() if line.startswith("== environment")]
    assert sections == ["== environment sandbox ==", "== environment production =="]
    assert "Everything planned was sent" in out.split("== environment production")[0]
    assert "Stopped at the reserve" in out.split("== environment production")[1]
    assert out.rstrip().splitlines()[-1] == (
        "2 environments: sandbox exit 0, production exit 4; the job exits 4, the worst "
        "(docs/exit-codes.md)."
    )
    assert "[sandbox] applying:" in err  # progress lines say whose they are
    # Each environment has its own ledger: running again sends nothing twice in the sandbox.
    with two_instances_again(tmp_path) as (sandbox, production, env):
        code, out, err = mktsync(tmp_path, "apply", "--env", "production", "--env", "sandbox",
                                 "--yes", "--format", "json", **env)  # fmt: skip
        assert code == 0, out + err
        assert sandbox.triggers() == [] and len(production.triggers()) > 0
    reports = json.loads(out)
    assert [(r["environment"], r["exit_code"]) for r in reports] == [("production", 0),
                                                                      ("sandbox", 0)]  # fmt: skip


@contextmanager
def two_instances_again(tmp_path: Path) -> Iterator[tuple[Emulator, Emulator, dict[str, str]]]:
    path = tmp_path / "campaigns.yaml"
    with (
        serve(seed=project_seed(path, environment="sandbox"), host="127.0.0.1") as sandbox,
        serve(seed=project_seed(path, environment="production"), host="127.0.0.2") as production,
    ):
        yield sandbox, production, {**credentials(sandbox, "MARKETO_SANDBOX"), **credentials(production)}  # fmt: skip


def test_what_is_for_one_environment_is_refused_with_several(tmp_path: Path) -> None:
    with two_instances(tmp_path, 0) as (sandbox, production, env):
        code, out, err = mktsync(tmp_path, "plan", "--env", "sandbox", "--out", "plan.json", **env)
        assert code == 0, err
        for argv, words in (
            (["plan.json", "--env", "sandbox", "--env", "production"], "a saved plan"),
            (["--all-envs", "--reviewed", "plan.json"], "--reviewed"),
            (["--all-envs", "--env", "sandbox"], "--all-envs or --env, not both"),
            (["--env", "sandbox", "--env", "nowhere"], "nowhere"),
        ):
            code, out, err = mktsync(tmp_path, "apply", *argv, "--yes", **env)
            assert code == 1 and words in err, (argv, err)
        # Without consent nothing is sent anywhere.
        code, out, err = mktsync(tmp_path, "apply", "--all-envs", **env)
        assert code == 1 and "consent" in err
        assert sandbox.triggers() == [] and production.triggers() == []


def test_an_environment_s_error_is_printed_once_with_one_prefix(tmp_path: Path) -> None:
    with two_instances(tmp_path, 0) as (sandbox, production, env):
        env["MARKETO_CLIENT_SECRET"] = "wrong"  # production's credentials are refused
        code, out, err = mktsync(tmp_path, "apply", "--all-envs", "--yes", "-q", **env)
    assert code == 1, out + err
    production = out.split("== environment production ==")[1]
    [line] = [x for x in production.splitlines() if "401" in x]
    assert line.startswith("error: Marketo error 401") and "error: error:" not in out, line


def test_the_worst_exit_code_wins() -> None:
    assert worst([0, 5, 3]) == 3 and worst([3, 4]) == 4 and worst([4, 1]) == 1
    assert worst([1, 143]) == 143 and worst([0, 0]) == 0 and worst([5, 0]) == 5


def test_a_signal_stops_every_environment(tmp_path: Path) -> None:
    marketo = {
        name: {
            "base_url": f"${{MARKETO_{name.upper()}_BASE_URL}}",
            "client_id": f"${{MARKETO_{name.upper()}_CLIENT_ID}}",
            "client_secret": f"${{MARKETO_{name.upper()}_CLIENT_SECRET}}",
        }
        for name in ("east", "west")
    }
    path = write_project(
        tmp_path,
        rows(30, shared_code=False),  # 30 calls, one at a time, 0.2 s each
        concurrency=1,
        environments={
            name: {"marketo": creds, "ledger": f"sqlite:///{name}.db"}
            for name, creds in marketo.items()
        },
    )
    slow = EmulatorOptions(latency=(0.2, 0.2))
    with (
        serve(seed=project_seed(path), options=slow, host="127.0.0.1") as east,
        serve(seed=project_seed(path), options=slow, host="127.0.0.2") as west,
    ):
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("MARKETO_", "MKTSYNC_"))}
        env = {**clean, **credentials(east, "MARKETO_EAST"), **credentials(west, "MARKETO_WEST")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "mktsync", "apply", "--all-envs", "--yes"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        for line in proc.stderr:  # both have started sending
            if "applying:" in line:
                break
        deadline = time.monotonic() + 30
        while not (east.triggers() and west.triggers()) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, rest = proc.communicate(timeout=60)
    assert proc.returncode == 143, out + rest
    sections = out.split("== environment ")[1:]
    assert [s.split(" ==")[0] for s in sections] == ["east", "west"]
    for section in sections:
        assert "Stopped by SIGTERM" in section, section
        sent = re.search(r"Stopped by SIGTERM: (\d+) leads? sent", section)
        assert sent is not None and 0 < int(sent.group(1)) < 30, section
    assert out.rstrip().endswith("the job exits 143, the worst (docs/exit-codes.md).")
