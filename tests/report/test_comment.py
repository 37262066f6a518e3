"""The pull-request comment a reviewer needs (issue 22.4): who gets the email, new leads
first, each entry's own counts when entries share a campaign id, unknown items called
out, and the whole comment within GitHub's 65,536 characters, saying what it leaves out.

The comments are made by real `mktsync plan --format markdown` processes and read back
through a CommonMark + GFM parser where their structure matters.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from markdown_it import MarkdownIt
from testing.plans import REMINDER, items_of, record, row
from testing.plans import write_project as reminder_project
from testing.project import LEAD_BY_EMAIL, csv_source, csv_text, flow, write_project

from mktsync.config import load_config

TRUNCATION = re.compile(
    r"… ([\d,]+) campaigns not shown: the comment is limited to 65,536 characters by GitHub; "
    r"the full plan is in the job's artifact `mktsync-plan`\."
)


def plan(folder: Path, *argv: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    run = subprocess.run(
        [sys.executable, "-m", "mktsync", "plan", "--format", "markdown", *argv],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def section(comment: str, name: str) -> str:
    """One campaign entry's folded section."""
    parts = comment.split("\n<details>\n<summary><b>")
    for n, part in enumerate(parts):
        if part.startswith(f"{name}</b> (campaign "):
            rest = parts[n + 1 :]
            folded = [p for p in rest[:1] if p.startswith("Who gets the email</b>")]
            return "\n<details>\n<summary><b>".join([part, *folded])
    raise AssertionError(f"no section for {name}")


def test_a_400_campaign_comment_fits_github_and_ends_with_the_truncation_line(
    tmp_path: Path,
) -> None:
    """Measured on the landed code: 82,270 characters, refused by GitHub, the old comment
    left up.  Every campaign here sends 60 leads, one call each (per-lead tokens)."""
    rows = [{"email": f"user{i}@example.com", "code": f"c{i}"} for i in range(60)]
    campaigns = {
        f"webinar-reminder-number-{n:03d}": {
            "campaign_id": 1000 + n,
            "source": "regs",
            "lead": LEAD_BY_EMAIL,
            "tokens": {"my.Link": "https://example.com/j/{{ row.code }}"},
        }
        for n in range(400)
    }
    write_project(
        tmp_path,
        sources={"regs": csv_source("regs.csv")},
        campaigns=campaigns,
        files={"regs.csv": csv_text(rows)},
    )
    comment = plan(tmp_path, "--out-markdown", "full.md")
    assert len(comment) <= 65_536
    last = comment.rstrip("\n").splitlines()[-1]
    left = TRUNCATION.fullmatch(last)
    assert left, last
    shown = comment.count("<summary><b>webinar-reminder-number-")
    assert shown > 10 and shown + int(left.group(1).replace(",", "")) == 400
    # Notes included: the new ledger's note is in, and the headline says the quota share.
    assert "> **Note:** the ledger `sqlite:///.mktsync/ledger.db` does not exist yet" in comment
    assert (
        "**24,000 leads to trigger, 0 to retrigger in 24,000 calls; 49.6% of the daily quota"
        in comment
    )
    # Its <details> stay balanced, so GitHub folds what it should.
    tokens = MarkdownIt("commonmark").enable("table").parse(comment)
    html = "".join(t.content for t in tokens if t.type == "html_block")
    assert html.count("<details>") == html.count("</details>") >= shown
    # The artifact's Markdown holds every campaign.
    full = (tmp_path / "full.md").read_text(encoding="utf-8")
    assert full.count("<summary><b>webinar-reminder-number-") == 400
    assert "not shown:" not in full.split("**24,000 leads", 1)[1].split("<details>", 1)[0]


def test_a_new_registrant_comes_before_the_retriggers(tmp_path: Path) -> None:
    """41 registrants were sent; the webinar's title changed (41 retriggers, on_change), and
    one person registered since.  The 5 rows of a fork's comment used to be 5 retriggers."""
    old = [row(f"person{i:02d}@example.com", code="old") for i in range(41)]
    path = reminder_project(tmp_path, old)
    record(path, "sent", items_of(load_config(path)))
    reminder_project(
        tmp_path, [*(dict(r, code="new") for r in old), row("newcomer@example.com", code="new")]
    )
    for argv in ((), ("--untrusted", "--allow-path", ".")):
        comment = plan(tmp_path, "--show-pii", *argv)
        rows = [line for line in comment.splitlines() if line.startswith(("| + |", "| ~ |"))]
        assert rows[0].startswith("| + | `newcomer@example.com` |"), rows[:2]
        assert all(r.startswith("| ~ |") for r in rows[1:])
        assert len(rows) == (6 if argv else 21)  # the new one, then retriggers: 5 or 20
        assert "(campaign 1234): 42 leads to email (1 new, 41 retriggered) in 1 call" in comment
        # "Who gets the email" names them all, a fork's comment too (issue 22: the
        # reviewer sees who gets the email), each with its row.
        who = comment.split("<summary><b>Who gets the email</b>: 42 leads</summary>", 1)[1]
        named = re.findall(
            r"`([^`]+@example\.com) \((\S+) row (\d+)\)`", who.split("</details>", 1)[0]
        )
        assert len(named) == 42
        assert ("newcomer@example.com", "regs", "43") in named
        assert len({r for _, _, r in named}) == 42


EXAMPLE_LIKE = {
    # As the example campaigns.yaml: one reminder for registrants known by email, and the
    # same campaign for those known only by their Marketo lead id.
    "webinar-reminder": {
        "campaign_id": 1234,
        "source": "regs",
        "when": "row.email != ''",
        "lead": LEAD_BY_EMAIL,
        "key": "{{ row.email }}/{{ row.webinar }}",
        "tokens": {"my.Title": "{{ row.webinar }}"},
    },
    "webinar-reminder-known-leads": {
        "campaign_id": 1234,
        "source": "regs",
        "when": "row.email == ''",
        "lead": flow(id="{{ row.marketo_id }}"),
        "key": "id:{{ row.marketo_id }}/{{ row.webinar }}",
        "tokens": {"my.Title": "{{ row.webinar }}"},
    },
}


def test_entries_sharing_a_campaign_id_each_show_their_own_leads(tmp_path: Path) -> None:
    rows = [{"email": f"e{i}@example.com", "marketo_id": "", "webinar": "w1"} for i in range(40)]
    rows += [{"email": "", "marketo_id": str(1000 + i), "webinar": "w1"} for i in range(5)]
    write_project(
        tmp_path,
        sources={"regs": csv_source("regs.csv")},
        campaigns=EXAMPLE_LIKE,
        files={"regs.csv": csv_text(rows)},
    )
    comment = plan(tmp_path, "--show-pii")
    by_email = section(comment, "webinar-reminder")
    by_id = section(comment, "webinar-reminder-known-leads")
    # The 45 leads share one call, listed under the first entry; the counts are each its own
    # (the landed code said "45 leads in 1 call" and "0 leads in 0 calls").
    assert "(campaign 1234): 40 leads to email in 1 call</summary>" in by_email
    assert "(campaign 1234): 5 leads to email in the calls of webinar-reminder</summary>" in by_id
    assert (
        "> Shares campaign 1234 with `webinar-reminder`: its 5 leads are sent in that "
        "entry's calls." in by_id
    )
    assert "the calls above also carry that entry's 5 leads (counted under it)" in by_email
    assert "<summary><b>Who gets the email</b>: 40 leads</summary>" in by_email
    assert "<summary><b>Who gets the email</b>: 5 leads</summary>" in by_id
    assert "`id:1000`" in by_id and "`id:1000`" not in by_email
    assert by_id.count("| + | `id:") == 5 and "| + | `e" not in by_id


def test_unknown_items_are_called_out_like_changed_ones(tmp_path: Path) -> None:
    path = reminder_project(tmp_path, [row("ann@example.com"), row("bob@example.com")])
    record(path, "unknown", items_of(load_config(path)))
    comment = plan(tmp_path)
    assert (
        "> **? 2 items with an unknown outcome will not be resent**: an earlier call may or "
        "may not have reached Marketo; settle them with 'mktsync ledger settle'"
    ) in comment
    assert "**? Unknown outcome**, not resent" in comment
    resent = plan(tmp_path, "--retry-unknown")
    assert "will be sent again** (`--retry-unknown`)" in resent
    assert "2 leads to email (2 sent again after an unknown outcome) in 1 call" in resent
    assert resent.count("| ? | `") == 2


def test_thousands_of_leads_a_campaign_still_fit_and_the_who_list_says_how_many_more(
    tmp_path: Path,
) -> None:
    rows = [row(f"u{i}@example.com", webinar=f"w{i % 4}") for i in range(3000)]
    reminder_project(tmp_path, rows)
    comment = plan(tmp_path, "--show-pii")
    assert len(comment) <= 65_536
    who = comment.split("<summary><b>Who gets the email</b>: 3,000 leads</summary>", 1)[1]
    assert "… and 2,500 more (the full plan is in the job's artifact `mktsync-plan`)" in who
    assert REMINDER["campaign_id"] == 1234


def test_what_the_plan_says_about_its_data_is_at_the_top_and_deferred_rows_in_the_section(
    tmp_path: Path,
) -> None:
    """Issue 22.8's notes (a second row of a lead deferred) within the comment's order."""
    write_project(
        tmp_path,
        sources={"trials": csv_source("trials.csv")},
        campaigns={
            "trial-welcome": {
                "campaign_id": 2001,
                "source": "trials",
                "lead": LEAD_BY_EMAIL,
                "key": "{{ row.email }}/{{ row.workspace }}",
                "tokens": {"my.Plan": "Starter"},
                "fields": {"trialWorkspace": "{{ row.workspace }}"},
            }
        },
        files={
            "trials.csv": "email,workspace\nann@example.com,acme\nbob@example.com,acme\n"
            "ann@example.com,beta\n"
        },
    )
    comment = plan(tmp_path)
    top, sections = comment.split("<details>", 1)
    assert "> **Note:** `trial-welcome`: 1 row is deferred to the next run" in top
    assert top.index("deferred to the next run, as") < top.index("**2 leads to trigger")
    assert "| » deferred |" in top
    mine = section(comment, "trial-welcome")
    assert "2 leads to email in 1 call, 1 deferred to the next run" in mine
    assert (
        "- `a***@example.com`: `trials` row 4 goes after `trials` row 2 (differs: "
        "`trialWorkspace`): `trialWorkspace`: `acme` now, `beta` next run"
    ) in mine
    assert "<summary><b>Who gets the email</b>: 2 leads</summary>" in mine


def test_the_example_s_fork_comment_names_every_lead_each_by_its_row(tmp_path: Path) -> None:
    """Issue 22 QA: the shipped pull-request job plans with --untrusted, and its comment
    named 5 of the 40 registrants, 20 of them all reading ``p***@example.com``."""
    repo = Path(__file__).resolve().parents[2]
    shutil.copy(repo / "campaigns.yaml", tmp_path)
    shutil.copytree(repo / "data", tmp_path / "data")
    comment = plan(tmp_path, "--untrusted", "--env", "production", "--now", "2026-12-06")
    who = comment.split("<summary><b>Who gets the email</b>: 40 leads</summary>", 1)[1]
    named = re.findall(r"`(\S+) \(registrations row (\d+)\)`", who.split("</details>", 1)[0])
    assert len(named) == 40 and "more" not in who.split("</details>", 1)[0]
    assert all(re.fullmatch(r"\w\*\*\*@[\w.-]+", lead) for lead, _ in named)  # masked
    assert len({row for _, row in named}) == 40  # each told apart by its row
