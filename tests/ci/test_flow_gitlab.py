"""The shipped .gitlab-ci.yml, run here job by job on the example config as shipped.

A merge request gets validate and plan (the note posted once and updated, plan.md and
plan.json kept); the merge's pipeline applies the plan its merge request showed
(``--reviewed``, found through GitLab's API), or the merged config when none is found.
``gitlab_runner`` runs each job's scripts for real against the emulator and PostgreSQL;
only gitlab.com is a stand-in (``FakeGitLab``).
"""

from __future__ import annotations

import json

import pytest
from ci_testing import MARKER
from flows import Team, add_registrant
from gitlab_runner import FakeGitLab, Job, Runner

from mktsync.emulator import Emulator

pytestmark = pytest.mark.slow


def assert_ok(job: Job) -> None:
    assert job.ok, f"{job.name} [{job.status}]\n{job.log}"


def sent(emulator: Emulator) -> list[tuple[int, int]]:
    return [
        (int(t["campaign_id"]), int(lead)) for t in emulator.triggers() for lead in t["lead_ids"]
    ]


def merge_request_pipeline(
    runner: Runner, team: Team, gitlab: FakeGitLab, iid: int
) -> tuple[Job, Job]:
    pipeline = runner.pipeline(
        source="merge_request_event", sha=team.git_head(f"branch-{iid}"), branch=None, mr=iid
    )
    return runner.run(pipeline, "validate"), runner.run(pipeline, "plan")


def test_a_merge_request_is_planned_and_its_merge_applies_what_was_reviewed(
    gitlab_runner: Runner,
    team: Team,
    gitlab: FakeGitLab,
    production: Emulator,
    postgres_database: str,
) -> None:
    gitlab_runner.project_variables.update(
        MARKETO_BASE_URL=production.base_url,
        MARKETO_CLIENT_ID=production.client_id,
        MARKETO_CLIENT_SECRET=production.client_secret,
        MKTSYNC_LEDGER_URL=postgres_database,
        MKTSYNC_LEDGER_READ_URL=postgres_database,
        MKTSYNC_GITLAB_TOKEN=gitlab.token,
    )
    # The first pipeline on main: the example as shipped, with no merge request behind it.
    first = gitlab_runner.pipeline(source="push", sha=team.main, branch="main")
    assert_ok(gitlab_runner.run(first, "validate"))
    assert gitlab_runner.run(first, "plan").status == "skipped"  # plans are for MRs
    apply = gitlab_runner.run(first, "apply")
    assert_ok(apply)
    assert "no reviewed plan found" in apply.log
    before = sent(production)
    assert before and len(set(before)) == len(before)

    gitlab.open_merge_request(3)
    team.branch("branch-3", add_registrant, "one more registrant")
    for _ in range(2):  # two pushes: one note, updated
        validate, plan = merge_request_pipeline(gitlab_runner, team, gitlab, 3)
        assert_ok(validate)
        assert_ok(plan)
    (note,) = gitlab.notes[3]
    assert note["body"].startswith(MARKER)
    assert plan.artifacts is not None
    reviewed = json.loads((plan.artifacts / "plan.json").read_text(encoding="utf-8"))
    assert reviewed["environment"] == "production"
    assert reviewed["summary"]["trigger"] == 1

    gitlab.merged(3, team.merge("branch-3"))
    main = gitlab_runner.pipeline(source="push", sha=team.main, branch="main")
    assert_ok(gitlab_runner.run(main, "validate"))
    apply = gitlab_runner.run(main, "apply")
    assert_ok(apply)
    assert f"the plan reviewed in !3 (job {plan.id})" in apply.log
    new = sent(production)[len(before) :]
    assert len(new) == 1 and new[0] not in before


def test_apply_refuses_without_the_shared_ledger(
    gitlab_runner: Runner, team: Team, production: Emulator
) -> None:
    gitlab_runner.project_variables.update(
        MARKETO_BASE_URL=production.base_url,
        MARKETO_CLIENT_ID=production.client_id,
        MARKETO_CLIENT_SECRET=production.client_secret,
    )
    main = gitlab_runner.pipeline(source="push", sha=team.main, branch="main")
    apply = gitlab_runner.run(main, "apply")
    assert apply.status == "failed" and "MKTSYNC_LEDGER_URL is not set" in apply.log
    assert not production.triggers()
