"""A reviewed plan's instant is replayed, within a week (QA of issue 21); what apply says
it sends is what it sends.

``apply --reviewed`` plans again as of the reviewed plan's ``now``: a pull request planned
before midnight and merged after sends what its reviewer saw.  An older instant -- an
artifact kept for weeks, a ``now`` edited by hand -- would replay a past day's rows
(``when: row.day == today``) that a plain apply today never sends: refused past
``--max-age`` (7 days unless given).  Subprocesses against the emulator on loopback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apply_helpers import write_project
from testing import project
from testing.project import LEAD_BY_EMAIL, MARKETO_FROM_ENV, csv_source, flow
from testing.seed import lead, serve_project

from mktsync.emulator import Emulator


def mktsync(cwd: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MARKETO_", "MKTSYNC_"))}
    clean.pop("CI", None)
    return subprocess.run(
        [sys.executable, "-m", "mktsync", *argv],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def credentials(emu: Emulator) -> dict[str, str]:
    return {
        "MARKETO_BASE_URL": emu.base_url,
        "MARKETO_CLIENT_ID": emu.client_id,
        "MARKETO_CLIENT_SECRET": emu.client_secret,
    }


def day(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).date().isoformat()


@pytest.fixture
def daily(tmp_path: Path) -> Iterator[tuple[Path, Emulator]]:
    """Rows due on their day: ada ten days ago, bob yesterday, cy today."""
    rows = (
        f"email,day\nada@example.com,{day(10)}\nbob@example.com,{day(1)}\ncy@example.com,{day(0)}\n"
    )
    path = project.write_project(
        tmp_path,
        marketo=MARKETO_FROM_ENV,
        sources={"daily": csv_source("daily.csv", columns=flow(email="email", day="date"))},
        campaigns={
            "digest": {
                "campaign_id": 1234,
                "source": "daily",
                "when": "row.day == today",
                "lead": LEAD_BY_EMAIL,
            }
        },
        files={"daily.csv": rows},
    )
    people = ("ada@example.com", "bob@example.com", "cy@example.com")
    with serve_project(path, leads=[lead(n, e) for n, e in enumerate(people, 1)]) as emu:
        yield tmp_path, emu


def triggered(emu: Emulator) -> list[str]:
    ids = {x["id"]: x["email"] for x in emu.leads()}
    return sorted(ids[i] for t in emu.triggers() for i in t["lead_ids"])


def test_a_reviewed_plan_older_than_a_week_is_refused_and_nothing_is_sent(
    daily: tuple[Path, Emulator],
) -> None:
    repo, emu = daily
    made = (datetime.now(UTC) - timedelta(days=10)).replace(microsecond=0).isoformat()
    assert mktsync(repo, "plan", "--now", made, "--out", "old.json").returncode == 0
    out = mktsync(repo, "apply", "--reviewed", "old.json", "--yes", **credentials(emu))
    assert (out.returncode, out.stdout) == (1, ""), out.stderr
    assert out.stderr == (
        f"error: old.json was made as of {made}, 10 days ago; a "
        "reviewed plan is replayed for 7 days at most (--max-age): run the pull request's "
        "plan again and have it reviewed, or give --max-age DAYS\n"
    )
    assert emu.journal() == []

    # A team that merges slowly says so: the reviewed day is replayed, as reviewed.
    wider = mktsync(
        repo, "apply", "--reviewed", "old.json", "--max-age", "14", "--yes", **credentials(emu)
    )
    assert wider.returncode == 0, wider.stderr
    assert triggered(emu) == ["ada@example.com"]


def test_a_plan_made_before_midnight_and_merged_after_sends_what_was_reviewed(
    daily: tuple[Path, Emulator],
) -> None:
    repo, emu = daily
    assert mktsync(repo, "plan", "--now", f"{day(1)}T23:50:00Z", "--out", "pr.json").returncode == 0
    out = mktsync(repo, "apply", "--reviewed", "pr.json", "--yes", **credentials(emu))
    assert out.returncode == 0, out.stderr
    assert triggered(emu) == ["bob@example.com"]  # yesterday's row, as the reviewer saw it


@pytest.mark.parametrize("given", ["0", "-1", "nan", "inf", "100000"])
def test_max_age_takes_a_number_of_days(daily: tuple[Path, Emulator], given: str) -> None:
    repo, emu = daily
    assert mktsync(repo, "plan", "--out", "pr.json").returncode == 0
    out = mktsync(
        repo, "apply", "--reviewed", "pr.json", "--max-age", given, "--yes", **credentials(emu)
    )
    assert out.returncode == 1 and out.stderr.startswith(f"error: --max-age {given}"), out.stderr
    alone = mktsync(repo, "apply", "--max-age", "3", "--yes", **credentials(emu))
    assert alone.returncode == 1 and "no --reviewed" in alone.stderr, alone.stderr
    assert emu.journal() == []


def test_retry_unknown_held_for_review_is_not_counted_as_sent(tmp_path: Path) -> None:
    """The progress line counts what goes out: a held unknown item is not in a call."""
    path = write_project(tmp_path, [{"email": "ann@example.com", "webinar": "w1", "code": "c"}])
    with serve_project(path) as emu:
        env = credentials(emu)
        emu.set_faults("trigger#1=lost")
        first = mktsync(tmp_path, "apply", "--yes", **env)
        assert first.returncode == 3, first.stderr  # the answer was lost: unknown
        emu.set_faults("")
        assert mktsync(tmp_path, "plan", "--out", "reviewed.json").returncode == 0
        out = mktsync(
            tmp_path, "apply", "--reviewed", "reviewed.json", "--retry-unknown", "--yes", **env
        )
        assert "applying: 0 trigger calls for 0 leads\n" in out.stderr, out.stderr
        assert "1 item was not in the reviewed plan" in out.stdout
        assert len(emu.triggers()) == 1  # the first apply's only
