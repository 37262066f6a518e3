"""Reading the CI files: workflows, the action, the GitLab pipeline, the pre-commit hooks."""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent.parent
ACTION = REPO / "action.yml"
GITHUB = sorted((REPO / "examples" / "github").glob("*.yml"))
GITLAB = REPO / "examples" / "gitlab" / ".gitlab-ci.yml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
MARKER = "<!-- mktsync-plan -->"
# `mktsync ...` up to a shell operator: a redirect, a pipe, `;`, `&&`, `||`.
COMMAND = re.compile(r"(?:^|[;&|(]\s*|\s)(mktsync\s[^;&|<>\n]*)")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path}: not a mapping"
    return data


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    """The `on:` mapping (YAML 1.1 reads a bare `on` key as True)."""
    on = workflow.get("on", workflow.get(True))
    assert isinstance(on, dict)
    return on


def is_action(step: dict[str, Any]) -> bool:
    uses = str(step.get("uses", ""))
    return uses == "./" or uses.split("@")[0].endswith("/mktsync")


@dataclass(frozen=True)
class Invocation:
    where: str
    argv: tuple[str, ...]  # after "mktsync"

    @property
    def command(self) -> str:
        return self.argv[0]


def action_defaults() -> dict[str, str]:
    return {name: str(spec.get("default", "")) for name, spec in load(ACTION)["inputs"].items()}


def action_invocations() -> list[Invocation]:
    """What each use of the action in the GitHub examples runs: COMMAND ARGS... CONFIG."""
    found = []
    for path in GITHUB:
        for job_name, job in load(path)["jobs"].items():
            for n, step in enumerate(job.get("steps", [])):
                if is_action(step):
                    inputs = {**action_defaults(), **step.get("with", {})}
                    argv = (inputs["command"], *inputs["args"].split(), inputs["config"])
                    found.append(Invocation(f"{path.name}:{job_name}:{n}", argv))
    return found


def shell_invocations() -> list[Invocation]:
    """Every `mktsync ...` in GitHub `run:` blocks and GitLab `script:` lines."""
    found = []
    for path in GITHUB:
        for job_name, job in load(path)["jobs"].items():
            for n, step in enumerate(job.get("steps", [])):
                found += _commands(str(step.get("run", "")), f"{path.name}:{job_name}:{n}")
    for job_name, job in load(GITLAB).items():
        if isinstance(job, dict) and "script" in job:
            for n, line in enumerate(job["script"]):
                found += _commands(line, f"{GITLAB.name}:{job_name}:{n}")
    return found


def _commands(text: str, where: str) -> list[Invocation]:
    out = []
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        for match in COMMAND.finditer(line):
            words = shlex.split(match.group(1))
            if len(words) > 1 and words[1] in ("validate", "plan", "apply", "ledger", "schema"):
                out.append(Invocation(where, tuple(words[1:])))
    return out


def copy_example(tmp: Path) -> Path:
    """The repository's campaigns.yaml with its data, in a folder of its own."""
    shutil.copy(REPO / "campaigns.yaml", tmp / "campaigns.yaml")
    shutil.copytree(REPO / "data", tmp / "data")
    return tmp / "campaigns.yaml"
