"""`mktsync plan` from the command line: exit codes, saved plans, CI summaries, no network."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from testing.plans import items_of, record, row, write_project
from testing.project import MARKETO_FROM_ENV as MARKETO

from mktsync.cli import main
from mktsync.config import load_config


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_detailed_exitcode(tmp_path: Path) -> None:
    path = write_project(tmp_path, [row("ann@example.com")])
    assert run("plan", str(path))[0] == 0
    assert run("plan", str(path), "--detailed-exitcode")[0] == 2
    record(path, "sent", items_of(load_config(path)))
    assert run("plan", str(path), "--detailed-exitcode")[0] == 0


def test_usage_error_is_1_not_2(tmp_path: Path) -> None:
    code, _, err = run("plan", "--format", "yaml")
    assert code == 1
    assert "invalid choice: 'yaml'" in err


def test_bad_config_is_1_with_located_errors(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.yaml"
    path.write_text("version: 1\nsources: {}\ncampaigns: {x: {campaign_id: 1}}\n", encoding="utf-8")
    code, out, err = run("plan", str(path), "--detailed-exitcode")
    assert code == 1
    assert ":3:" in err and "campaigns.x: 'source' is required" in err
    assert "Traceback" not in out + err


def test_plan_creates_no_files_and_needs_no_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, [row("ann@example.com")])
    before = sorted(p.name for p in tmp_path.rglob("*"))

    def no_network(self: socket.socket, address: object) -> None:
        raise AssertionError(f"plan tried to connect to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    code, out, _ = run("plan", str(path))
    assert code == 0
    assert "+ trigger           1" in out
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # no ledger file created


def test_out_saves_the_json_plan(tmp_path: Path) -> None:
    path = write_project(tmp_path, [row("ann@example.com")])
    saved = tmp_path / "plan.json"
    code, _, err = run("plan", str(path), "--out", str(saved))
    assert code == 0 and "plan saved to" in err
    _, printed, _ = run("plan", str(path), "--format", "json")
    assert saved.read_text(encoding="utf-8") == printed


def test_github_step_summary_gets_the_markdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, [row("jane@example.com")])
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert run("plan", str(path))[0] == 0
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n<!-- mktsync-plan -->")
    assert "j***@example.com" in text and "jane@example.com" not in text


def test_max_calls_refuses_the_plan(tmp_path: Path) -> None:
    rows = [row(f"u{i}@example.com", code=str(i)) for i in range(5)]
    path = write_project(tmp_path, rows, settings={"max_calls": 3})
    code, out, err = run("plan", str(path))
    assert code == 1
    # 5 triggers + 1 lookup + 2 preflight + apply's read of today's usage
    assert "needs 9 API calls; max_calls is 3" in err
    assert "+ trigger           5" in out  # the reviewer still sees what was refused


def test_the_max_calls_error_writes_numbers_as_the_quota_error_does(tmp_path: Path) -> None:
    """Issue 22 QA: ``needs 51177 API calls`` beside the quota error's ``51,177``."""
    rows = [row(f"u{i}@example.com", code=str(i)) for i in range(1000)]
    path = write_project(tmp_path, rows, settings={"max_calls": 1000})
    code, _, err = run("plan", str(path))
    assert code == 1
    assert "needs 1,007 API calls; max_calls is 1,000" in err, err


def test_a_plan_over_the_daily_quota_is_an_error_as_apply_would_refuse_it(tmp_path: Path) -> None:
    """Issue 22: 120 % of the daily quota was a percentage deep in the output, exit 0."""
    rows = [row(f"u{i}@example.com", code=str(i)) for i in range(9)]  # 9 calls: one per lead
    quota = {**MARKETO, "limits": {"daily_quota": 10}}
    path = write_project(tmp_path, rows, marketo=quota)
    saved = tmp_path / "plan.json"
    code, out, err = run("plan", str(path), "--out", str(saved))
    assert code == 1
    # 9 triggers + 1 lookup + 2 preflight checks + 1 usage read, said plainly with the numbers
    assert (
        "error: the plan needs 13 API calls, 130.0% of the daily quota of 10"
        " (marketo.limits.daily_quota): it cannot finish in one day"
    ) in err
    assert "set max_calls: 13 to send it over several days" in err
    # The headline says the share, the plan is still shown, and nothing is saved to apply.
    assert (
        "9 leads to trigger, 0 to retrigger in 9 calls; 130.0% of the daily quota (13 of 10" in out
    )
    assert not saved.exists() and "plan saved" not in err
    # apply refuses it alike, before anything is sent
    code, _, err = run("apply", "--emulator", "--yes", str(path))
    assert code == 1 and "130.0% of the daily quota of 10" in err
    # A run meant to take several days says so with max_calls.
    path = write_project(tmp_path, rows, marketo=quota, settings={"max_calls": 13})
    assert run("plan", str(path), "--out", str(saved))[0] == 0
    assert saved.exists()


def test_the_headline_shows_the_quota_share_past_ten_percent(tmp_path: Path) -> None:
    rows = [row(f"u{i}@example.com", code=str(i)) for i in range(3)]  # 3 + 1 + 2 + 1 = 7 calls
    for quota, shown in ((70, "; 10.0% of the daily quota"), (69, "; 10.1% of the daily quota")):
        path = write_project(tmp_path, rows, marketo={**MARKETO, "limits": {"daily_quota": quota}})
        for fmt in ("text", "markdown"):
            code, out, _ = run("plan", str(path), "--format", fmt)
            assert code == 0
            headline = next(line for line in out.splitlines() if "leads to trigger" in line)
            assert (shown in headline) is (quota == 69), headline
    assert "(7 of 69 API calls)" in headline


def test_corrupted_ledger_is_a_clear_error_and_left_alone(tmp_path: Path) -> None:
    path = write_project(tmp_path, [row("ann@example.com")])
    ledger = tmp_path / ".mktsync" / "ledger.db"
    ledger.parent.mkdir()
    ledger.write_bytes(b"this is not a database" * 100)
    code, out, err = run("plan", str(path))
    assert code == 1
    assert "ledger.db" in err and "Traceback" not in err
    assert ledger.read_bytes() == b"this is not a database" * 100


def test_plan_reads_a_ledger_locked_by_a_running_apply(tmp_path: Path) -> None:
    from mktsync.ledger import open_ledger

    path = write_project(tmp_path, [row("ann@example.com")])
    record(path, "sent", items_of(load_config(path)))
    config = load_config(path)
    with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
        with ledger.lock(command="apply", timeout=5):
            code, out, _ = run("plan", str(path), "--format", "json")
    assert code == 0
    assert json.loads(out)["summary"]["unchanged"] == 1


def test_unknown_campaign_filter(tmp_path: Path) -> None:
    path = write_project(tmp_path, [row("ann@example.com")])
    code, _, err = run("plan", str(path), "--campaign", "nope")
    assert code == 1 and "no campaign named 'nope'" in err


def test_max_invalid_fails_the_plan(tmp_path: Path) -> None:
    path = write_project(
        tmp_path, [row("ann@example.com"), row(""), row("")], extra="    max_invalid: 1\n"
    )
    code, _, err = run("plan", str(path))
    assert code == 1
    assert "campaigns.reminder: 2 rows are invalid, more than max_invalid (1)" in err
    path = write_project(tmp_path, [row("ann@example.com"), row("")], extra="    max_invalid: 1\n")
    assert run("plan", str(path))[0] == 0


def test_detailed_exitcode_is_0_for_changed_items_not_resent_yet_shows_them(
    tmp_path: Path,
) -> None:
    path = write_project(tmp_path, [row("ann@example.com", code="old")], retrigger="never")
    record(path, "sent", items_of(load_config(path)))
    write_project(tmp_path, [row("ann@example.com", code="new")], retrigger="never")
    code, out, _ = run("plan", str(path), "--detailed-exitcode")
    # 'retrigger: never' accepts it: an apply changes nothing and exits 0 (issue 22), so
    # the answer is 0, every day; the plan still shows the item and says it is not resent.
    assert code == 0
    assert "≠ changed           1" in out
    assert "Nothing to trigger; 1 changed item will NOT be resent" in out


def test_markdown_header_names_commit_and_redacted_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, [row("ann@example.com")])
    monkeypatch.setenv("GITHUB_SHA", "0123abcd")
    code, out, _ = run("plan", str(path), "--format", "markdown")
    assert code == 0
    assert "commit `0123abcd`" in out and "ledger `sqlite:///" in out
    code, out, _ = run("plan", str(path), "--format", "markdown", "--ref", "feedbeef")
    assert "commit `feedbeef`" in out
    # The plan's instant, in the config's zone: what now and today were (issue 21).
    code, out, _ = run("plan", str(path), "--format", "markdown", "--now", "2026-12-05T09:00Z")
    assert "as of `2026-12-05T09:00:00+00:00 (UTC, today 2026-12-05)`" in out.split("\n")[3]
    from mktsync.cli.plan import comment_context

    context = comment_context(None, "postgresql://me:hunter2@db.example.com/ledger")
    assert context.ledger == "postgresql://me:***@db.example.com/ledger"
    assert context.ref == "0123abcd"


def test_a_config_outside_the_working_directory_is_named_as_given(tmp_path: Path) -> None:
    """``-C /nonexistent`` says ``/nonexistent/campaigns.yaml``, never ``../../nonexistent``."""
    missing = tmp_path / "nowhere"
    (tmp_path / "here" / "deep").mkdir(parents=True)
    proc = subprocess.run(
        [sys.executable, "-m", "mktsync", "plan", "-C", str(missing)],
        cwd=tmp_path / "here" / "deep",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"error: {missing}/campaigns.yaml: file not found"
