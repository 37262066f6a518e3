"""No send without consent: a run nobody can be asked about needs --yes, CI=true or a saved plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_helpers import cli, emulator, rows, triggered, write_project


@pytest.fixture(autouse=True)
def not_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)


def test_no_terminal_no_yes_no_ci_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(2))
    with emulator(path) as emu:
        code, out, err = cli(["apply", str(path)], emu, monkeypatch)  # pytest's stdin: no TTY
        assert code == 1
        assert "stdin is not a terminal" in err and "--yes" in err and "CI=true" in err
        assert not triggered(emu)
        assert not (tmp_path / ".mktsync").exists()  # no ledger made either


@pytest.mark.parametrize("how", ["--yes", "CI=true", "saved plan"])
def test_consent_by_flag_ci_or_saved_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    path = write_project(tmp_path, rows(2))
    with emulator(path) as emu:
        argv = ["apply", str(path)]
        if how == "--yes":
            argv.append("--yes")
        elif how == "CI=true":
            monkeypatch.setenv("CI", "true")
        else:
            saved = tmp_path / "plan.json"
            assert cli(["plan", str(path), "--out", str(saved)], None, monkeypatch)[0] == 0
            argv = ["apply", str(saved)]
        code, out, _ = cli(argv, emu, monkeypatch)
        assert code == 0, out
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
