"""Every mktsync command the CI files run works on the example campaigns.yaml."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ci_testing import (
    ACTION,
    GITLAB,
    MARKER,
    Invocation,
    action_invocations,
    copy_example,
    load,
    shell_invocations,
)

from mktsync.cli import main

INVOCATIONS = action_invocations() + shell_invocations()
MKTSYNC = Path(sys.executable).parent / "mktsync"


def expected(argv: tuple[str, ...]) -> int:
    # A fresh ledger: the example has changes, which only --detailed-exitcode reports.
    return 2 if argv[0] == "plan" and "--detailed-exitcode" in argv else 0


def runnable(argv: tuple[str, ...]) -> list[str]:
    # There is no Marketo here: apply goes to the in-process emulator.
    argv = tuple(os.path.expandvars(a) for a in argv)  # $RUNNER_TEMP
    return [*argv, "--emulator"] if argv[0] == "apply" else list(argv)


def test_the_ci_files_run_validate_plan_and_apply() -> None:
    assert {i.command for i in INVOCATIONS} == {"validate", "plan", "apply", "ledger"}


@pytest.mark.parametrize("invocation", INVOCATIONS, ids=lambda i: f"{i.where}:{i.command}")
def test_command_runs_on_the_example(
    invocation: Invocation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUNNER_TEMP", str(tmp_path / "runner"))
    out, err = io.StringIO(), io.StringIO()
    if invocation.command == "ledger":  # the ledger an apply left behind
        argv = ["apply", "--emulator", "--ledger", "sqlite:///.mktsync/ledger.db"]
        assert main(argv, stdout=out, stderr=err) == 0, err.getvalue()
    if "--reviewed" in invocation.argv:  # the plan the pull request's job saved
        reviewed = invocation.argv[invocation.argv.index("--reviewed") + 1]
        assert main(["plan", "--out", reviewed], stdout=out, stderr=err) == 0, err.getvalue()
    code = main(runnable(invocation.argv), stdout=out, stderr=err)
    assert code == expected(invocation.argv), err.getvalue()
    if "markdown" in invocation.argv:
        assert out.getvalue().startswith(MARKER)  # how the sticky comment is found again


def test_plan_writes_the_job_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert main(["plan", "campaigns.yaml"], stdout=io.StringIO(), stderr=io.StringIO()) == 0
    text = summary.read_text(encoding="utf-8")
    assert text.startswith(MARKER)
    assert "ada.lovelace@example.com" not in text  # masked: the summary is public to readers


def test_recommended_ledger_line_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = copy_example(tmp_path)
    assert "ledger: ${MKTSYNC_LEDGER_URL:-sqlite:///.mktsync/ledger.db}" in config.read_text(
        encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    assert main(["validate", "campaigns.yaml"], **quiet) == 0
    shared = tmp_path / "shared.db"
    monkeypatch.setenv("MKTSYNC_LEDGER_URL", f"sqlite:///{shared}")
    code = main(["apply", "--yes", "--emulator", "--ledger", f"sqlite:///{shared}"], **quiet)
    assert code == 0
    # The plan finds the ledger through the variable alone: nothing left to do.
    assert main(["plan", "--detailed-exitcode", "campaigns.yaml"], **quiet) == 0
    monkeypatch.setenv("MKTSYNC_LEDGER_URL", "")  # an unset secret in GitHub is ""
    assert main(["plan", "--detailed-exitcode", "campaigns.yaml"], **quiet) == 2
    assert not (tmp_path / ".mktsync" / "ledger.db").exists()  # plan never creates one


# -- the action's own script, run by bash as GitHub would ---------------------------------


def action_script() -> str:
    (step,) = [s for s in load(ACTION)["runs"]["steps"] if s.get("id") == "run"]
    return step["run"]


def run_action(tmp_path: Path, command: str, args: str = "") -> tuple[int, dict[str, str]]:
    output = tmp_path / "github_output"
    output.write_text("", encoding="utf-8")
    env = {
        "PATH": f"{MKTSYNC.parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_RUN_ATTEMPT": "1",
        "INPUT_COMMAND": command,
        "INPUT_CONFIG": "campaigns.yaml",
        "INPUT_ARGS": args,
        "CI": "true",
    }
    # GitHub's own invocation for `shell: bash`.
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", action_script()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    outputs = dict(
        line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines() if line
    )
    return proc.returncode, outputs


needs_bash = pytest.mark.skipif(
    shutil.which("bash") is None or not MKTSYNC.exists(), reason="needs bash and mktsync"
)


@needs_bash
def test_action_plan_with_changes_passes_and_says_so(tmp_path: Path) -> None:
    copy_example(tmp_path)
    code, outputs = run_action(tmp_path, "plan", "--format markdown --detailed-exitcode")
    assert code == 0
    assert outputs["exit-code"] == "2"
    assert outputs["changes"] == "true"
    assert Path(outputs["output-file"]).read_text(encoding="utf-8").startswith(MARKER)


@needs_bash
def test_action_apply_and_validate(tmp_path: Path) -> None:
    copy_example(tmp_path)
    assert run_action(tmp_path, "apply", "--yes --emulator")[0] == 0
    code, outputs = run_action(tmp_path, "validate")
    assert (code, outputs["exit-code"], outputs["changes"]) == (0, "0", "false")


@needs_bash
def test_action_fails_on_errors_and_refuses_other_commands(tmp_path: Path) -> None:
    copy_example(tmp_path)
    (tmp_path / "campaigns.yaml").write_text("version: 2\n", encoding="utf-8")
    code, outputs = run_action(tmp_path, "validate")
    assert (code, outputs["exit-code"]) == (1, "1")
    code, outputs = run_action(tmp_path, "plan")
    assert code == 1
    # The errors are kept for the workflow that replaces the PR comment with the failure.
    assert "version" in Path(outputs["error-file"]).read_text(encoding="utf-8")
    assert run_action(tmp_path, "emulator")[0] == 1


@needs_bash
def test_gitlab_scripts_are_valid_shell_and_python(tmp_path: Path) -> None:
    pipeline = load(GITLAB)
    for name, job in pipeline.items():
        if not isinstance(job, dict):
            continue
        for line in [*job.get("before_script", []), *job.get("script", [])]:
            proc = subprocess.run(["bash", "-n", "-c", line], capture_output=True, text=True)
            assert proc.returncode == 0, f"{name}: {proc.stderr}"
            if "<<'PY'" in line:
                python = line.split("<<'PY'\n", 1)[1].rsplit("PY", 1)[0]
                compile(python, f"{name}.py", "exec")
