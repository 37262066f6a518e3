"""The README's two opening commands are the ones CI runs and the ones that work."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block, "the README must open with a sh block"
    return [line.split("#")[0].strip() for line in block.group(1).strip().splitlines()]


def test_readme_opens_with_the_main_job_and_the_tests() -> None:
    main_job, tests = readme_commands()
    assert main_job.endswith("mktsync apply --emulator")
    assert tests.endswith("pytest")


def test_ci_runs_the_readme_test_command() -> None:
    _, tests = readme_commands()
    assert tests in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_ci_runs_the_slow_tests_too() -> None:
    """``-m "not slow"`` is for a quick local loop; neither CI's command nor the defaults
    deselect the tests marked slow."""
    _, tests = readme_commands()
    addopts = re.search(r"^addopts = (.*)$", (REPO / "pyproject.toml").read_text(), re.M)
    assert addopts and "-m" not in addopts.group(1).split()
    assert "-m" not in tests.split("&&")[-1].split()  # the pytest part
