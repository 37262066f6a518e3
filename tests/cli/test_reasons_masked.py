"""Issue 22 QA: a personal value an invalid row's reason quotes is masked where it is
shown (text, Markdown, annotations, Code Quality, an error) and shown by ``--show-pii``,
by the same rule as leads, whether or not the source declares its email column; the plan
file (JSON) holds it in clear, as it holds leads, and marks it for a display read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from testing.project import LEAD_BY_EMAIL, csv_source, csv_text, write_project

from mktsync.plan.file import load_plan
from mktsync.report.text import render_text

PRIVATE = "evelyn.private@"


def project(folder: Path, *, declared: bool, max_invalid: int = 1) -> None:
    source = csv_source("regs.csv")
    if declared:
        source = csv_source("regs.csv", columns={"email": "email", "title": "string"})
    rows = [{"email": "ann@example.com", "title": "T1"}, {"email": PRIVATE, "title": "T1"}]
    write_project(
        folder,
        ledger="sqlite:///.mktsync/ledger.db",
        sources={"regs": source},
        campaigns={
            "reminder": {
                "campaign_id": 1,
                "source": "regs",
                "lead": LEAD_BY_EMAIL,
                "tokens": {"my.T": "{{ row.title }}"},
                "max_invalid": max_invalid,
            }
        },
        files={"regs.csv": csv_text(rows)},
    )


def mktsync(*argv: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_"))}
    environ.pop("MKTSYNC_ENV", None)
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "mktsync", *argv],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("declared", [False, True], ids=["undeclared", "columns-email"])
def test_an_invalid_row_s_address_is_masked_unless_show_pii(tmp_path: Path, declared: bool) -> None:
    project(tmp_path, declared=declared)
    report = tmp_path / "gl-code-quality.json"
    masked = mktsync("plan", "--code-quality", str(report), cwd=tmp_path, GITHUB_ACTIONS="true")
    assert masked.returncode == 0, masked.stderr
    row = next(line for line in masked.stdout.splitlines() if "regs row 3" in line)
    assert "'e***@'" in row
    assert PRIVATE not in masked.stdout + masked.stderr
    annotation = next(line for line in masked.stderr.splitlines() if "line=3" in line)
    assert annotation.startswith("::warning file=regs.csv,line=3,") and "'e***@'" in annotation
    assert PRIVATE not in report.read_text(encoding="utf-8")
    assert "\ue000" not in masked.stdout + masked.stderr  # no marker ever shows
    comment = mktsync("plan", "--format", "markdown", cwd=tmp_path)
    assert "'e***@'" in comment.stdout and PRIVATE not in comment.stdout

    shown = mktsync("plan", "--show-pii", cwd=tmp_path, GITHUB_ACTIONS="true")
    assert shown.returncode == 0, shown.stderr
    row = next(line for line in shown.stdout.splitlines() if "regs row 3" in line)
    assert f"'{PRIVATE}'" in row
    annotation = next(line for line in shown.stderr.splitlines() if "line=3" in line)
    assert f"'{PRIVATE}'" in annotation
    shown_md = mktsync("plan", "--format", "markdown", "--show-pii", cwd=tmp_path)
    assert f"'{PRIVATE}'" in shown_md.stdout


def test_the_plan_file_holds_the_value_in_clear_and_marks_it_for_a_display(
    tmp_path: Path,
) -> None:
    project(tmp_path, declared=False)
    saved = tmp_path / "plan.json"
    run = mktsync("plan", "--out", str(saved), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    (invalid,) = json.loads(saved.read_text(encoding="utf-8"))["campaigns"][0]["invalid"]
    assert invalid["reason"] == f"lead.email: '{PRIVATE}' is not a plausible e-mail address"
    assert invalid["personal"] == [PRIVATE]
    plan = load_plan(saved)
    assert "'e***@'" in render_text(plan) and PRIVATE not in render_text(plan)
    assert f"'{PRIVATE}'" in render_text(plan, show_pii=True)


def test_too_many_invalid_rows_the_error_masks_unless_show_pii(tmp_path: Path) -> None:
    project(tmp_path, declared=True, max_invalid=0)
    failed = mktsync("plan", cwd=tmp_path, GITHUB_ACTIONS="true")
    assert failed.returncode == 1
    assert "regs row 3: column 'email': 'e***@' is not an email address" in failed.stderr
    assert PRIVATE not in failed.stderr
    shown = mktsync("plan", "--show-pii", cwd=tmp_path)
    assert f"regs row 3: column 'email': '{PRIVATE}' is not an email address" in shown.stderr


def test_a_batch_run_s_invalid_row_is_masked_in_its_error_unless_show_pii(tmp_path: Path) -> None:
    """A schedule's rows are converted by the same ``columns:``: its error quotes the value
    marked, so the display masks it (it was shown as a raw escape, the address in clear)."""
    write_project(
        tmp_path,
        ledger="sqlite:///.mktsync/ledger.db",
        sources={
            "regs": csv_source("regs.csv"),
            "hosts": csv_source("hosts.csv", columns={"host": "email", "at": "string"}),
        },
        campaigns={"reminder": {"campaign_id": 1, "source": "regs", "lead": LEAD_BY_EMAIL}},
        schedules={
            "starts-soon": {
                "campaign_id": 3001,
                "source": "hosts",
                "key": "{{ row.at }}",
                "run_at": "{{ row.at }}",
                "tokens": {"my.Host": "{{ row.host }}"},
            }
        },
        files={
            "regs.csv": csv_text([{"email": "ann@example.com"}]),
            "hosts.csv": csv_text([{"host": PRIVATE, "at": "2030-01-01T10:00:00+00:00"}]),
        },
    )
    failed = mktsync("plan", cwd=tmp_path)
    assert failed.returncode == 1
    assert "row 2: column 'host': 'e***@' is not an email address" in failed.stderr
    assert PRIVATE not in failed.stderr and "ue000" not in failed.stderr
    shown = mktsync("plan", "--show-pii", cwd=tmp_path)
    assert f"row 2: column 'host': '{PRIVATE}' is not an email address" in shown.stderr
