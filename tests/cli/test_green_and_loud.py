"""Issue 22, point 8: green when nothing is wrong, loud when something is.

Every case runs ``python -m mktsync`` in a subprocess, against an emulator served over a
real socket where it sends: a ``when`` literal no row holds, two rows of one lead in one
run, invalid rows read by two campaigns, what ``--detailed-exitcode`` answers 2 for, and
the README's example on the shipped data.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from testing.project import LEAD_BY_EMAIL, csv_source, csv_text, write_project
from testing.seed import lead, project_seed

from mktsync.config import load_config
from mktsync.emulator import Emulator, EmulatorOptions, serve
from mktsync.ledger import open_ledger

REPO = Path(__file__).resolve().parent.parent.parent
MARKETO = {
    "base_url": "${MARKETO_BASE_URL}",
    "client_id": "${MARKETO_CLIENT_ID}",
    "client_secret": "${MARKETO_CLIENT_SECRET}",
}


def mktsync(
    cwd: Path, *argv: str, emu: Emulator | None = None, summary: Path | None = None
) -> tuple[int, str, str]:
    """``python -m mktsync ARGV`` in ``cwd``; Marketo is ``emu`` when given; the step
    summary (``$GITHUB_STEP_SUMMARY``) is written to ``summary`` when given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARKETO_", "MKTSYNC_"))}
    for name in ("GITHUB_STEP_SUMMARY", "GITHUB_ACTIONS", "CI"):
        env.pop(name, None)
    if summary is not None:
        env["GITHUB_STEP_SUMMARY"] = str(summary)
    if emu is not None:
        env |= {
            "MARKETO_BASE_URL": emu.base_url,
            "MARKETO_CLIENT_ID": emu.client_id,
            "MARKETO_CLIENT_SECRET": emu.client_secret,
        }
    proc = subprocess.run(
        [sys.executable, "-m", "mktsync", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout, proc.stderr


@contextmanager
def emulator(config: Path, *, leads: Sequence[dict[str, Any]] | None = None) -> Iterator[Emulator]:
    seed = project_seed(config) if leads is None else project_seed(config, leads=list(leads))
    with serve(seed=seed, options=EmulatorOptions()) as emu:
        yield emu


def triggered(emu: Emulator) -> Counter[int]:
    """Lead id -> how many times a trigger call carried it."""
    return Counter(int(i) for t in emu.triggers() for i in t["lead_ids"])


def statuses(config: Path) -> Counter[str]:
    loaded = load_config(config)
    with open_ledger(loaded.ledger.resolve(), loaded.base_dir) as ledger:
        return Counter(r.status for r in ledger.iter_records())


def reminder(**settings: Any) -> dict[str, Any]:
    return {"campaign_id": 1234, "source": "regs", "lead": LEAD_BY_EMAIL, **settings}


# -- a `when` literal no row holds -------------------------------------------------------------


def test_a_when_literal_no_row_holds_is_a_warning_in_text_markdown_and_json(
    tmp_path: Path,
) -> None:
    rows = [{"email": f"u{i}@example.com", "status": "registered"} for i in range(30)]
    rows += [{"email": f"c{i}@example.com", "status": "cancelled"} for i in range(5)]
    write_project(
        tmp_path,
        sources={"regs": csv_source("regs.csv")},
        campaigns={"reminder": reminder(when="row.status == 'Registered'")},
        files={"regs.csv": csv_text(rows)},
    )
    code, out, err = mktsync(tmp_path, "plan", "--detailed-exitcode")
    assert code == 0, err  # nothing to send: not a change, but not silent either
    warning = (
        "warning: reminder: row.status == 'Registered' matches no row; "
        "status has: registered, cancelled; did you mean 'registered'?"
    )
    lines = out.splitlines()
    assert warning in lines
    headline = "Nothing to trigger; reminder: all 35 rows filtered by when."
    assert lines.index(warning) < lines.index(headline)  # above the headline, not lost in it

    code, out, _ = mktsync(tmp_path, "plan", "--format", "markdown")
    lines = out.splitlines()
    warned = (
        "> **Warning:** `reminder`: `row.status == 'Registered'` matches no row; `status` "
        "has: `registered`, `cancelled`; did you mean `'registered'`?"
    )
    assert warned in lines
    assert lines.index(warned) < next(n for n, x in enumerate(lines) if x.startswith("| campaign"))
    assert "**Nothing to trigger; `reminder`: all 35 rows filtered by when.**" in lines

    code, out, _ = mktsync(tmp_path, "plan", "--format", "json")
    notes = json.loads(out)["notes"]
    assert notes[0] == {
        "kind": "when_matches_no_row",
        "severity": "warning",
        "campaign": "reminder",
        "text": warning.removeprefix("warning: "),
        "comparison": "row.status == 'Registered'",
        "column": "status",
        "literal": "'Registered'",
        "values": ["registered", "cancelled"],
        "more_values": False,
        "nearest": "'registered'",
    }
    assert notes[1] == {
        "kind": "all_rows_filtered",
        "severity": "note",
        "campaign": "reminder",
        "text": "reminder: all 35 rows filtered by when",
        "rows": 35,
    }

    # Fixed: no warning, no note, and the rows go out.
    write_project(
        tmp_path,
        sources={"regs": csv_source("regs.csv")},
        campaigns={"reminder": reminder(when="row.status == 'registered'")},
    )
    code, out, err = mktsync(tmp_path, "plan", "--detailed-exitcode")
    assert code == 2 and "warning" not in out + err and "filtered by when" not in out
    assert "30 leads to trigger" in out


def test_apply_says_the_when_warning_and_the_campaign_filtered_whole_too(tmp_path: Path) -> None:
    rows = [{"email": f"u{i}@example.com", "status": "registered"} for i in range(30)]
    rows += [{"email": f"c{i}@example.com", "status": "cancelled"} for i in range(5)]
    config = write_project(
        tmp_path,
        marketo=MARKETO,
        sources={"regs": csv_source("regs.csv")},
        campaigns={"reminder": reminder(when="row.status == 'Registered'")},
        files={"regs.csv": csv_text(rows)},
    )
    warning = (
        "warning: reminder: row.status == 'Registered' matches no row; "
        "status has: registered, cancelled; did you mean 'registered'?"
    )
    last = "Nothing to trigger; reminder: all 35 rows filtered by when."
    summary = tmp_path / "summary.md"
    with emulator(config) as emu:
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu, summary=summary)
        assert code == 0, out + err
        assert out.splitlines()[-2:] == [warning, last]  # not "the ledger holds everything"
        code, out, err = mktsync(tmp_path, "apply", "--yes", "-q", emu=emu)
        assert code == 0 and out.splitlines() == [warning, last], out + err
        code, out, err = mktsync(tmp_path, "apply", "--yes", "--format", "json", emu=emu)
        assert code == 0, out + err
        report = json.loads(out)
        assert report["last_line"] == last
        assert [(n["kind"], n["text"]) for n in report["notes"]] == [
            ("when_matches_no_row", warning.removeprefix("warning: "))
        ]
        assert report["notes"][0]["nearest"] == "'registered'"
        assert emu.triggers() == []
    lines = summary.read_text(encoding="utf-8").splitlines()
    assert lines[:5] == [
        "### mktsync apply",
        "",
        "> **Warning:** `reminder`: `row.status == 'Registered'` matches no row; `status` "
        "has: `registered`, `cancelled`; did you mean `'registered'`?",
        "",
        "**Nothing to trigger; `reminder`: all 35 rows filtered by when.**",
    ]


def test_which_comparisons_warn_and_how_many_values_are_shown(tmp_path: Path) -> None:
    rows = [
        {"email": f"u{i}@example.com", "status": s, "code": f"c{i}"}
        for i, s in enumerate(["registered"] * 50 + ["cancelled"] * 5 + ["attended"] * 5)
    ]
    campaigns = {
        # A defensive '!=' no row matches is what it means to be: no warning.
        "defensive": reminder(when="row.email != '' and row.status == 'registered'"),
        # '!=' with a typo keeps the cancelled in: a warning, with the value meant.
        "typo": reminder(campaign_id=2, when="row.status != 'Cancelled'"),
        # 'in': the literal of the list that no row holds.
        "listed": reminder(campaign_id=3, when="row.status in ['registered', 'Attended']"),
        # Sixty distinct codes: ten shown, forty more kept, and more besides.
        "codes": reminder(campaign_id=4, when="row.code == 'zzz'"),
    }
    write_project(  # under data/: where an untrusted run may read
        tmp_path,
        sources={"regs": csv_source("data/regs.csv")},
        campaigns=campaigns,
        files={"data/regs.csv": csv_text(rows)},
    )
    code, out, err = mktsync(tmp_path, "plan")
    assert code == 0, err
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: typo: row.status != 'Cancelled' matches no row, so it is true for every row; "
        "status has: registered, cancelled, attended; did you mean 'cancelled'?",
        "warning: listed: row.status in ['registered', 'Attended']: 'Attended' matches no row; "
        "status has: registered, cancelled, attended; did you mean 'attended'?",
        "warning: codes: row.code == 'zzz' matches no row; code has: "
        + ", ".join(f"c{i}" for i in range(10))
        + " and over 40 more",
    ]
    # A fork's pull request shows as many values as it shows rows (docs/security.md).
    code, out, _ = mktsync(tmp_path, "plan", "--untrusted", "--format", "markdown")
    codes = next(line for line in out.splitlines() if "`row.code == 'zzz'`" in line)
    assert codes.endswith("`c0`, `c1`, `c2`, `c3`, `c4` and over 45 more"), codes


# -- two rows of one lead in one run -----------------------------------------------------------


def test_a_second_row_of_a_lead_is_deferred_to_the_next_run_and_each_goes_out_once(
    tmp_path: Path,
) -> None:
    trials = "email,workspace\nann@example.com,acme\nbob@example.com,acme\nann@example.com,beta\n"
    config = write_project(
        tmp_path,
        marketo=MARKETO,
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
        files={"trials.csv": trials},
    )
    code, out, err = mktsync(tmp_path, "plan", "--detailed-exitcode")
    assert code == 2, err
    lines = out.splitlines()
    assert "  » deferred          1" in lines
    assert (
        "  » a***@example.com/beta: trials row 4 goes after trials row 2 (differs: trialWorkspace)"
    ) in lines
    assert "      trialWorkspace: acme now, beta next run" in lines
    assert (
        "note: trial-welcome: 1 row is deferred to the next run, as another row of this run "
        "writes other values to the same lead's fields (a lead field holds one value): "
        "trials row 4 goes after trials row 2 (differs: trialWorkspace)"
    ) in lines
    code, out, _ = mktsync(tmp_path, "plan", "--format", "json")
    plan = json.loads(out)
    assert plan["summary"]["deferred"] == 1 and plan["summary"]["trigger"] == 2
    assert plan["campaigns"][0]["deferred"] == [
        {
            "key": "ann@example.com/beta",
            "lead": "ann@example.com",
            "source": "trials",
            "row": 4,
            "tokens": {"{{my.Plan}}": "Starter"},
            "fields": {"trialWorkspace": "beta"},
            "first": {
                "campaign": "trial-welcome",
                "source": "trials",
                "row": 2,
                "key": "ann@example.com/acme",
            },
            "differs": [{"name": "trialWorkspace", "first": "acme", "this": "beta"}],
        }
    ]
    with emulator(config) as emu:
        ann, bob = (
            next(int(x["id"]) for x in emu.leads() if x["email"] == email)
            for email in ("ann@example.com", "bob@example.com")
        )
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)
        assert code == 0, out + err
        assert "  » 1 row deferred to the next run: another row of this run writes other " in out
        assert out.splitlines()[-1] == (
            "Not everything was sent: 2 leads sent in 1 call, 1 row deferred to the next run; "
            "they are tried again next run."
        )
        assert triggered(emu) == {ann: 1, bob: 1}
        fields = {x["email"]: x.get("trialWorkspace") for x in emu.leads()}
        assert fields["ann@example.com"] == "acme"
        assert statuses(config) == {"sent": 2}  # the deferred row is not marked

        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)
        assert code == 0, out + err
        assert out.splitlines()[-1] == "Everything planned was sent: 1 lead sent in 1 call."
        assert triggered(emu) == {ann: 2, bob: 1}  # each row once: acme, then beta
        fields = {x["email"]: x.get("trialWorkspace") for x in emu.leads()}
        assert fields["ann@example.com"] == "beta"
        assert statuses(config) == {"sent": 3}

        code, out, _ = mktsync(tmp_path, "apply", "--yes", emu=emu)
        assert code == 0 and out.splitlines()[-1].startswith("Nothing to trigger")
        assert triggered(emu) == {ann: 2, bob: 1}


def test_a_deferred_row_in_apply_json_the_step_summary_and_a_saved_plan(tmp_path: Path) -> None:
    trials = "email,workspace\nann@example.com,acme\nbob@example.com,acme\nann@example.com,beta\n"
    config = write_project(
        tmp_path,
        marketo=MARKETO,
        sources={"trials": csv_source("trials.csv")},
        campaigns={
            "trial-welcome": {
                "campaign_id": 2001,
                "source": "trials",
                "lead": LEAD_BY_EMAIL,
                "key": "{{ row.email }}/{{ row.workspace }}",
                "tokens": {"my.Workspace": "{{ row.workspace }}"},
                "fields": {"trialWorkspace": "{{ row.workspace }}"},
            }
        },
        files={"trials.csv": trials},
    )
    deferral = (
        "ann@example.com/beta: trials row 4 goes after trials row 2 "
        "(differs: trialWorkspace, my.Workspace)"
    )
    code, out, err = mktsync(tmp_path, "plan", "--out", "plan.json")
    assert code == 0, out + err
    summary = tmp_path / "summary.md"
    with emulator(config) as emu:
        ann = next(int(x["id"]) for x in emu.leads() if x["email"] == "ann@example.com")
        code, out, err = mktsync(
            tmp_path, "apply", "plan.json", "--yes", "--format", "json", emu=emu, summary=summary
        )
        assert code == 0, out + err
        report = json.loads(out)
        assert report["exit_code"] == 0
        assert report["totals"]["deferred"] == 1 and report["totals"]["leads_triggered"] == 2
        (campaign,) = report["campaigns"]
        assert campaign["leads"]["deferred"] == 1 and campaign["deferred"] == [deferral]
        assert report["last_line"] == (
            "Not everything was sent: 2 leads sent in 1 call, 1 row deferred to the next run; "
            "they are tried again next run."
        )
        assert triggered(emu)[ann] == 1
        assert statuses(config) == {"sent": 2}
        text = summary.read_text(encoding="utf-8")
        assert (
            "| campaign | id | sent | failed | unknown | missing | invalid | not attempted "
            "| changed not resent | deferred |"
        ) in text
        assert "| `trial-welcome` | 2001 | 2 | 0 | 0 | 0 | 0 | 0 | 0 | 1 |" in text
        assert f"- `{deferral}`" in text

        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)  # the next run
        assert code == 0, out + err
        assert out.splitlines()[-1] == "Everything planned was sent: 1 lead sent in 1 call."
        assert triggered(emu)[ann] == 2
        assert statuses(config) == {"sent": 3}


def test_a_saved_plan_with_a_damaged_deferred_row_or_note_is_refused_in_words(
    tmp_path: Path,
) -> None:
    write_project(
        tmp_path,
        sources={"trials": csv_source("trials.csv")},
        campaigns={
            "trial-welcome": {
                "campaign_id": 2001,
                "source": "trials",
                "lead": LEAD_BY_EMAIL,
                "key": "{{ row.email }}/{{ row.workspace }}",
                "when": "row.workspace != 'Beta'",
                "fields": {"trialWorkspace": "{{ row.workspace }}"},
            }
        },
        files={"trials.csv": "email,workspace\nann@example.com,acme\nann@example.com,beta\n"},
    )
    code, out, err = mktsync(tmp_path, "plan", "--out", "plan.json")
    assert code == 0, out + err
    saved = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert saved["notes"][0]["kind"] == "when_matches_no_row"
    for edit, damage in (
        (lambda p: p["campaigns"][0]["deferred"][0].pop("first"),
         "campaigns[0].deferred[0].first is missing"),
        (lambda p: p["notes"][0].update(values="beta"), "notes[0].values is"),
    ):  # fmt: skip
        plan = json.loads(json.dumps(saved))
        edit(plan)
        (tmp_path / "damaged.json").write_text(json.dumps(plan), encoding="utf-8")
        code, out, err = mktsync(tmp_path, "apply", "damaged.json", "--yes")
        assert code == 1, out + err
        assert f"damaged.json: damaged plan file: {damage}" in err, err


# -- invalid rows, counted once ----------------------------------------------------------------


def test_invalid_rows_read_by_two_campaigns_count_once(tmp_path: Path) -> None:
    rows = [{"email": f"u{i}@example.com"} for i in range(6)]
    for n in (1, 3, 4):
        rows[n]["email"] = f"not an email {n}"
    config = write_project(
        tmp_path,
        marketo=MARKETO,
        sources={"regs": csv_source("regs.csv")},
        campaigns={
            "first": reminder(max_invalid=3),
            "second": reminder(campaign_id=5678, max_invalid=3),
        },
        files={"regs.csv": csv_text(rows)},
    )
    code, out, err = mktsync(tmp_path, "plan")
    assert code == 0, err
    assert out.count("  ! invalid           3") == 2  # each campaign lists its own
    assert "; 3 invalid rows (allowed by max_invalid) not sent" in out  # the rows, once
    code, out, _ = mktsync(tmp_path, "plan", "--format", "json")
    plan = json.loads(out)
    assert plan["summary"]["invalid"] == 3
    assert [c["counts"]["invalid"] for c in plan["campaigns"]] == [3, 3]
    summary = tmp_path / "summary.md"
    with emulator(config) as emu:
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu, summary=summary)
        assert code == 0, out + err
        last = (
            "Not everything was sent: 6 leads sent in 2 calls, 3 invalid rows; "
            "fix the invalid rows and run again."
        )
        assert out.splitlines()[-1] == last
        assert f"**{last}**" in summary.read_text(encoding="utf-8")
        code, out, err = mktsync(tmp_path, "apply", "--yes", "--format", "json", emu=emu)
    assert code == 0, out + err
    report = json.loads(out)
    assert report["totals"]["invalid"] == 3  # rows, once
    assert [c["leads"]["invalid"] for c in report["campaigns"]] == [3, 3]
    assert report["last_line"] == (
        "Not everything was sent: 0 leads sent in 0 calls, 3 invalid rows; "
        "fix the invalid rows and run again."
    )


# -- what --detailed-exitcode answers 2 for ----------------------------------------------------


def test_detailed_exitcode_is_2_only_for_what_a_run_would_change(tmp_path: Path) -> None:
    people = ["ann@example.com", "bob@example.com"]

    def write(rows: list[dict[str, str]], **settings: Any) -> Path:
        return write_project(
            tmp_path,
            marketo=MARKETO,
            sources={"regs": csv_source("regs.csv")},
            campaigns={
                "reminder": reminder(
                    key="{{ row.email }}", tokens={"my.Title": "{{ row.title }}"}, **settings
                )
            },
            files={"regs.csv": csv_text(rows, ["email", "title"])},
        )

    def plan() -> int:
        code, out, err = mktsync(tmp_path, "plan", "--detailed-exitcode")
        assert code in (0, 2), out + err
        return code

    config = write([{"email": e, "title": "Git"} for e in people])
    known = [lead(100 + n, e) for n, e in enumerate(people)]  # ghost@example.com is not
    with emulator(config, leads=known) as emu:
        assert plan() == 2  # new rows: calls to send
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)
        assert code == 0, out + err
        assert plan() == 0  # nothing left

        # A changed title under retrigger: never: shown, accepted, sent never.
        write([{"email": e, "title": "Ops"} for e in people])
        assert plan() == 0
        code, out, _ = mktsync(tmp_path, "plan")
        assert "≠ changed           2" in out
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)
        assert code == 0, out + err
        assert "2 changed items not resent" in out.splitlines()[-1]

        # A lead Marketo does not know, skipped by the campaign's choice.
        rows = [{"email": e, "title": "Git"} for e in [*people, "ghost@example.com"]]
        write(rows, missing_leads="skip")
        assert plan() == 2  # never looked up: it may exist
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)
        assert code == 0, out + err
        assert "1 missing lead skipped" in out.splitlines()[-1]
        assert plan() == 0  # not found at the last run: the run would skip it again
        code, out, _ = mktsync(tmp_path, "plan")
        assert "1 email to send was not found in Marketo at the last run" in out
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)
        assert code == 0, out + err

        # The same lead under missing_leads: fail: apply ends 3, so the plan says 2.
        write(rows)
        assert plan() == 2
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)
        assert code == 3, out + err


def test_detailed_exitcode_is_2_while_an_unknown_outcome_keeps_apply_at_3(
    tmp_path: Path,
) -> None:
    config = write_project(
        tmp_path,
        marketo=MARKETO,
        sources={"regs": csv_source("regs.csv")},
        campaigns={"reminder": reminder()},
        files={"regs.csv": "email\nann@example.com\n"},
    )
    seed = project_seed(config)
    with serve(seed=seed, options=EmulatorOptions(faults="trigger#1=lost")) as emu:
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)
    assert code == 3, out + err
    code, out, err = mktsync(tmp_path, "plan", "--detailed-exitcode")
    assert code == 2, out + err
    assert "? unknown           1" in out


# -- the README's example on the shipped data --------------------------------------------------


def test_the_readme_example_and_the_shipped_config_plan_cleanly_on_the_shipped_data(
    tmp_path: Path,
) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(.*?)```", readme, re.S)
    assert example is not None
    shutil.copytree(REPO / "data", tmp_path / "data")
    (tmp_path / "campaigns.yaml").write_text(example.group(1), encoding="utf-8")
    for argv in (["validate"], ["plan"]):
        code, out, err = mktsync(tmp_path, *argv)
        assert code == 0, out + err
        assert "warning" not in out + err and "invalid row" not in out, out + err
    assert "! invalid" not in out and "+ trigger          40" in out  # no class at zero shown

    shutil.copy(REPO / "campaigns.yaml", tmp_path / "campaigns.yaml")
    code, out, err = mktsync(tmp_path, "plan", "--env", "production", "--now", "2026-12-07")
    assert code == 0, out + err
    assert "warning" not in out + err and "invalid row" not in out, out + err
    assert all(line.endswith("! invalid           0") for line in out.splitlines()
               if "! invalid" in line)  # fmt: skip


def test_a_batch_campaign_when_is_watched_as_a_campaign_when_is(tmp_path: Path) -> None:
    config = write_project(
        tmp_path,
        marketo=MARKETO,
        sources={"webinars": csv_source("webinars.csv")},
        campaigns={},
        schedules={
            "blast": {
                "campaign_id": 3001,
                "source": "webinars",
                "when": "row.kind == 'Webinar'",
                "key": "{{ row.id }}",
                "run_at": "{{ row.at }}",
            }
        },
        files={
            "webinars.csv": "id,kind,at\nw1,webinar,2030-01-01T10:00:00Z\n"
            "w2,meetup,2030-01-02T10:00:00Z\n"
        },
    )
    warning = (
        "blast: row.kind == 'Webinar' matches no row; kind has: webinar, meetup; "
        "did you mean 'webinar'?"
    )
    code, out, err = mktsync(tmp_path, "plan", "--format", "json")
    assert code == 0, err
    assert [n["text"] for n in json.loads(out)["notes"]] == [
        warning,
        "blast: all 2 rows filtered by when",
    ]
    code, out, err = mktsync(tmp_path, "plan")
    assert code == 0, err
    assert f"warning: {warning}" in out.splitlines()
    assert "Nothing to trigger; blast: all 2 rows filtered by when." in out.splitlines()
    with emulator(config) as emu:
        code, out, err = mktsync(tmp_path, "apply", "--yes", emu=emu)
        assert code == 0, out + err
        assert out.splitlines()[-2:] == [
            f"warning: {warning}",
            "Nothing to trigger; blast: all 2 rows filtered by when.",
        ]
        assert emu.schedules() == []
