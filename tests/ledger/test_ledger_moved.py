"""A new ledger is loud (issue 25): the plan says so, and apply refuses a moved one.

Real git repositories made here, real SQLite (and PostgreSQL) ledgers, ``python -m
mktsync`` in a subprocess, and the emulator counting every call it receives.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from testing.project import (
    LEAD_BY_EMAIL,
    MARKETO_FROM_ENV,
    Flow,
    csv_source,
    flow,
    write_file,
    write_project,
)
from testing.seed import serve_project

from mktsync.emulator import Emulator
from mktsync.ledger import open_ledger

REMINDER = {
    "campaign_id": 1234,
    "source": "regs",
    "lead": LEAD_BY_EMAIL,
    "tokens": {"my.Webinar": "{{ row.webinar }}"},
}

OLD = "sqlite:///.mktsync/ledger.db"
NEW = "sqlite:///data/new.db"
LEADS = 3


def write_config(repo: Path, ledger: str, environments: dict[str, Flow] | None = None) -> Path:
    return write_project(
        repo,
        marketo=MARKETO_FROM_ENV,
        ledger=ledger,
        sources={"regs": csv_source("data/regs.csv")},
        campaigns={"reminder": REMINDER},
        environments=environments,
    )


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ann",
        "GIT_AUTHOR_EMAIL": "ann@example.com",
        "GIT_COMMITTER_NAME": "Ann",
        "GIT_COMMITTER_EMAIL": "ann@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def project(tmp_path: Path, ledger: str = OLD, *, repo: bool = True) -> Path:
    """A campaigns repository: the config, three registrations, ledgers ignored by git."""
    rows = "".join(f"user{i}@example.com,w1\n" for i in range(LEADS))
    write_file(tmp_path / "data" / "regs.csv", "email,webinar\n" + rows)
    write_config(tmp_path, ledger)
    if repo:
        (tmp_path / ".gitignore").write_text(".mktsync/\n*.db\n", encoding="utf-8")
        git(tmp_path, "init", "-q", "-b", "main")
        git(tmp_path, "add", ".")
        git(tmp_path, "commit", "-q", "-m", "campaigns")
    return tmp_path


def commit_ledger_line(repo: Path, ledger: str, message: str = "move the ledger") -> None:
    text = (repo / "campaigns.yaml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^ledger: .*$", f"ledger: {ledger}", text)
    (repo / "campaigns.yaml").write_text(text, encoding="utf-8")
    git(repo, "commit", "-q", "-am", message)


Start = Callable[[Path], Emulator]


@pytest.fixture
def emulators() -> Iterator[Start]:
    """Start emulators seeded for a config (each counts the calls it receives)."""
    with ExitStack() as stack:

        def start(config: Path) -> Emulator:
            return stack.enter_context(serve_project(config))

        yield start


def mktsync(
    repo: Path, *argv: str, emu: Emulator | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MARKETO_", "MKTSYNC_", "GITHUB_", "CI"))
    }
    if emu is not None:
        clean |= {
            "MARKETO_BASE_URL": emu.base_url,
            "MARKETO_CLIENT_ID": emu.client_id,
            "MARKETO_CLIENT_SECRET": emu.client_secret,
        }
    return subprocess.run(
        [sys.executable, "-m", "mktsync", *argv],
        cwd=repo,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def leads_triggered(emu: Emulator) -> int:
    return sum(len(t["lead_ids"]) for t in emu.triggers())


def sent_before_the_move(tmp_path: Path, emulators: Start) -> Path:
    """A project whose first apply sent everything, then a branch moving ``ledger:``."""
    repo = project(tmp_path)
    emu = emulators(repo / "campaigns.yaml")
    first = mktsync(repo, "apply", "--yes", emu=emu)
    assert first.returncode == 0, first.stderr
    assert leads_triggered(emu) == LEADS
    git(repo, "checkout", "-q", "-b", "move")
    commit_ledger_line(repo, NEW)
    return repo


HEADLINE = (
    f"the ledger {NEW} does not exist: every item is planned as new — the base branch's "
    f"ledger {OLD} holds {LEADS} sends of these campaigns"
)


def test_a_pull_request_moving_the_ledger_says_so_in_text_markdown_and_json(
    tmp_path: Path, emulators: Start
) -> None:
    repo = sent_before_the_move(tmp_path, emulators)

    text = mktsync(repo, "plan", "--base", "main", "--detailed-exitcode")
    assert text.returncode == 2, text.stderr
    assert f"warning: {HEADLINE}" in text.stdout
    lines = text.stdout.splitlines()
    warning = next(n for n, line in enumerate(lines) if line.startswith("warning: the ledger"))
    assert lines[warning + 1].startswith(f"{LEADS} leads to trigger")  # right above the headline
    assert "mktsync ledger export --format sqlite --out NEW.db" in lines[warning]

    # The comment: the CI's target branch names the base; the warning comes first.
    md = mktsync(repo, "plan", "--format", "markdown", GITHUB_BASE_REF="main")
    assert md.returncode == 0, md.stderr
    body = md.stdout.splitlines()
    assert body[0] == "<!-- mktsync-plan -->"
    quote = next(n for n, line in enumerate(body) if line.startswith("> **Warning:**"))
    headline = next(n for n, line in enumerate(body) if line.startswith("**"))
    assert quote < headline < next(n for n, line in enumerate(body) if line.startswith("|"))
    assert body[quote] == (
        f"> **Warning:** the ledger `{NEW}` does not exist: every item is planned as new — "
        f"the base branch's ledger `{OLD}` holds {LEADS} sends of these campaigns. If the "
        "ledger moved, copy it (`mktsync ledger export --format sqlite --out NEW.db`) or "
        """point `ledger:` back (docs/ledger.md, "Moving the ledger")"""
    )

    plan = json.loads(mktsync(repo, "plan", "--format", "json", "--base", "main").stdout)
    assert plan["new_ledger"] == {
        "ledger": NEW,
        "state": "absent",
        "evidence": [
            {"kind": "base_branch", "ledger": OLD, "ref": "main", "sends": LEADS, "in_use": True}
        ],
        "message": f"{HEADLINE}. If the ledger moved, copy it (mktsync ledger export --format "
        """sqlite --out NEW.db) or point 'ledger:' back (docs/ledger.md, "Moving the ledger")""",
    }
    assert not (repo / "data" / "new.db").exists()  # a plan creates nothing


def test_apply_after_the_merge_refuses_without_new_ledger_and_sends_with_it(
    tmp_path: Path, emulators: Start
) -> None:
    repo = sent_before_the_move(tmp_path, emulators)
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "move", "-m", "Merge the move")
    old_commit = git(repo, "rev-parse", "HEAD^1")[:12]
    emu = emulators(repo / "campaigns.yaml")

    refused = mktsync(repo, "apply", "--yes", emu=emu)
    assert refused.returncode == 1
    assert refused.stderr == (
        f"error: the ledger {NEW} does not exist, but campaigns.yaml named the ledger {OLD} at "
        f"commit {old_commit}, which holds {LEADS} sends of these campaigns: applying now "
        "would trigger every item again. If a new ledger is intended, run again with "
        "--new-ledger (and --why TEXT, kept in the ledger); if not, point 'ledger:' back at "
        f"{OLD}, or copy that ledger to the new place first (mktsync ledger export --format "
        """sqlite --out NEW.db; docs/ledger.md, "Moving the ledger")\n"""
    )
    assert emu.triggers() == [] and emu.stats()["calls"] == 0
    assert not (repo / "data" / "new.db").exists()

    # The job's plan step (no base branch on a push) says the same from git history.
    plan = mktsync(repo, "plan")
    assert f"named the ledger {OLD} at commit {old_commit}, which holds 3 sends" in plan.stdout

    accepted = mktsync(
        repo,
        "apply",
        "--yes",
        "--new-ledger",
        "--why",
        "a clean start for the new instance",
        emu=emu,
        MKTSYNC_WHO="ann",
    )
    assert accepted.returncode == 0, accepted.stderr
    assert leads_triggered(emu) == LEADS
    with open_ledger(NEW, repo, create=False) as ledger:
        (run,) = ledger.runs()
    assert run.command == "apply"
    assert run.note is not None
    assert run.note.startswith(
        "new ledger started with --new-ledger by ann: a clean start for the new instance "
        f"(set aside: campaigns.yaml named the ledger {OLD} at commit {old_commit}, which "
        f"holds {LEADS} sends"
    )

    # From now on the new ledger is in use: no headline, no refusal, nothing to send.
    again = mktsync(repo, "plan", "--detailed-exitcode")
    assert again.returncode == 0 and "the ledger" not in again.stdout, again.stdout
    assert mktsync(repo, "apply", "--yes", emu=emu).returncode == 0
    assert leads_triggered(emu) == LEADS


def test_another_environments_ledger_knowing_the_campaigns_is_in_the_headline(
    tmp_path: Path, emulators: Start
) -> None:
    repo = project(tmp_path, repo=False)
    environments = {
        "sandbox": flow(ledger="sqlite:///.mktsync/sandbox.db"),
        "production": flow(ledger="sqlite:///.mktsync/production.db"),
    }
    write_config(repo, OLD, environments)
    emu = emulators(repo / "campaigns.yaml")
    assert mktsync(repo, "apply", "--yes", "--env", "sandbox", emu=emu).returncode == 0

    plan = mktsync(repo, "plan", "--env", "production", "--detailed-exitcode")
    assert plan.returncode == 2
    assert (
        "warning: the ledger sqlite:///.mktsync/production.db does not exist: every item is "
        "planned as new — the ledger of environment 'sandbox', sqlite:///.mktsync/sandbox.db, holds "
        f"{LEADS} sends of these campaigns"
    ) in plan.stdout
    md = mktsync(repo, "plan", "--env", "production", "--format", "markdown").stdout
    assert "environment `sandbox`, `sqlite:///.mktsync/sandbox.db`, holds 3 sends" in md

    # A new environment starts empty, rightly: its first apply is not refused.
    first = mktsync(repo, "apply", "--yes", "--env", "production", emu=emu)
    assert first.returncode == 0, first.stderr
    assert leads_triggered(emu) == 2 * LEADS


def test_a_ledger_moved_by_export_shows_no_headline_and_sends_nothing(
    tmp_path: Path, emulators: Start
) -> None:
    repo = project(tmp_path)
    emu = emulators(repo / "campaigns.yaml")
    assert mktsync(repo, "apply", "--yes", emu=emu).returncode == 0
    git(repo, "checkout", "-q", "-b", "move")
    copied = mktsync(repo, "ledger", "export", "--format", "sqlite", "--out", "data/new.db")
    assert copied.returncode == 0, copied.stderr
    commit_ledger_line(repo, NEW)

    plan = mktsync(repo, "plan", "--base", "main", "--detailed-exitcode")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes" in plan.stdout and "does not exist" not in plan.stdout
    assert "new_ledger" not in json.loads(mktsync(repo, "plan", "--format", "json").stdout)

    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "move", "-m", "Merge the move")
    applied = mktsync(repo, "apply", "--yes", emu=emu)
    assert applied.returncode == 0, applied.stderr
    assert leads_triggered(emu) == LEADS  # the first apply's, none since


def test_a_fresh_project_plans_calmly_and_its_first_apply_needs_no_flag(
    tmp_path: Path, emulators: Start
) -> None:
    repo = project(tmp_path)
    plan = mktsync(repo, "plan", "--detailed-exitcode")
    assert plan.returncode == 2  # changes: three leads to trigger
    assert f"note: the ledger {OLD} does not exist yet: every item is planned as new\n" in (
        plan.stdout
    )
    assert "warning" not in plan.stdout
    md = mktsync(repo, "plan", "--format", "markdown").stdout
    assert f"> **Note:** the ledger `{OLD}` does not exist yet: every item is planned as new" in md

    emu = emulators(repo / "campaigns.yaml")
    applied = mktsync(repo, "apply", "--yes", emu=emu)
    assert applied.returncode == 0, applied.stderr
    assert leads_triggered(emu) == LEADS
    with open_ledger(OLD, repo, create=False) as ledger:
        assert ledger.runs()[0].note is None  # nothing was set aside


def test_a_ledger_line_changed_before_any_apply_is_no_reason_to_refuse(
    tmp_path: Path, emulators: Start
) -> None:
    repo = project(tmp_path)
    commit_ledger_line(repo, NEW, "keep the ledger under data/")
    plan = mktsync(repo, "plan")
    assert (
        f"campaigns.yaml named the ledger {OLD} at commit" in plan.stdout
        and "(not read: no such file in this checkout)" in plan.stdout
    )
    emu = emulators(repo / "campaigns.yaml")
    applied = mktsync(repo, "apply", "--yes", emu=emu)  # the old one never existed
    assert applied.returncode == 0, applied.stderr
    assert leads_triggered(emu) == LEADS


def test_the_readme_demo_works_on_a_fresh_clone(tmp_path: Path) -> None:
    repo = project(tmp_path)
    commit_ledger_line(repo, NEW)  # history with a move: the demo does not care
    demo = mktsync(repo, "apply", "--emulator")
    assert demo.returncode == 0, demo.stderr


def test_the_ledger_is_shown_as_written_never_resolved(tmp_path: Path, emulators: Start) -> None:
    repo = sent_before_the_move(tmp_path, emulators)
    commit_ledger_line(repo, "${MKTSYNC_NEW_LEDGER}")
    env = {"MKTSYNC_NEW_LEDGER": "sqlite:///data/hidden-name.db"}
    for fmt in ("text", "markdown", "json"):
        out = mktsync(repo, "plan", "--base", "main", "--format", fmt, **env)
        assert out.returncode == 0, out.stderr
        assert "hidden-name" not in out.stdout + out.stderr
        assert "${MKTSYNC_NEW_LEDGER}" in out.stdout and "holds 3 sends" in out.stdout


def test_a_base_branch_not_in_the_checkout_is_said_not_an_error(tmp_path: Path) -> None:
    repo = project(tmp_path)
    plan = mktsync(repo, "plan", "--base", "no-such-branch")
    assert plan.returncode == 0, plan.stderr
    assert (
        f"note: the ledger {OLD} does not exist yet: every item is planned as new (the base "
        "branch no-such-branch, from --base, is not in this checkout, so the ledger it names "
        "was not compared)"
    ) in plan.stdout
    # No git at all: no evidence, and no error.
    (tmp_path / "plain").mkdir()
    bare = project(tmp_path / "plain", repo=False)
    plan = mktsync(bare, "plan", GITHUB_BASE_REF="main", PATH="/nonexistent")
    assert plan.returncode == 0, plan.stderr
    assert "from $GITHUB_BASE_REF, is not in this checkout" in plan.stdout


def test_a_github_pull_request_checkout_compares_with_the_merge_commits_first_parent(
    tmp_path: Path, emulators: Start
) -> None:
    """actions/checkout of a PR holds the merge commit (and with fetch-depth 2 its parents),
    not the base branch by name: the base is the merge's first parent."""
    repo = sent_before_the_move(tmp_path, emulators)
    git(repo, "checkout", "-q", "--detach", "main")
    git(repo, "merge", "-q", "--no-ff", "move", "-m", "Merge move into main")
    git(repo, "branch", "-q", "-m", "main", "elsewhere")  # "main" is not a ref here
    plan = mktsync(repo, "plan", GITHUB_BASE_REF="main")
    assert f"warning: {HEADLINE}" in plan.stdout


def test_a_postgresql_ledger_the_workflow_names_is_read_for_the_evidence(
    tmp_path: Path, emulators: Start, postgres_database: str
) -> None:
    """apply.yml's ledger is ${MKTSYNC_LEDGER_URL}; a PR points ledger: at a file."""
    repo = project(tmp_path, "${MKTSYNC_LEDGER_URL}")
    emu = emulators(repo / "campaigns.yaml")
    pg = {"MKTSYNC_LEDGER_URL": postgres_database}
    assert mktsync(repo, "apply", "--yes", emu=emu, **pg).returncode == 0
    git(repo, "checkout", "-q", "-b", "move")
    commit_ledger_line(repo, NEW)

    plan = mktsync(repo, "plan", "--base", "main", **pg)
    assert (
        f"the ledger {NEW} does not exist: every item is planned as new — the base branch's "
        f"ledger ${{MKTSYNC_LEDGER_URL}} holds {LEADS} sends of these campaigns"
    ) in plan.stdout
    assert postgres_database.split("@")[-1] not in plan.stdout  # never the resolved URL

    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "move", "-m", "Merge the move")
    refused = mktsync(repo, "apply", "--yes", emu=emu, **pg)
    assert refused.returncode == 1
    assert "named the ledger ${MKTSYNC_LEDGER_URL} at commit" in refused.stderr
    assert leads_triggered(emu) == LEADS  # the first apply's only


def test_a_hostile_ledger_line_stays_literal_text_in_the_comment(tmp_path: Path) -> None:
    from markdown_it import MarkdownIt

    repo = project(tmp_path)
    git(repo, "checkout", "-q", "-b", "hostile")
    commit_ledger_line(repo, "'sqlite:///data/<img src=x>`@octocat [x](javascript:1).db'")
    md = mktsync(repo, "plan", "--format", "markdown", "--base", "main")
    assert md.returncode == 0, md.stderr
    tokens = MarkdownIt("commonmark").parse(md.stdout)
    html = [c.content for t in tokens for c in t.children or [] if c.type == "html_inline"]
    assert html == ["<sub>", "</sub>", "<sub>", "</sub>"]  # ours only: no <img>
    assert not any(c.type == "link_open" for t in tokens for c in t.children or [])
    quote = next(line for line in md.stdout.splitlines() if line.startswith("> **"))
    assert "``sqlite:///data/<img src=x>`@octocat [x](javascript:1).db``" in quote


def test_a_ledger_read_as_its_default_says_which_variable_was_not_set(tmp_path: Path) -> None:
    """A fork's pull request has no ledger secret: the plan reads the default, and says so."""
    default = "${MKTSYNC_LEDGER_URL:-sqlite:///.mktsync/ledger.db}"
    repo = project(tmp_path, default)
    plan = mktsync(repo, "plan", "--untrusted")
    assert plan.returncode == 0, plan.stderr
    assert (
        f"note: the ledger {default} (read as its default: ${{MKTSYNC_LEDGER_URL}} not set "
        "here) does not exist yet: every item is planned as new"
    ) in plan.stdout


def test_ledgers_outside_the_repository_are_never_opened(tmp_path: Path, emulators: Start) -> None:
    """Another environment's ledger is read only when it is an SQLite file in the repository."""
    (tmp_path / "repo").mkdir()
    repo = project(tmp_path / "repo")
    outside = "sqlite:///../outside.db"
    write_config(repo, OLD)
    emu = emulators(repo / "campaigns.yaml")
    sent = mktsync(repo, "apply", "--yes", "--ledger", outside, emu=emu)
    assert sent.returncode == 0, sent.stderr
    assert (tmp_path / "outside.db").is_file()
    environments = {"sandbox": flow(ledger=outside), "production": flow(ledger=OLD)}
    write_config(repo, OLD, environments)
    plan = mktsync(repo, "plan", "--env", "production")
    assert plan.returncode == 0, plan.stderr
    assert "outside.db" not in plan.stdout
    assert f"note: the ledger {OLD} does not exist yet" in plan.stdout


def test_apply_refuses_only_on_sends_of_these_campaigns() -> None:
    from mktsync.ledger.history import Evidence, NewLedger, apply_refusal

    def found(**evidence: object) -> NewLedger:
        kind = evidence.pop("kind", "previous_config")
        one = Evidence(kind=kind, ledger=OLD, ref="1f2e3d4c5b6a", **evidence)  # type: ignore[arg-type]
        return NewLedger(ledger=NEW, state="absent", evidence=(one,))

    assert apply_refusal(found(sends=1, in_use=True)) is not None
    assert apply_refusal(found(sends=0, in_use=True)) is None  # used, but not for these
    assert apply_refusal(found(unread="no such file in this checkout")) is None
    assert apply_refusal(found(kind="environment", environment="sandbox", sends=9)) is None


# Hiding the old config (QA of issue 25): a rename, a move to a subfolder, a second file.


def merge_to_main(repo: Path, branch: str = "move") -> None:
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", branch, "-m", f"Merge {branch}")


def test_a_renamed_config_is_followed_to_its_old_ledger(tmp_path: Path, emulators: Start) -> None:
    """``ledger:`` moved and ``git mv campaigns.yaml campaigns.yml`` in the same diff."""
    repo = sent_before_the_move(tmp_path, emulators)
    git(repo, "mv", "campaigns.yaml", "campaigns.yml")
    git(repo, "commit", "-q", "-m", "rename")

    plan = mktsync(repo, "plan", "--base", "main", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stderr
    assert (
        f"warning: the ledger {NEW} does not exist: every item is planned as new — "
        f"campaigns.yaml in the base branch main names the ledger {OLD}, which holds {LEADS} "
        "sends of these campaigns"
    ) in plan.stdout
    evidence = json.loads(mktsync(repo, "plan", "--format", "json", "--base", "main").stdout)
    assert evidence["new_ledger"]["evidence"][0]["path"] == "campaigns.yaml"

    merge_to_main(repo)
    emu = emulators(repo / "campaigns.yml")
    refused = mktsync(repo, "apply", "--yes", emu=emu)
    assert refused.returncode == 1
    assert f"campaigns.yaml named the ledger {OLD} at commit" in refused.stderr
    assert f"which holds {LEADS} sends of these campaigns" in refused.stderr
    assert emu.stats()["calls"] == 0


def test_a_config_moved_to_a_subfolder_keeps_its_ledger_line_but_not_its_ledger(
    tmp_path: Path, emulators: Start
) -> None:
    """The same ``ledger:`` text read from another folder is another ledger (``-C sub``)."""
    repo = project(tmp_path)
    emu = emulators(repo / "campaigns.yaml")
    assert mktsync(repo, "apply", "--yes", emu=emu).returncode == 0
    git(repo, "checkout", "-q", "-b", "move")
    (repo / "mkt").mkdir()
    git(repo, "mv", "campaigns.yaml", "data", "mkt/")
    git(repo, "commit", "-q", "-m", "keep the campaigns in mkt/")

    plan = mktsync(repo, "-C", "mkt", "plan", "--base", "main", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stderr
    assert (
        f"campaigns.yaml in the base branch main names the ledger {OLD}, which holds {LEADS} sends"
    ) in plan.stdout

    merge_to_main(repo)
    refused = mktsync(repo, "-C", "mkt", "apply", "--yes", emu=emu)
    assert refused.returncode == 1, refused.stdout
    assert f"campaigns.yaml named the ledger {OLD} at commit" in refused.stderr
    assert leads_triggered(emu) == LEADS  # the first apply's only


@pytest.mark.parametrize("keep_old", [True, False], ids=["beside-the-old", "old-deleted"])
def test_another_config_file_declaring_the_campaigns_is_a_witness(
    tmp_path: Path, emulators: Start, keep_old: bool
) -> None:
    """MKTSYNC_CONFIG pointed at a new file (rewritten, so no rename is detected)."""
    repo = sent_before_the_move(tmp_path, emulators)
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-q", "-D", "move")
    git(repo, "checkout", "-q", "-b", "move")
    config = (repo / "campaigns.yaml").read_text(encoding="utf-8")
    other = "# the team's new home for campaigns\n" + config.replace(OLD, NEW).replace(
        "reminder", "webinar-reminder"
    )
    (repo / "mkt.yml").write_text(other, encoding="utf-8")
    if not keep_old:
        git(repo, "rm", "-q", "campaigns.yaml")
    git(repo, "add", "mkt.yml")
    git(repo, "commit", "-q", "-m", "a new config")

    plan = mktsync(repo, "plan", "--base", "main", MKTSYNC_CONFIG="mkt.yml")
    assert plan.returncode == 0, plan.stderr
    assert (
        f"campaigns.yaml in the base branch main names the ledger {OLD}, which holds {LEADS} sends"
    ) in plan.stdout

    merge_to_main(repo)
    emu = emulators(repo / "mkt.yml")
    refused = mktsync(repo, "apply", "--yes", emu=emu, MKTSYNC_CONFIG="mkt.yml")
    assert refused.returncode == 1, refused.stdout
    assert f"campaigns.yaml named the ledger {OLD} at commit" in refused.stderr
    assert emu.stats()["calls"] == 0


def test_a_config_of_other_campaigns_is_no_witness(tmp_path: Path, emulators: Start) -> None:
    """A second config for other campaigns, with its own new ledger, starts calmly."""
    repo = sent_before_the_move(tmp_path, emulators)
    git(repo, "checkout", "-q", "main")
    text = (repo / "campaigns.yaml").read_text(encoding="utf-8")
    (repo / "sales.yaml").write_text(
        text.replace(OLD, NEW).replace("1234", "5678"), encoding="utf-8"
    )
    git(repo, "add", "sales.yaml")
    git(repo, "commit", "-q", "-m", "sales campaigns")
    plan = mktsync(repo, "plan", "--detailed-exitcode", MKTSYNC_CONFIG="sales.yaml")
    assert plan.returncode == 2, plan.stderr
    assert f"note: the ledger {NEW} does not exist yet: every item is planned as new\n" in (
        plan.stdout
    )
