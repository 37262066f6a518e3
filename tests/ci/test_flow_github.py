"""The shipped GitHub workflows, run here step by step on the example config as shipped.

Each flow is what a team lives through: a pull request gets its plan as a comment and its
plan.json as an artifact; the merge applies what was reviewed; the artifact ledger is
carried from one run to the next.  ``github_runner`` runs every ``run:`` step and the
action's own steps for real, against the emulator; only github.com is a stand-in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ci_testing import MARKER
from fake_github import BOT, FakeGitHub
from flows import Team, add_registrant
from github_runner import Environment, JobResult, Runner

from mktsync.emulator import Emulator

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples" / "github"
PULL_REQUEST = EXAMPLES / "pull-request.yml"
PLAN_COMMENT = EXAMPLES / "plan-comment.yml"
APPLY = EXAMPLES / "apply.yml"
ARTIFACT_LEDGER = EXAMPLES / "apply-artifact-ledger.yml"
SANDBOX = EXAMPLES / "sandbox.yml"


def pull_request_event(number: int, head: str, base: str, *, repo: str) -> dict[str, Any]:
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"sha": head, "ref": f"branch-{number}", "repo": {"full_name": repo}},
            "base": {"sha": base, "ref": "main", "repo": {"full_name": "acme/campaigns"}},
            "labels": [],
        },
    }


def marketo(emulator: Emulator) -> dict[str, str]:
    return {
        "MARKETO_BASE_URL": emulator.base_url,
        "MARKETO_CLIENT_ID": emulator.client_id,
        "MARKETO_CLIENT_SECRET": emulator.client_secret,
    }


def production_environment(secrets: dict[str, str]) -> dict[str, Environment]:
    """The GitHub environment ``production`` the apply workflows name: the Marketo
    secrets live there, and only ``main`` may deploy to it (as docs/ci.md says to set it)."""
    return {"production": Environment(secrets=secrets, branches=("main",))}


def assert_ok(job: JobResult) -> None:
    assert job.ok, job.log


def open_pull_request(
    runner: Runner, team: Team, github: FakeGitHub, *, number: int, ledger: str = "",
    repo: str = "acme/campaigns", variables: dict[str, str] | None = None,
) -> JobResult:  # fmt: skip
    """A pull request adding one registrant, and the run of pull-request.yml on it."""
    base = team.main
    head = team.branch(f"branch-{number}", add_registrant, "one more registrant")
    merge = team.test_merge(f"branch-{number}")
    github.add_pull(number=number, head_sha=head, head_repo=repo, merge_sha=merge)
    return runner.run(
        PULL_REQUEST,
        "plan",
        event_name="pull_request",
        event=pull_request_event(number, head, base, repo=repo),
        sha=merge,
        ref=f"refs/pull/{number}/merge",
        secrets={"MKTSYNC_LEDGER_READ_URL": ledger} if ledger else {},
        variables=variables,
    )


def test_a_pull_request_gets_its_plan_as_a_comment_and_an_artifact(
    runner: Runner, team: Team, github: FakeGitHub
) -> None:
    job = open_pull_request(runner, team, github, number=7)
    assert_ok(job)
    assert job.step("validate").outputs["exit-code"] == "0"
    plan = job.step("plan").outputs
    assert (plan["exit-code"], plan["changes"]) == ("2", "true")
    (comment,) = github.comments(7)
    assert comment["user"]["login"] == BOT
    assert comment["body"].startswith(MARKER)
    assert github.artifact_names(job.run_id) == {"mktsync-plan", "mktsync-plan-json"}
    saved = json.loads((github.artifact(job.run_id, "mktsync-plan-json") / "plan.json").read_text())
    assert saved["environment"] == "production"  # what the merge applies to
    assert MARKER in job.summary  # and the job summary has it too

    # The next push breaks the config: the failure replaces the plan in the one comment.
    head = team.commit("branch-7", break_config, "a typo")
    event = pull_request_event(7, head, team.main, repo="acme/campaigns")
    broken = runner.run(
        PULL_REQUEST, "plan", event_name="pull_request", event=event,
        sha=team.test_merge("branch-7"), ref="refs/pull/7/merge",
    )  # fmt: skip
    assert not broken.ok
    assert broken.step("validate").outputs["exit-code"] == "1"
    assert broken.step("plan").outcome == "skipped"
    (comment,) = github.comments(7)
    assert comment["body"].startswith(f"{MARKER}\n### mktsync: plan failed")
    assert "campaigns.yaml:" in comment["body"]  # the located error, as literal text
    assert github.artifact_names(broken.run_id) == {"mktsync-plan"}  # no plan.json to apply


def break_config(folder: Path) -> None:
    path = folder / "campaigns.yaml"
    path.write_text(path.read_text().replace("retrigger: on_change", "retrigger: sometimes", 1))


def push_to_main(
    runner: Runner, workflow: Path, sha: str, *, secrets: dict[str, str],
    variables: dict[str, str] | None = None, branch: str = "main",
) -> JobResult:  # fmt: skip
    """A push to ``branch`` running ``workflow``'s apply job; ``secrets`` are held by the
    GitHub environment ``production``, none by the repository."""
    return runner.run(
        workflow, "apply", event_name="push", event={"ref": f"refs/heads/{branch}", "after": sha},
        sha=sha, ref=f"refs/heads/{branch}", environments=production_environment(secrets),
        variables=variables,
    )  # fmt: skip


def sent(emulator: Emulator) -> list[tuple[int, int]]:
    """(campaign, lead) for every lead of every trigger Marketo received, in order."""
    return [
        (int(t["campaign_id"]), int(lead)) for t in emulator.triggers() for lead in t["lead_ids"]
    ]


def planned_leads(plan: dict[str, Any]) -> int:
    return int(plan["summary"]["trigger"]) + int(plan["summary"]["retrigger"])


def test_the_merge_applies_what_the_pull_request_reviewed(
    runner: Runner, team: Team, github: FakeGitHub, production: Emulator, postgres_database: str
) -> None:
    """apply.yml: the ledger in PostgreSQL; the merge finds the pull request's plan.json
    by its head commit and applies it with --reviewed, to production."""
    secrets = {**marketo(production), "MKTSYNC_LEDGER_URL": postgres_database}
    first = push_to_main(runner, APPLY, team.main, secrets=secrets)  # the example, first merge
    assert_ok(first)
    assert "no reviewed plan" in first.step("reviewed").log  # a direct push: said, not hidden
    assert first.step("Apply what was reviewed").outcome == "skipped"
    before = sent(production)
    assert before and len(set(before)) == len(before)

    review = open_pull_request(runner, team, github, number=7, ledger=postgres_database)
    assert_ok(review)
    plan = json.loads(
        (github.artifact(review.run_id, "mktsync-plan-json") / "plan.json").read_text()
    )
    assert planned_leads(plan) == 1  # the new registrant, against the ledger the merge uses
    merged = team.merge("branch-7")
    github.merged(7, merged)

    job = push_to_main(runner, APPLY, merged, secrets=secrets)
    assert_ok(job)
    assert f"the plan reviewed in #7 (run {review.run_id}" in job.step("reviewed").log
    assert job.step("Apply what was reviewed").outputs["exit-code"] == "0"
    assert job.step("Apply (no reviewed plan found)").outcome == "skipped"
    new = sent(production)[len(before) :]
    assert len(new) == 1 and new[0] not in before
    again = push_to_main(runner, APPLY, merged, secrets=secrets)  # a re-run sends nothing
    assert_ok(again)
    assert len(sent(production)) == len(before) + 1
    # The production environment admits main only: the same job from another branch
    # never starts, and so never holds the Marketo secrets.
    elsewhere = push_to_main(runner, APPLY, merged, secrets=secrets, branch="branch-7")
    assert not elsewhere.ok and "not allowed to deploy to production" in elsewhere.log
    assert len(sent(production)) == len(before) + 1


def test_a_push_without_a_reviewed_plan_is_refused_when_required(
    runner: Runner, team: Team, production: Emulator, postgres_database: str
) -> None:
    secrets = {**marketo(production), "MKTSYNC_LEDGER_URL": postgres_database}
    job = push_to_main(
        runner, APPLY, team.main, secrets=secrets, variables={"MKTSYNC_REVIEWED": "required"}
    )
    assert not job.ok
    assert "::error::no reviewed plan" in job.step("reviewed").log
    assert not production.triggers()
    # And without the shared ledger, nothing runs at all (a fresh runner's SQLite is empty).
    job = push_to_main(runner, APPLY, team.main, secrets=marketo(production))
    assert not job.ok and "MKTSYNC_LEDGER_URL is not set" in job.step("Refuse").log
    assert not production.triggers()


def test_the_artifact_ledger_is_carried_from_run_to_run(
    runner: Runner, team: Team, github: FakeGitHub, production: Emulator
) -> None:
    """apply-artifact-ledger.yml: the first run starts the ledger, the pull request plans
    against it (MKTSYNC_LEDGER=artifact), the merge restores it and sends only what is new;
    a lost artifact stops the next run before anything is sent."""
    secrets = marketo(production)
    first = push_to_main(runner, ARTIFACT_LEDGER, team.main, secrets=secrets)
    assert_ok(first)
    assert "first run" in first.step("Restore").log
    assert (github.artifact(first.run_id, "mktsync-ledger") / "ledger.db").is_file()
    before = sent(production)
    assert before and len(set(before)) == len(before)

    review = open_pull_request(
        runner, team, github, number=9, variables={"MKTSYNC_LEDGER": "artifact"}
    )
    assert_ok(review)
    assert f"ledger from run {first.run_id}" in review.step("Fetch the ledger").log
    plan = json.loads(
        (github.artifact(review.run_id, "mktsync-plan-json") / "plan.json").read_text()
    )
    assert planned_leads(plan) == 1

    github.merged(9, team.merge("branch-9"))
    second = push_to_main(runner, ARTIFACT_LEDGER, team.main, secrets=secrets)
    assert_ok(second)
    assert f"ledger restored from run {first.run_id}" in second.step("Restore").log
    assert f"the plan reviewed in #9 (run {review.run_id}" in second.step("reviewed").log
    new = sent(production)[len(before) :]
    assert len(new) == 1 and new[0] not in before  # the ledger came along: nothing twice

    github.expire_artifacts("mktsync-ledger")  # 90 days without an apply
    lost = push_to_main(runner, ARTIFACT_LEDGER, team.main, secrets=secrets)
    assert not lost.ok
    assert "::error::the ledger artifact is lost" in lost.step("Restore").log
    assert len(sent(production)) == len(before) + 1


def test_a_pull_request_from_a_fork_is_commented_by_plan_comment(
    runner: Runner, team: Team, github: FakeGitHub
) -> None:
    """The fork's run cannot comment (read-only token): plan-comment.yml, on workflow_run,
    posts its artifact after checking the pull request is at the planned commit."""
    job = open_pull_request(runner, team, github, number=11, repo="stranger/campaigns")
    assert_ok(job)
    assert job.step("Post or update").outcome == "skipped"
    assert not github.comments(11)
    head = next(p["head"]["sha"] for p in github.state()["pulls"] if p["number"] == 11)
    event = {
        "workflow_run": {
            "id": job.run_id,
            "event": "pull_request",
            "head_sha": head,
            "head_repository": {"full_name": "stranger/campaigns"},
        }
    }
    for _ in range(2):  # a second push updates the one comment
        comment = runner.run(
            PLAN_COMMENT, "comment", event_name="workflow_run", event=event, sha=team.main,
            ref="refs/heads/main",
        )  # fmt: skip
        assert_ok(comment)
    (posted,) = github.comments(11)
    assert posted["body"].startswith(MARKER) and posted["user"]["login"] == BOT


def test_a_pull_request_labelled_sandbox_is_applied_to_the_sandbox_only(
    runner: Runner, team: Team, github: FakeGitHub, sandbox: Emulator, production: Emulator,
    postgres_database: str,
) -> None:  # fmt: skip
    """sandbox.yml: the sandbox environment's credentials and ledger; production untouched."""
    head = team.branch("branch-12", add_registrant, "one more registrant")
    merge = team.test_merge("branch-12")
    event = pull_request_event(12, head, team.main, repo="acme/campaigns")
    environments = {
        "sandbox": Environment(
            secrets={
                "MARKETO_SANDBOX_BASE_URL": sandbox.base_url,
                "MARKETO_SANDBOX_CLIENT_ID": sandbox.client_id,
                "MARKETO_SANDBOX_CLIENT_SECRET": sandbox.client_secret,
                "MKTSYNC_SANDBOX_LEDGER_URL": postgres_database,
            }
        ),
        # Set up as apply.yml asks; a pull request's job never holds these.
        **production_environment(marketo(production)),
    }

    def push(labels: list[str]) -> JobResult:
        event["pull_request"]["labels"] = [{"name": name} for name in labels]
        return runner.run(
            SANDBOX, "sandbox", event_name="pull_request", event=event, sha=merge,
            ref="refs/pull/12/merge", environments=environments,
        )  # fmt: skip

    unlabelled = push([])
    assert unlabelled.skipped
    job = push(["sandbox"])
    assert_ok(job)
    assert job.step("Apply to the sandbox").outputs["exit-code"] == "0"
    first = sent(sandbox)
    assert first and len(set(first)) == len(first)
    assert not production.triggers()
    again = push(["sandbox"])  # the next push: the sandbox's ledger remembers
    assert_ok(again)
    assert sent(sandbox) == first
