"""apply-artifact-ledger.yml tells a first run from a lost ledger (issue 25).

The restore step's own script runs here against a stand-in ``gh`` that answers as GitHub
would: which runs exist, whether one has the artifact, whether an artifact was ever saved.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from ci_testing import GITHUB, load

FAKE_GH = """#!/bin/sh
case "$*" in
  *"run download"*) [ -n "$FAKE_DOWNLOAD" ] && mkdir -p .mktsync && : > .mktsync/ledger.db && exit 0; exit 1 ;;
  api*) [ "$FAKE_SAVED" = fail ] && exit 1; echo "$FAKE_SAVED" ;;
  *"--status success"*) echo "$FAKE_APPLIED" ;;
  *"run list"*) echo "$FAKE_RUNS" ;;
esac
"""

needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def restore(tmp_path: Path, **fake: str) -> subprocess.CompletedProcess[str]:
    workflow = load(next(p for p in GITHUB if p.name == "apply-artifact-ledger.yml"))
    steps = workflow["jobs"]["apply"]["steps"]
    script = next(s for s in steps if s.get("name", "").startswith("Restore"))["run"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "gh").write_text(FAKE_GH, encoding="utf-8")
    (bin_dir / "gh").chmod(0o755)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_REPOSITORY": "acme/campaigns",
        "FAKE_RUNS": "",
        "FAKE_SAVED": "0",
        "FAKE_APPLIED": "0",
        "NEW_LEDGER": "",
        **fake,
    }
    return subprocess.run(
        ["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )


@needs_bash
def test_the_very_first_run_starts_a_ledger(tmp_path: Path) -> None:
    run = restore(tmp_path)
    assert run.returncode == 0, run.stderr
    assert "first run" in run.stdout


@needs_bash
def test_a_later_run_restores_the_ledger(tmp_path: Path) -> None:
    run = restore(tmp_path, FAKE_RUNS="42", FAKE_DOWNLOAD="1", FAKE_SAVED="3", FAKE_APPLIED="1")
    assert run.returncode == 0 and "ledger restored from run 42" in run.stdout
    assert (tmp_path / ".mktsync" / "ledger.db").exists()


@needs_bash
@pytest.mark.parametrize(
    "saved, applied", [("1", "0"), ("0", "1")], ids=["artifact-expired", "runs-succeeded"]
)
def test_a_lost_ledger_refuses_to_apply(tmp_path: Path, saved: str, applied: str) -> None:
    run = restore(tmp_path, FAKE_RUNS="42 41", FAKE_SAVED=saved, FAKE_APPLIED=applied)
    assert run.returncode == 1
    assert "::error::the ledger artifact is lost" in run.stdout
    assert "new-ledger" in run.stdout


@needs_bash
def test_a_lost_ledger_starts_again_only_when_ticked(tmp_path: Path) -> None:
    run = restore(tmp_path, FAKE_SAVED="1", NEW_LEDGER="true")
    assert run.returncode == 0
    assert "::warning::starting a new, empty ledger by hand" in run.stdout


@needs_bash
def test_an_unanswered_question_is_never_taken_for_a_first_run(tmp_path: Path) -> None:
    run = restore(tmp_path, FAKE_SAVED="fail")
    assert run.returncode != 0 and "first run" not in run.stdout


def test_the_ticked_box_passes_new_ledger_to_apply() -> None:
    workflow = load(next(p for p in GITHUB if p.name == "apply-artifact-ledger.yml"))
    steps = workflow["jobs"]["apply"]["steps"]
    applies = [s for s in steps if s.get("with", {}).get("command") == "apply"]
    assert [("--new-ledger" in s["with"]["args"].split(), s["if"]) for s in applies] == [
        (False, "${{ !inputs.new-ledger && steps.reviewed.outputs.found == 'true' }}"),
        (False, "${{ !inputs.new-ledger && steps.reviewed.outputs.found != 'true' }}"),
        (True, "${{ inputs.new-ledger }}"),
    ]
