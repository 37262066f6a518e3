"""Invalid rows fail the run by default; ``max_invalid`` allows a count or a share."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from testing.project import LEAD_BY_EMAIL, csv_source, write_project

from mktsync.cli import main


def project(tmp_path: Path, emails: list[str], **settings: Any) -> Path:
    """Campaign 1234 for ``emails``, with the campaign's ``settings`` (``max_invalid``)."""
    reminder = {"campaign_id": 1234, "source": "regs", "lead": LEAD_BY_EMAIL, **settings}
    return write_project(
        tmp_path,
        ledger="sqlite:///ledger.db",
        sources={"regs": csv_source("regs.csv")},
        campaigns={"reminder": reminder},
        files={"regs.csv": "email\n" + "".join(f"{e}\n" for e in emails)},
    )


def plan(path: Path, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["plan", str(path), *extra], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_one_invalid_row_fails_the_plan_by_default(tmp_path: Path) -> None:
    code, out, err = plan(project(tmp_path, ["ann@example.com", "not-an-address"]))
    assert code == 1
    assert "campaigns.reminder: 1 row is invalid, more than max_invalid (0)" in err
    assert "regs row 3: lead.email: 'n***' is not a plausible e-mail address" in err
    assert "Traceback" not in err


def test_the_error_lists_twenty_rows_then_a_count(tmp_path: Path) -> None:
    emails = ["ann@example.com"] + [f"bad{i}" for i in range(25)]
    code, _, err = plan(project(tmp_path, emails))
    assert code == 1
    listed = [line for line in err.splitlines() if line.startswith("  regs row ")]
    assert len(listed) == 20
    assert listed[0].startswith("  regs row 3: ")
    assert "... and 5 more invalid rows" in err


@pytest.mark.parametrize(("allowed", "code"), [(1, 0), ("34%", 0), ("33%", 1), (0, 1)])
def test_max_invalid_count_or_share(tmp_path: Path, allowed: int | str, code: int) -> None:
    path = project(tmp_path, ["a@example.com", "b@example.com", "bad"], max_invalid=allowed)
    assert plan(path)[0] == code


def test_every_row_invalid_is_an_error_whatever_max_invalid_says(tmp_path: Path) -> None:
    code, _, err = plan(project(tmp_path, ["bad", "worse"], max_invalid=100))
    assert code == 1
    assert "every row of source 'regs' is invalid (2)" in err


def test_detailed_exitcode_never_says_no_changes_with_invalid_rows(tmp_path: Path) -> None:
    path = project(tmp_path, ["a@example.com", "bad"], max_invalid=1)
    assert plan(path, "--detailed-exitcode")[0] == 2
    # without invalid rows and nothing to send it is 0: an empty source
    path = project(tmp_path, [], max_invalid=1)
    assert plan(path, "--detailed-exitcode")[0] == 0


def test_apply_refuses_invalid_rows_too_and_sends_nothing(tmp_path: Path) -> None:
    path = project(tmp_path, ["ann@example.com", "not-an-address"])
    out, err = io.StringIO(), io.StringIO()
    code = main(["apply", str(path), "--emulator"], stdout=out, stderr=err)
    assert code == 1
    assert "1 row is invalid, more than max_invalid (0)" in err.getvalue()
    assert "trigger call" not in out.getvalue()
