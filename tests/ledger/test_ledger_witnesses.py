"""Which other configs and environments witness a moved ledger, and how many are named.

"No evidence, no verdict": another file whose ledger is nothing in this checkout, another
environment's sends of its own campaign ids, or another instance's, say nothing of these
campaigns.  Real git repositories, real SQLite ledgers, ``python -m mktsync`` subprocesses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from test_ledger_moved import (
    LEADS,
    NEW,
    OLD,
    Start,
    commit_ledger_line,
    git,
    leads_triggered,
    mktsync,
    project,
    write_config,
)
from testing.project import flow
from testing.seed import serve_project

from mktsync.emulator import Emulator


@pytest.fixture
def emulators() -> Iterator[Start]:
    """Start emulators seeded for a config (as ``test_ledger_moved``'s)."""
    with ExitStack() as stack:

        def start(config: Path) -> Emulator:
            return stack.enter_context(serve_project(config))

        yield start


NOTE = f"note: the ledger {OLD} does not exist yet: every item is planned as new\n"


def add_configs(repo: Path, count: int, ledger: str) -> None:
    """``count`` example configs under tests/, declaring the campaign id, naming ``ledger``."""
    text = (repo / "campaigns.yaml").read_text(encoding="utf-8")
    for i in range(count):
        folder = repo / "tests" / f"example-{i:02}"
        folder.mkdir(parents=True)
        (folder / "campaigns.yaml").write_text(
            text.replace(f"ledger: {OLD}", f"ledger: {ledger}"), encoding="utf-8"
        )
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "examples")


def test_example_configs_whose_ledgers_are_not_here_are_no_witnesses(tmp_path: Path) -> None:
    """The README's case: a fresh clone holding 38 test configs of the same campaign ids,
    each naming an SQLite file never made here, plans with the calm note, with or
    without ``--env``."""
    repo = project(tmp_path)
    write_config(repo, OLD, {"production": flow(ledger=OLD)})
    git(repo, "commit", "-q", "-am", "environments")
    add_configs(repo, 38, "sqlite:///ledger.db")
    for argv in ((), ("--env", "production")):
        plan = mktsync(repo, "plan", *argv)
        assert plan.returncode == 0, plan.stderr
        assert NOTE in plan.stdout, plan.stdout
        assert "warning" not in plan.stdout + plan.stderr


def test_unreadable_witnesses_are_named_three_at_most(tmp_path: Path) -> None:
    """Configs naming a database this checkout cannot read stay witnesses; the line names
    three of them and counts the rest, the JSON lists them all."""
    repo = project(tmp_path)
    add_configs(repo, 12, "${OLD_LEDGER_URL}")
    plan = mktsync(repo, "plan")
    assert plan.returncode == 0, plan.stderr
    [line] = [x for x in plan.stdout.splitlines() if x.startswith("warning: the ledger")]
    assert line.count("named the ledger ${OLD_LEDGER_URL}") == 3
    assert "; and 9 more. If the ledger moved" in line
    assert len(line) < 1000
    found = json.loads(mktsync(repo, "plan", "--format", "json").stdout)["new_ledger"]
    assert len(found["evidence"]) == 12


def test_a_config_before_environments_is_compared_under_env_too(
    tmp_path: Path, emulators: Start
) -> None:
    """One rule with or without --env: the version before ``environments:`` existed ran
    production from its top level, so moving production's ledger is seen."""
    repo = project(tmp_path)
    emu = emulators(repo / "campaigns.yaml")
    assert mktsync(repo, "apply", "--yes", emu=emu).returncode == 0
    write_config(repo, NEW, {"production": flow(ledger=NEW)})
    git(repo, "commit", "-q", "-am", "environments, and a new ledger")

    for argv in ((), ("--env", "production")):
        plan = mktsync(repo, "plan", *argv)
        assert f"named the ledger {OLD} at commit" in plan.stdout, plan.stdout
        assert f"which holds {LEADS} sends of these campaigns" in plan.stdout
    refused = mktsync(repo, "apply", "--yes", "--env", "production", emu=emu)
    assert refused.returncode == 1, refused.stdout
    assert leads_triggered(emu) == LEADS


def test_production_sends_are_no_witness_for_a_sandbox_with_its_own_ids(
    tmp_path: Path, emulators: Start
) -> None:
    """Section B: production applied; the sandbox's copies have other ids (or another
    instance): its first plan is calm, and its first apply sends."""
    repo = project(tmp_path, repo=False)
    production = flow(ledger="sqlite:///.mktsync/production.db")
    own_ids = flow(
        ledger="sqlite:///.mktsync/sandbox.db", campaigns={"reminder": {"campaign_id": 5678}}
    )
    other_instance = flow(
        ledger="sqlite:///.mktsync/sandbox.db",
        marketo={"base_url": "${MARKETO_SANDBOX_BASE_URL}"},
    )
    for sandbox in (own_ids, other_instance):
        for db in (repo / ".mktsync").glob("*.db*"):
            db.unlink()
        write_config(repo, OLD, {"sandbox": sandbox, "production": production})
        emu = emulators(repo / "campaigns.yaml")
        sent = mktsync(repo, "apply", "--yes", "--env", "production", emu=emu)
        assert sent.returncode == 0, sent.stderr
        plan = mktsync(repo, "plan", "--env", "sandbox", MARKETO_SANDBOX_BASE_URL="http://x")
        assert plan.returncode == 0, plan.stderr
        assert "note: the ledger sqlite:///.mktsync/sandbox.db does not exist yet" in plan.stdout
        assert "warning" not in plan.stdout, plan.stdout


def test_a_renamed_configs_unread_old_ledger_still_says_so(tmp_path: Path) -> None:
    """The config's own history keeps the strict rule: a changed line is said even when
    the old ledger is not in this checkout."""
    repo = project(tmp_path)
    commit_ledger_line(repo, NEW)
    plan = mktsync(repo, "plan")
    assert f"campaigns.yaml named the ledger {OLD} at commit" in plan.stdout
