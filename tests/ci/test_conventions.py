"""The same conventions on every command: -q/-v, --color and NO_COLOR, -C, config discovery."""

from __future__ import annotations

import argparse
import io
import shutil
import sys
from pathlib import Path

import pytest

from mktsync.cli import build_parser, main

REPO = Path(__file__).resolve().parent.parent.parent
ESC = "\x1b["


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(*argv: str, tty: bool = False) -> tuple[int, str, str]:
    out = Terminal() if tty else io.StringIO()
    err = Terminal() if tty else io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every parser of the command line, with the words that reach it."""
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += parsers(child, (*path, name))
    return found


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("MKTSYNC_CONFIG", raising=False)
    shutil.copy(REPO / "campaigns.yaml", tmp_path / "campaigns.yaml")
    shutil.copytree(REPO / "data", tmp_path / "data")
    return tmp_path


def test_every_command_has_the_shared_options() -> None:
    found = dict(parsers(build_parser()))
    assert {("plan",), ("apply",), ("validate",), ("ledger", "status"), ("schema",)} <= set(found)
    for path, parser in found.items():
        helptext = parser.format_help()
        for option in ("-q, --quiet", "-v, --verbose", "--color", "-C DIR"):
            assert option in helptext, (path, option)


def test_quiet_before_or_after_the_command(project: Path) -> None:
    for argv in (["-q", "validate"], ["validate", "-q"]):
        code, out, _ = run("-C", str(project), *argv)
        assert (code, out) == (0, "")
    code, _, err = run("plan", "-q", "-v", "-C", str(project))
    assert code == 1 and "cannot be used together" in err


def test_color_follows_no_color_and_the_flag(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ESC in run("plan", "-C", str(project), tty=True)[1]
    assert ESC not in run("plan", "-C", str(project))[1]  # not a terminal
    assert ESC not in run("plan", "-C", str(project), "--color", "never", tty=True)[1]
    assert ESC in run("plan", "-C", str(project), "--color", "always")[1]
    monkeypatch.setenv("NO_COLOR", "1")
    assert ESC not in run("plan", "-C", str(project), tty=True)[1]
    assert ESC in run("plan", "-C", str(project), "--color", "always")[1]  # the flag wins


@pytest.mark.parametrize("no_color", [False, True])
def test_the_confirmation_prompt_honours_no_color(
    project: Path, monkeypatch: pytest.MonkeyPatch, no_color: bool
) -> None:
    from mktsync.cli.apply import ApplyRequest, _confirm
    from mktsync.cli.options import Output
    from mktsync.config import load_config

    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys, "stdin", io.StringIO("no\n"))
    config = load_config(project / "campaigns.yaml")
    out, err = Terminal(), Terminal()
    request = ApplyRequest(target=project / "campaigns.yaml", output=Output())
    assert _confirm(config, "sqlite:///.mktsync/ledger.db", request, out, err) is None
    assert "Trigger these campaigns?" in err.getvalue()
    assert (ESC in out.getvalue() + err.getvalue()) is not no_color


def test_config_discovery(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    assert run("validate")[0] == 0
    (project / "campaigns.yaml").rename(project / "campaigns.yml")
    code, out, _ = run("validate")
    assert code == 0 and "ok:" in out
    assert run("plan")[0] == 0
    monkeypatch.chdir(project.parent)
    code, _, err = run("plan")
    assert code == 1 and "campaigns.yaml" in err  # absent: the usual name is named
    assert run("plan", "-C", str(project))[0] == 0
    monkeypatch.setenv("MKTSYNC_CONFIG", str(project / "campaigns.yml"))
    assert run("validate")[0] == 0
    assert run("ledger", "status")[0] == 0


def test_campaign_id_selects_like_campaign(project: Path) -> None:
    import json

    from mktsync.config import load_config

    config = load_config(project / "campaigns.yaml")
    name, campaign = next(iter(config.campaigns.items()))
    code, out, _ = run("plan", "-C", str(project), "--format", "json",
                       "--campaign-id", str(campaign.campaign_id))  # fmt: skip
    assert code == 0
    names = [c["name"] for c in json.loads(out)["campaigns"]]
    assert name in names
    assert all(config.campaigns[n].campaign_id == campaign.campaign_id for n in names)
    code, _, err = run("plan", "-C", str(project), "--campaign-id", "99999999")
    assert code == 1 and "no campaign with campaign_id 99999999" in err


def test_apply_quiet_prints_the_verdict_only(project: Path) -> None:
    code, out, err = run("apply", "--emulator", "-q", "-C", str(project))
    assert code == 0, out + err
    assert out.count("\n") == 1 and out.startswith("Everything planned was sent")
    assert err == ""
    code, out, _ = run("apply", "--emulator", "-C", str(project), "--color", "always")
    assert code == 0 and out.rstrip().endswith("\x1b[0m")


def test_apply_verbose_logs_every_call(project: Path) -> None:
    code, out, err = run("apply", "--emulator", "-v", "-C", str(project))
    assert code == 0
    calls = [line for line in err.splitlines() if " calls, " in line and "calls/min" in line]
    total = int(calls[-1].split("/")[1].split()[0])
    assert len(calls) == total > 1  # one progress line per call, not one every 5 s
