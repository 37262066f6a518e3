"""A pinned instant (``--now``, ``MKTSYNC_NOW``, a plan's ``now``) is held in every zone,
or refused in words naming where it came from (QA of issue 21): never an internal error.

``0001-01-01T00:00:00+05:00`` is a valid ISO 8601 time whose UTC instant is in year 0;
``9999-12-31T23:00:00-05:00`` one whose UTC instant is in year 10000.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from testing.project import LEAD_BY_EMAIL, csv_source, write_file, write_project

from mktsync.dates import EARLIEST, LATEST, instant, parse_now, today_of

ZONES = ("UTC", "Pacific/Kiritimati", "Etc/GMT+12", "America/New_York", "Asia/Kolkata")
EARLY, LATE = "0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"
RULE = "is outside the instants mktsync can hold: write a time between 0001-01-03 and 9999-12-29"

offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@settings(max_examples=400)
@given(
    moment=st.datetimes(min_value=datetime.min, max_value=datetime.max)
    | st.datetimes(min_value=datetime.min, max_value=datetime.max, timezones=offsets),
    place=st.sampled_from(ZONES),
)
@example(moment=datetime(1, 1, 3), place="Pacific/Kiritimati")  # a wall time at the edge
@example(moment=datetime(9999, 12, 29, 23, 59, 59), place="Etc/GMT+12")
@example(moment=datetime(1, 1, 3, tzinfo=UTC), place="Etc/GMT+12")
@example(moment=datetime(1, 1, 2, 23, 59, 59), place="UTC")
@example(moment=datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))), place="UTC")
@example(moment=datetime(2128, 11, 7, 5, tzinfo=UTC), place="UTC")  # New York's fold
def test_an_instant_is_held_in_every_zone_or_refused_with_the_rule(
    moment: datetime, place: str
) -> None:
    text = moment.isoformat()
    try:
        parsed = parse_now(text)
    except ValueError as exc:
        assert str(exc) == f"{text!r} {RULE}"
        try:
            utc = moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
        except OverflowError:
            return  # not even UTC can hold it
        assert not EARLIEST <= utc <= LATEST
        return
    held = instant(parsed, place)
    assert today_of(held) == held.date()
    for other in ZONES:  # and it moves on to any zone, UTC included
        # The same instant, compared as one: `==` across zones is False for a wall time in a
        # daylight-saving fold (PEP 495), which this is not asking about.
        assert instant(held, other).timestamp() == held.timestamp()
    assert held.astimezone(UTC).isoformat()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_file(tmp_path / "data" / "p.csv", "email\nada@example.com\n")
    write_project(
        tmp_path,
        sources={"p": csv_source("data/p.csv")},
        campaigns={"c": {"campaign_id": 1, "source": "p", "lead": LEAD_BY_EMAIL}},
    )
    return tmp_path


def mktsync(cwd: Path, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MARKETO_", "MKTSYNC_"))}
    return subprocess.run(
        [sys.executable, "-m", "mktsync", *argv],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["plan", "--now", EARLY], {}, f"--now: '{EARLY}'"),
        (["plan"], {"MKTSYNC_NOW": LATE}, f"MKTSYNC_NOW: '{LATE}'"),
        (["apply", "--emulator"], {"MKTSYNC_NOW": LATE}, f"MKTSYNC_NOW: '{LATE}'"),
        (["plan", "--now", "9999-12-31"], {}, "--now: '9999-12-31'"),
    ],
)
def test_an_instant_out_of_range_is_a_plain_error_naming_where_it_came_from(
    project: Path, argv: list[str], env: dict[str, str], named: str
) -> None:
    out = mktsync(project, *argv, **env)
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stderr == f"error: {named} {RULE}\n"
    assert not (project / ".mktsync" / "ledger.db").exists()
