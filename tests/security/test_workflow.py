"""The example pull-request workflow runs validate and plan as untrusted, without a token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "github" / "pull-request.yml"


def steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_validate_and_plan_run_with_untrusted() -> None:
    commands = {
        s["with"]["command"]: s["with"].get("args", "").split()
        for s in steps()
        if "mktsync" in s.get("uses", "")
    }
    assert set(commands) == {"validate", "plan"}
    assert all("--untrusted" in args for args in commands.values())


def test_checkout_leaves_no_token_in_git_config() -> None:
    (checkout,) = [s for s in steps() if s.get("uses", "").startswith("actions/checkout")]
    assert checkout["with"]["persist-credentials"] is False


def test_no_marketo_secret_reaches_the_job() -> None:
    assert "MARKETO_CLIENT_SECRET" not in WORKFLOW.read_text(encoding="utf-8")
