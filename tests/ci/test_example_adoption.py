"""The example file end to end: an environment, a baseline, a batch campaign in the emulator."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ci_testing import copy_example

from mktsync.cli import main


def future_calendar(tmp_path: Path) -> str:
    """The example's webinar calendar, moved to tomorrow: the test must not age with the data."""
    blast = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    calendar = tmp_path / "data" / "webinars.csv"
    lines = calendar.read_text(encoding="utf-8").splitlines()
    moved = [lines[0]]
    for n, line in enumerate(lines[1:]):
        cells = line.split(",")
        at = blast + timedelta(days=7 * n)
        cells[-2:] = [(at + timedelta(hours=1)).isoformat(), at.isoformat()]
        moved.append(",".join(cells))
    calendar.write_text("\n".join(moved) + "\n", encoding="utf-8")
    return blast.isoformat()


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_example_applies_in_the_emulator_with_an_environment_and_a_schedule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_example(tmp_path)
    first = future_calendar(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = run("apply", "--emulator", "--env", "sandbox")
    assert code == 0, out + err
    assert out.splitlines()[0] == "Environment: sandbox"
    # The sandbox's own ids (environments.sandbox.campaigns and .schedules in the example).
    assert f"batch campaign 7001 scheduled at {first}" in err
    assert "  campaign 5678: " in err and "  campaign 1234: " not in err
    assert out.splitlines()[-1].endswith("2 batch runs scheduled.")
    # Production's demo keeps its own ledger: the sandbox's sends are not its sends.
    code, out, err = run("apply", "--emulator", "--env", "production")
    assert code == 0, out + err
    assert f"batch campaign 3001 scheduled at {first}" in err
    assert "  campaign 1234: " in err and "  campaign 5678: " not in err
    assert out.splitlines()[-1].endswith("2 batch runs scheduled.")
    # Without an emulator, apply will not guess the instance.
    code, out, err = run("apply", "--yes")
    assert code == 1 and "name one with --env NAME" in err


def test_example_baseline_then_an_empty_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_example(tmp_path)
    future_calendar(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(
        "apply", "--env", "production", "--record-only", "--why", "sent before", "--yes"
    )
    assert code == 0, err
    assert "Recorded 59 item(s) as sent" in out  # 57 triggers and 2 batch runs
    code, out, err = run("plan", "--env", "production", "--detailed-exitcode")
    assert code == 0, out + err
    assert out.splitlines()[0] == "Environment: production"
    code, out, err = run("plan", "--env", "sandbox", "--detailed-exitcode")
    assert code == 2  # the sandbox has its own ledger: everything is still new there
