"""No send without consent: a run nobody can be asked about needs --yes or a saved (or
reviewed) plan.  ``CI=true`` is not consent: GitHub and GitLab set it on every step
(issue 22), as Terraform asks for ``-auto-approve`` whatever ``CI`` says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from apply_helpers import cli, emulator, rows, triggered, write_project


@pytest.fixture(autouse=True)
def not_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)


def test_no_terminal_no_yes_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_project(tmp_path, rows(2))
    with emulator(path) as emu:
        code, out, err = cli(["apply", str(path)], emu, monkeypatch)  # pytest's stdin: no TTY
        assert code == 1
        assert "stdin is not a terminal" in err and "--yes" in err
        assert "CI=true" not in err  # not set here: the message does not mention it
        assert not triggered(emu)
        assert not (tmp_path / ".mktsync").exists()  # no ledger made either


def run_apply(
    path: Path, emu_env: dict[str, str], *args: str, ci: str | None
) -> subprocess.CompletedProcess[str]:
    """``python -m mktsync apply`` as a pipeline step runs it: no standard input at all."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "mktsync", "apply", *args, str(path)],
        env={**env, **emu_env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("ci", ["true", "1"])
def test_ci_true_alone_is_not_consent(tmp_path: Path, ci: str) -> None:
    """GitHub sets CI=true on every step: a pipeline that forgot --yes sends nothing."""
    path = write_project(tmp_path, rows(2))
    with emulator(path) as emu:
        env = {
            "MARKETO_BASE_URL": emu.base_url,
            "MARKETO_CLIENT_ID": emu.client_id,
            "MARKETO_CLIENT_SECRET": emu.client_secret,
        }
        refused = run_apply(path, env, ci=ci)
        assert refused.returncode == 1, refused.stderr
        assert refused.stderr.strip().splitlines()[-1] == (
            "error: apply needs consent, but stdin is not a terminal to ask on (CI=true is "
            "set, but it is not consent: a pipeline says yes with --yes): pass --yes to apply "
            "without asking, or run 'mktsync plan --out plan.json' and 'mktsync apply "
            "plan.json'"
        )
        assert not triggered(emu)
        assert not (tmp_path / ".mktsync").exists()
        sent = run_apply(path, env, "--yes", ci=ci)
        assert sent.returncode == 0, sent.stderr
        assert sum(triggered(emu).values()) == 2


@pytest.mark.parametrize("how", ["--yes", "saved plan", "reviewed plan"])
def test_consent_by_flag_or_saved_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    path = write_project(tmp_path, rows(2))
    monkeypatch.setenv("CI", "true")  # present, and beside the point
    with emulator(path) as emu:
        argv = ["apply", str(path)]
        saved = tmp_path / "plan.json"
        if how == "--yes":
            argv.append("--yes")
        else:
            assert cli(["plan", str(path), "--out", str(saved)], None, monkeypatch)[0] == 0
            argv = (
                ["apply", str(saved)] if how == "saved plan" else [*argv, "--reviewed", str(saved)]
            )
        code, out, err = cli(argv, emu, monkeypatch)
        assert code == 0, out + err
        assert sum(triggered(emu).values()) == 2


def test_step_summary_gets_the_same_last_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(2))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    with emulator(path) as emu:
        code, out, _ = cli(["apply", str(path), "--yes"], emu, monkeypatch)
    assert code == 0
    last = out.rstrip().splitlines()[-1]
    assert last == "Everything planned was sent: 2 leads sent in 1 call."
    assert f"**{last}**" in summary.read_text(encoding="utf-8")
