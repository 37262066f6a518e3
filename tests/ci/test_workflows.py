"""The CI examples and the action: valid YAML, the expected shape, and no unsafe trigger."""

from __future__ import annotations

from pathlib import Path

import pytest
from ci_testing import (
    ACTION,
    GITHUB,
    GITLAB,
    MARKER,
    action_invocations,
    is_action,
    load,
    shell_invocations,
    triggers,
)

APPLY = [p for p in GITHUB if p.name.startswith("apply")]


def by_name(name: str) -> dict:
    return load(next(p for p in GITHUB if p.name == name))


@pytest.mark.parametrize("path", [ACTION, GITLAB, *GITHUB], ids=lambda p: p.name)
def test_is_a_yaml_mapping(path) -> None:
    assert load(path)


def test_the_examples_are_all_there() -> None:
    names = {p.name for p in GITHUB}
    assert {"pull-request.yml", "plan-comment.yml", "apply.yml"} <= names
    assert APPLY


def test_action_is_composite_with_the_agreed_inputs() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    assert {"command", "config", "args", "python-version", "version"} <= set(action["inputs"])
    assert action["inputs"]["config"]["default"] == "campaigns.yaml"
    install = "\n".join(s.get("run", "") for s in action["runs"]["steps"])
    assert '"$GITHUB_ACTION_PATH"' in install.replace("spec=", "")
    assert {"exit-code", "changes", "output-file"} <= set(action["outputs"])


def test_action_passes_inputs_through_the_environment_not_the_script() -> None:
    # `${{ inputs.args }}` pasted into a script is a shell-injection hole.
    for step in load(ACTION)["runs"]["steps"]:
        assert "${{" not in step.get("run", ""), step.get("name")


def test_pull_request_workflow_plans_on_pull_request_with_detailed_exitcode() -> None:
    workflow = by_name("pull-request.yml")
    assert "pull_request" in triggers(workflow)
    plans = [i for i in action_invocations() if i.where.startswith("pull-request.yml")]
    assert [i.command for i in plans] == ["validate", "plan"]
    assert {"--format", "markdown", "--detailed-exitcode"} <= set(plans[1].argv)
    script = str(workflow).replace("\\n", "\n")
    assert MARKER in script and "updateComment" in script and "createComment" in script


def test_no_workflow_runs_pr_code_with_a_write_token() -> None:
    for path in GITHUB:
        assert "pull_request_target" not in triggers(load(path)), path.name


def test_fork_comment_workflow_runs_no_pr_code() -> None:
    workflow = by_name("plan-comment.yml")
    assert "workflow_run" in triggers(workflow)
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    assert not any("checkout" in str(s.get("uses", "")) for s in steps)
    assert not any(is_action(s) for s in steps)
    assert "head_sha" in str(steps)  # the PR named in the artifact is checked


@pytest.mark.parametrize("path", APPLY, ids=lambda p: p.name)
def test_apply_runs_on_main_one_at_a_time(path) -> None:
    workflow = load(path)
    assert triggers(workflow)["push"]["branches"] == ["main"]
    assert workflow["concurrency"]["group"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    steps = workflow["jobs"]["apply"]["steps"]
    apply = next(s for s in steps if is_action(s) and s["with"]["command"] == "apply")
    assert "--yes" in apply["with"]["args"].split()
    for name in ("MARKETO_BASE_URL", "MARKETO_CLIENT_ID", "MARKETO_CLIENT_SECRET"):
        assert apply["env"][name] == "${{ secrets." + name + " }}"
    commands = [s["with"]["command"] for s in steps if is_action(s)]
    assert commands.index("plan") < commands.index("apply")  # the numbers first


@pytest.mark.parametrize("path", APPLY, ids=lambda p: p.name)
def test_apply_sends_what_the_pull_request_reviewed(path) -> None:
    """The merge applies the plan its pull request showed (--reviewed), found by the pull
    request's head commit, from branches of this repository only; without one, the config."""
    workflow = load(path)
    job = workflow["jobs"]["apply"]
    assert job["env"]["MKTSYNC_ENV"] == "production"  # as the example campaigns.yaml names it
    assert job["environment"] == "production"  # the GitHub environment holding its secrets
    assert (
        by_name("pull-request.yml")["jobs"]["plan"]["env"]["MKTSYNC_ENV"]
        == job["env"]["MKTSYNC_ENV"]
    )  # a plan is bound to its environment: both sides read the same variable
    assert workflow["permissions"] == {**workflow["permissions"], "actions": "read"}
    assert workflow["permissions"]["pull-requests"] == "read"
    find = next(s for s in job["steps"] if s.get("id") == "reviewed")
    assert "--name mktsync-plan-json" in find["run"] and '--commit "$head"' in find["run"]
    assert ".head.repo.full_name" in find["run"]  # never a fork's artifact
    applies = [s for s in job["steps"] if is_action(s) and s["with"]["command"] == "apply"]
    reviewed, plain, new_ledger = applies
    assert reviewed["if"] == "${{ !inputs.new-ledger && steps.reviewed.outputs.found == 'true' }}"
    assert "--reviewed mktsync-reviewed/plan.json" in reviewed["with"]["args"]
    assert plain["if"] == "${{ !inputs.new-ledger && steps.reviewed.outputs.found != 'true' }}"
    assert reviewed["env"] == plain["env"]
    assert new_ledger["if"] == "${{ inputs.new-ledger }}"  # started by hand: nothing reviewed


def test_apply_keeps_the_ledger() -> None:
    postgres = by_name("apply.yml")
    assert postgres["jobs"]["apply"]["env"]["MKTSYNC_LEDGER_URL"] == (
        "${{ secrets.MKTSYNC_LEDGER_URL }}"
    )
    artifact = by_name("apply-artifact-ledger.yml")
    steps = artifact["jobs"]["apply"]["steps"]
    upload = next(s for s in steps if "upload-artifact" in str(s.get("uses")))
    assert upload["if"] == "always()"
    export = next(s for s in steps if "export --format sqlite" in s.get("run", ""))
    assert export["if"] == "always()"  # one consistent file: no -wal left behind
    assert "mktsync-ledger" in upload["with"]["path"]
    assert steps.index(export) < steps.index(upload)
    restore = next(s for s in steps if "Restore" in s.get("name", ""))
    assert "exit 1" in restore["run"]  # no ledger, no apply


def test_gitlab_plans_merge_requests_and_applies_in_a_resource_group() -> None:
    pipeline = load(GITLAB)
    assert "merge_request_event" in str(pipeline["plan"]["rules"])
    assert pipeline["plan"]["artifacts"]["paths"] == ["plan.md", "plan-full.md", "plan.json"]
    # Problems on the MR's diff (issue 22): the Code Quality report of validate, then plan.
    assert pipeline["plan"]["artifacts"]["reports"] == {"codequality": "gl-code-quality.json"}
    assert "needs" not in pipeline["plan"]  # validates itself, so a failure replaces the note
    script = "\n".join(pipeline["plan"]["script"])
    assert "mktsync: plan failed" in script and "sed 's/^/    /'" in script
    assert pipeline["apply"]["resource_group"]
    assert "CI_DEFAULT_BRANCH" in str(pipeline["apply"]["rules"])
    applies = [i.argv for i in shell_invocations() if i.where.startswith(".gitlab-ci.yml:apply")]
    assert [argv[0] for argv in applies] == ["validate", "plan", "apply", "apply"]
    # The merged MR's plan, when it can be found, is what is applied (issue 21).
    assert "--reviewed" in applies[2] and "--reviewed" not in applies[3]


def test_pull_request_failure_replaces_the_comment_and_the_json_plan_is_kept() -> None:
    workflow = by_name("pull-request.yml")
    steps = workflow["jobs"]["plan"]["steps"]
    write = next(s for s in steps if s.get("name", "").startswith("Write the comment"))
    assert write["if"] == "always()"
    assert "mktsync: plan failed" in write["run"] and "sed 's/^/    /'" in write["run"]
    post = next(s for s in steps if s.get("name", "").startswith("Post or update"))
    assert post["if"].startswith("always() && ") and "exit-code" not in post["if"]
    uploads = [s for s in steps if "upload-artifact" in str(s.get("uses"))]
    assert {u["with"]["name"] for u in uploads} == {"mktsync-plan", "mktsync-plan-json"}
    plan = next(s for s in steps if s.get("id") == "plan")
    assert "--out mktsync-plan-json/plan.json" in plan["with"]["args"]
    assert "error-file" in load(ACTION)["outputs"]


def test_the_failure_comment_shows_errors_as_literal_text(tmp_path) -> None:
    """Run the workflow's own script on hostile errors; render it as GitHub would."""
    import os
    import subprocess

    from markdown_it import MarkdownIt

    steps = by_name("pull-request.yml")["jobs"]["plan"]["steps"]
    script = next(s for s in steps if s.get("name", "").startswith("Write the comment"))["run"]
    errors = tmp_path / "plan.err"
    errors.write_text(
        "error: campaigns.yaml:3:1: <img src=x> @octocat [x](javascript:alert(1))\n"
        "~~~~\n```\n</details> | a | b |\n",
        encoding="utf-8",
    )
    env = {
        "PATH": os.environ["PATH"],
        "PLAN_CODE": "1",
        "PLAN_ERR": str(errors),
        "VALIDATE_OUT": str(tmp_path / "absent"),
        "PR_NUMBER": "7",
        "GITHUB_SHA": "0123456789abcdef",
        "RUN_URL": "https://github.com/o/r/actions/runs/1",
    }
    subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, check=True)
    body = (tmp_path / "mktsync-plan" / "plan.md").read_text(encoding="utf-8")
    assert body.startswith(MARKER + "\n### mktsync: plan failed")
    assert "`0123456789ab`" in body
    tokens = MarkdownIt("commonmark").enable("table").parse(body)
    code = [t for t in tokens if t.type == "code_block"]
    assert len(code) == 1 and "<img src=x> @octocat" in code[0].content
    html = [t.content for t in tokens if t.type == "html_block"]
    html += [c.content for t in tokens for c in t.children or [] if c.type == "html_inline"]
    assert html == [f"{MARKER}\n", "<sub>", "</sub>"]  # ours only
    assert not any(t.type == "table_open" for t in tokens)


def _comment_script(tmp_path: Path, **env: str) -> str:
    """Run pull-request.yml's own "Write the comment" step; the comment it wrote."""
    import os
    import subprocess

    steps = by_name("pull-request.yml")["jobs"]["plan"]["steps"]
    script = next(s for s in steps if s.get("name", "").startswith("Write the comment"))["run"]
    base = {"PATH": os.environ["PATH"], "PR_NUMBER": "7", "GITHUB_SHA": "0123456789abcdef"}
    subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env={**base, **env}, check=True)
    return (tmp_path / "mktsync-plan" / "plan.md").read_text(encoding="utf-8")


def test_the_comment_is_the_plan_as_mktsync_made_it(tmp_path: Path) -> None:
    """mktsync keeps the whole comment within 65,536 characters, notes included: the
    workflow adds nothing to it (it used to add a note past the limit)."""
    plan = tmp_path / "plan.md"
    plan.write_text(MARKER + "\n" + "x" * 65_000 + "\n", encoding="utf-8")
    body = _comment_script(tmp_path, PLAN_CODE="2", PLAN_FILE=str(plan), LEDGER_MISSING="true")
    assert body == plan.read_text(encoding="utf-8")


def test_the_failure_comment_fits_and_leaves_the_annotations_to_the_diff(tmp_path: Path) -> None:
    errors = tmp_path / "validate.out"
    errors.write_text(
        "::error file=campaigns.yaml,line=3,title=mktsync::bad\n"
        + "campaigns.yaml:3:1: bad\n" * 5000,
        encoding="utf-8",
    )
    body = _comment_script(tmp_path, PLAN_CODE="", VALIDATE_OUT=str(errors))
    assert len(body) <= 65_536  # indented, then cut: 4 more characters a line fit too
    assert "::error" not in body and "    campaigns.yaml:3:1: bad\n" in body


def test_every_apply_in_the_ci_files_says_yes() -> None:
    """CI=true is not consent (issue 22): each apply a CI file runs passes --yes itself."""
    applies = [i for i in action_invocations() + shell_invocations() if i.command == "apply"]
    assert len(applies) >= 4
    for invocation in applies:
        assert "--yes" in invocation.argv, invocation.where
