"""Problems on the pull request's diff (issue 22): GitHub annotations and GitLab's Code Quality
report, from real `mktsync validate` and `mktsync plan` processes.

GitHub's runner reads workflow commands from every line a step prints, so these tests read
the output as the runner does (``runner_commands``: actions/runner ``ActionCommand.cs``,
``TryParseV2`` then the older ``TryParse``) and check that the only commands in it are the
annotations mktsync meant, whatever the pull request's data holds.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from testing.project import LEAD_BY_EMAIL, csv_source, csv_text, write_file, write_project

# The commands GitHub's runner acts on (actions/runner: the registered command extensions).
REGISTERED = {
    "error", "warning", "notice", "debug", "add-mask", "set-output", "set-env", "save-state",
    "add-path", "stop-commands", "group", "endgroup", "echo", "add-matcher", "remove-matcher",
}  # fmt: skip


def runner_commands(output: str) -> list[tuple[str, dict[str, str], str]]:
    """(command, properties, data) for each line GitHub's runner would take as a command."""
    found = []
    for line in re.split(r"\r\n|\r|\n", output):
        message = line.lstrip()  # .NET TrimStart: any leading white space
        if message.startswith("::"):
            end = message.find("::", 2)
            info = message[2:end] if end >= 0 else ""
            name, _, props = info.partition(" ")
            if end >= 0 and name in REGISTERED:
                pairs = [p.split("=", 1) for p in props.split(",") if "=" in p]
                found.append((name, {k: v for k, v in pairs}, message[end + 2 :]))
                continue
        start = line.find("##[")  # the older form, anywhere in the line
        end = line.find("]", start) if start >= 0 else -1
        if end >= 0:
            name = line[start + 3 : end].split(" ", 1)[0]
            if name in REGISTERED:
                found.append((name, {}, line[end + 1 :]))
    return found


def unescape(value: str) -> str:
    """What the runner makes of an escaped property or message."""
    for escaped, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        value = value.replace(escaped, char)
    return value


def mktsync(
    *argv: str, cwd: Path, workspace: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_"))}
    environ.update(env)
    if workspace is not None:
        environ["GITHUB_WORKSPACE"] = str(workspace)
    return subprocess.run(
        [sys.executable, "-m", "mktsync", *argv],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


BROKEN = """\
version: 1
sources:
  regs: {type: csv, path: regs.csv}
campaigns:
  reminder:
    campaign_id: "12,34"
    source: nowhere
    lead: {}
"""


def test_validate_annotates_each_config_error_at_its_line_under_github_actions(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "marketing"  # the config below the repository root
    write_file(folder / "campaigns.yaml", BROKEN)
    run = mktsync("validate", cwd=folder, workspace=tmp_path, GITHUB_ACTIONS="true")
    assert run.returncode == 1
    # The text lines stay (the log, the failure comment); each problem is also a command.
    assert "campaigns.yaml:6:18: campaigns.reminder.campaign_id:" in run.stdout
    commands = runner_commands(run.stdout + run.stderr)
    assert [(c, p["file"], p["line"], p["col"]) for c, p, _ in commands] == [
        ("error", "marketing/campaigns.yaml", "6", "18"),
        ("error", "marketing/campaigns.yaml", "7", "13"),
        ("error", "marketing/campaigns.yaml", "8", "11"),
        # Warnings after the errors (GitHub keeps 10 of each a step).
        ("warning", "marketing/campaigns.yaml", "3", "3"),
        ("warning", "marketing/campaigns.yaml", "3", "27"),
    ]
    name, props, data = commands[0]
    # The value's comma is escaped in nothing but the property values; the title names the field.
    assert unescape(props["title"]) == "mktsync campaigns.reminder.campaign_id"
    assert unescape(data) == "expected a whole number, got '12,34'"
    assert run.stdout.splitlines()[5].startswith(
        "::error file=marketing/campaigns.yaml,line=6,col=18,title=mktsync campaigns.reminder."
    )


def test_annotations_only_when_asked_or_under_github_actions(tmp_path: Path) -> None:
    write_file(tmp_path / "campaigns.yaml", BROKEN)
    assert runner_commands(mktsync("validate", cwd=tmp_path).stdout) == []
    off = mktsync("validate", "--annotations", "none", cwd=tmp_path, GITHUB_ACTIONS="true")
    assert runner_commands(off.stdout + off.stderr) == []
    forced = mktsync("validate", "--annotations", "github", cwd=tmp_path)
    assert len(runner_commands(forced.stdout)) == 5
    # --format github: the commands are the output, no text line repeats them.
    only = mktsync("validate", "--format", "github", cwd=tmp_path)
    assert only.returncode == 1
    assert [line[:10] for line in only.stdout.splitlines()] == ["::error fi"] * 3 + [
        "::warning "
    ] * 2
    # JSON stays JSON: the commands go to stderr.
    as_json = mktsync("validate", "--format", "json", cwd=tmp_path, GITHUB_ACTIONS="true")
    assert len(json.loads(as_json.stdout)) == 5
    assert len(runner_commands(as_json.stderr)) == 5


def hostile_project(folder: Path, *, max_invalid: int) -> Path:
    """Data a stranger's pull request could hold: workflow commands in cells and in the data
    file's name (a comma and colons, which end a property)."""
    rows = [
        ["ann@example.com", "##[set-output name=changes]false"],
        ["::add-mask::bob@example.com", "hello"],  # a plausible address, so a lead
        ["x\n::set-output name=changes::false", "newline"],  # invalid: not an address
        ["%0A::add-mask::y", "percent"],  # invalid too
        ["carl@example.com", "\n::stop-commands::token\n##[add-mask]z"],
    ]
    return write_project(
        folder,
        sources={"regs": csv_source("data/regs,v1:2024.csv")},
        campaigns={
            "reminder": {
                "campaign_id": 1234,
                "source": "regs",
                "lead": LEAD_BY_EMAIL,
                "max_invalid": max_invalid,
                "tokens": {"my.Title": "{{ row.title }}"},
            }
        },
        files={"data/regs,v1:2024.csv": csv_text(rows, ["email", "title"])},
    )


def test_data_from_a_pull_request_cannot_issue_a_workflow_command(tmp_path: Path) -> None:
    folder = tmp_path / "marketing"
    hostile_project(folder, max_invalid=5)
    outputs = []
    for argv in (
        ["validate"],
        ["plan"],
        ["plan", "-v", "--show-pii"],
        ["plan", "--format", "markdown"],
        ["plan", "--format", "markdown", "--show-pii"],
    ):
        run = mktsync(*argv, cwd=folder, workspace=tmp_path, GITHUB_ACTIONS="true")
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout + run.stderr)
    hostile_project(folder, max_invalid=0)
    failed = mktsync("plan", cwd=folder, workspace=tmp_path, GITHUB_ACTIONS="true")
    assert failed.returncode == 1
    outputs.append(failed.stdout + failed.stderr)
    data_file = "marketing/data/regs,v1:2024.csv"
    for output in outputs:
        for name, props, data in runner_commands(output):
            # Only annotations, each one line: no mask, output, stop or group from the data.
            assert name in ("error", "warning"), (name, data)
            assert "\n" not in data and "\r" not in data
            assert unescape(props.get("file", data_file)) in (data_file, "marketing/campaigns.yaml")
    # The invalid rows are annotated at their lines of the data file (a CSV row is its line).
    plan_commands = runner_commands(outputs[1])
    lines = sorted(p["line"] for _, p, _ in plan_commands if "file" in p)
    assert lines == ["4", "6"]
    assert all(p["file"] == "marketing/data/regs%2Cv1%3A2024.csv" for _, p, _ in plan_commands)
    assert {name for name, _, _ in plan_commands} == {"warning"}  # allowed by max_invalid
    failed_commands = runner_commands(outputs[-1])
    assert [c for c, _, _ in failed_commands] == ["error", "error", "error"]
    assert failed_commands[0][1]["file"] == "marketing/campaigns.yaml"  # the campaign's line
    # The Markdown plan on stdout holds no command at all: annotations go to stderr.
    markdown = mktsync(
        "plan", "--format", "markdown", cwd=folder, workspace=tmp_path, GITHUB_ACTIONS="true"
    )
    assert runner_commands(markdown.stdout) == []


def test_past_ten_github_keeps_none_so_the_tenth_counts_the_rest(tmp_path: Path) -> None:
    campaigns = "".join(
        f"  c{n}:\n    campaign_id: {n + 1}\n    source: nowhere\n    lead: {{}}\n"
        for n in range(8)
    )
    write_file(tmp_path / "campaigns.yaml", f"version: 1\nsources: {{}}\ncampaigns:\n{campaigns}")
    run = mktsync("validate", "--format", "github", cwd=tmp_path)
    commands = runner_commands(run.stdout)
    assert len(commands) == 10  # GitHub shows 10 error annotations a step
    assert commands[-1][1].get("file") is None
    assert unescape(commands[-1][2]).startswith("7 more errors not annotated (GitHub shows 10")


def test_gitlab_code_quality_report(tmp_path: Path) -> None:
    folder = tmp_path / "marketing"
    write_file(folder / "campaigns.yaml", BROKEN)
    report = tmp_path / "reports" / "gl-code-quality.json"
    run = mktsync(
        "validate", "--code-quality", str(report), cwd=folder, CI_PROJECT_DIR=str(tmp_path)
    )
    assert run.returncode == 1
    entries = json.loads(report.read_text(encoding="utf-8"))
    assert [(e["location"]["lines"]["begin"], e["severity"]) for e in entries] == [
        (3, "minor"),
        (3, "minor"),
        (6, "major"),
        (7, "major"),
        (8, "major"),
    ]
    assert {e["location"]["path"] for e in entries} == {"marketing/campaigns.yaml"}
    first = entries[2]
    assert set(first) == {"description", "check_name", "fingerprint", "severity", "location"}
    assert first["severity"] == "major"
    assert first["description"] == (
        "campaigns.reminder.campaign_id: expected a whole number, got '12,34'"
    )
    assert re.fullmatch(r"[0-9a-f]{32}", first["fingerprint"])
    assert len({e["fingerprint"] for e in entries}) == 5
    again = mktsync(
        "validate", "--code-quality", str(report), cwd=folder, CI_PROJECT_DIR=str(tmp_path)
    )
    assert again.returncode == 1
    assert json.loads(report.read_text(encoding="utf-8")) == entries  # stable between runs
    # A plan that works writes its warnings, and an empty report when there are none.
    hostile_project(folder, max_invalid=5)
    plan = mktsync("plan", "--code-quality", str(report), cwd=folder, CI_PROJECT_DIR=str(tmp_path))
    assert plan.returncode == 0, plan.stderr
    warned = json.loads(report.read_text(encoding="utf-8"))
    assert {
        (e["severity"], e["location"]["path"], e["location"]["lines"]["begin"]) for e in warned
    } == {
        ("minor", "marketing/data/regs,v1:2024.csv", 4),
        ("minor", "marketing/data/regs,v1:2024.csv", 6),
    }
    write_project(
        folder,
        sources={"regs": csv_source("regs.csv")},
        campaigns={"reminder": {"campaign_id": 1, "source": "regs", "lead": LEAD_BY_EMAIL}},
        files={"regs.csv": csv_text([{"email": "ann@example.com"}])},
    )
    clean = mktsync("plan", "--code-quality", str(report), cwd=folder)
    assert clean.returncode == 0 and json.loads(report.read_text(encoding="utf-8")) == []


def test_the_config_s_warnings_are_annotated_once_by_validate_not_again_by_plan(
    tmp_path: Path,
) -> None:
    """Both examples run validate, then plan, in one job; GitHub shows an annotation twice
    when two steps write it (actions/runner#504), so the config's own warnings are
    validate's.  The Code Quality report, which plan writes over validate's, keeps them."""
    write_file(
        tmp_path / "campaigns.yaml",
        "version: 1\n"
        "sources:\n"
        "  regs: {type: csv, path: regs.csv}\n"
        "campaigns:\n"
        "  reminder:\n"
        "    campaign_id: 1\n"
        "    source: regs\n"
        "    when: row.seats == 3\n"
        '    lead: {email: "{{ row.email }}"}\n',
    )
    write_file(tmp_path / "regs.csv", "email,seats\nann@example.com,5\n")
    checked = mktsync("validate", cwd=tmp_path, workspace=tmp_path, GITHUB_ACTIONS="true")
    assert checked.returncode == 0, checked.stdout
    [(name, props, data)] = runner_commands(checked.stdout)
    assert (name, props["file"], props["line"]) == ("warning", "campaigns.yaml", "8")
    assert unescape(data).startswith("row.seats is text (a CSV cell)")
    report = tmp_path / "gl-code-quality.json"
    planned = mktsync(
        "plan", "--code-quality", str(report), cwd=tmp_path, workspace=tmp_path,
        GITHUB_ACTIONS="true",
    )  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    assert "row.seats is text" in planned.stderr  # the log still says it
    assert runner_commands(planned.stdout + planned.stderr) == []
    [entry] = json.loads(report.read_text(encoding="utf-8"))
    assert (entry["severity"], entry["location"]["lines"]["begin"]) == ("minor", 8)


def test_a_failed_plan_s_code_quality_report_keeps_the_config_s_warnings(
    tmp_path: Path,
) -> None:
    """The GitLab example writes validate's report, then plan's over it: a plan that
    fails must not lose the config's warnings validate found (issue 22 QA)."""
    write_file(
        tmp_path / "campaigns.yaml",
        "version: 1\n"
        "max_calls: 1\n"
        "sources:\n"
        "  regs: {type: csv, path: regs.csv}\n"
        "campaigns:\n"
        "  reminder:\n"
        "    campaign_id: 1\n"
        "    source: regs\n"
        "    when: row.seats != 3\n"
        '    lead: {email: "{{ row.email }}"}\n',
    )
    write_file(tmp_path / "regs.csv", "email,seats\nann@example.com,3\n")
    report = tmp_path / "gl-code-quality.json"
    checked = mktsync("validate", "--code-quality", str(report), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout
    planned = mktsync(
        "plan", "--code-quality", str(report), cwd=tmp_path, workspace=tmp_path,
        GITHUB_ACTIONS="true",
    )  # fmt: skip
    assert planned.returncode == 1, planned.stderr
    assert "max_calls is 1" in planned.stderr
    entries = json.loads(report.read_text(encoding="utf-8"))
    assert sorted((e["severity"], e["location"]["lines"]["begin"]) for e in entries) == [
        ("major", 1),  # the budget names no line: the config's first
        ("minor", 9),  # row.seats is text: validate's warning, kept
    ], entries
    # GitHub still gets the warning once, from validate: plan annotates only its error.
    assert [name for name, _, _ in runner_commands(planned.stdout + planned.stderr)] == ["error"]
