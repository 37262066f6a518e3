"""What was reviewed is what is sent (issue 21): bound saved plans, a pinned clock, --reviewed.

Every case runs ``python -m mktsync`` in a subprocess against emulators serving on
loopback sockets, and asserts on what the emulators received.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from apply_helpers import write_project
from testing.cli import credentials, mktsync
from testing.seed import lead, project_seed, serve_project

from mktsync.config import load_config
from mktsync.emulator import Emulator, EmulatorOptions, serve
from mktsync.ledger import open_ledger

REPO = Path(__file__).resolve().parent.parent.parent


def leads_triggered(emu: Emulator) -> int:
    return sum(len(t["lead_ids"]) for t in emu.triggers())


# -- bound saved plans: the repository's own campaigns.yaml, a sandbox and a production ------


@contextmanager
def two_instances(tmp_path: Path) -> Iterator[tuple[Emulator, Emulator, dict[str, str]]]:
    """The example project, and an emulator for each of its environments."""
    shutil.copy(REPO / "campaigns.yaml", tmp_path / "campaigns.yaml")
    shutil.copytree(REPO / "data", tmp_path / "data")
    path = tmp_path / "campaigns.yaml"
    with (  # each instance knows its own campaign ids (environments.*.campaigns)
        serve(seed=project_seed(path, environment="sandbox"), options=EmulatorOptions()) as sandbox,
        serve(
            seed=project_seed(path, environment="production"), options=EmulatorOptions()
        ) as production,
    ):
        env = {**credentials(sandbox, "MARKETO_SANDBOX"), **credentials(production)}
        yield sandbox, production, env


def sandbox_ledger_id(tmp_path: Path) -> str:
    """Make the sandbox's ledger (as its first apply would) and return its id."""
    config = load_config(tmp_path / "campaigns.yaml", environment="sandbox")
    with open_ledger(config.ledger.resolve({}), config.base_dir) as ledger:
        ident = ledger.identity()
    assert ident
    return ident


def test_a_sandbox_plan_is_refused_for_production_and_applies_to_the_sandbox(
    tmp_path: Path,
) -> None:
    with two_instances(tmp_path) as (sandbox, production, env):
        ident = sandbox_ledger_id(tmp_path)
        code, out, err = mktsync(tmp_path, "plan", "--env", "sandbox", "--out", "plan.json", **env)
        assert code == 0, err
        assert json.loads((tmp_path / "plan.json").read_text())["binding"] == {
            "environment": "sandbox",
            "instance": "localhost",
            "ledger_id": ident,
            "ledger": "${MKTSYNC_SANDBOX_LEDGER_URL:-sqlite:///.mktsync/sandbox-ledger.db}",
        }
        for how in ({"MKTSYNC_ENV": "production"}, {}):
            argv = ["apply", "plan.json"] + (["--env", "production"] if not how else [])
            code, out, err = mktsync(tmp_path, *argv, **env, **how)
            assert code == 1
            assert err == (
                "error: plan.json was made for environment 'sandbox' (instance localhost, "
                f"ledger {ident[:12]} at "
                "${MKTSYNC_SANDBOX_LEDGER_URL:-sqlite:///.mktsync/sandbox-ledger.db}); "
                "this run is for environment 'production' (instance localhost, ledger at "
                "${MKTSYNC_LEDGER_URL:-sqlite:///.mktsync/ledger.db}): apply it where it was "
                "made, or plan again (--env and MKTSYNC_ENV cannot override a saved plan's "
                "environment)\n"
            )
            assert sandbox.journal() == [] and production.journal() == []
        assert not (tmp_path / ".mktsync" / "ledger.db").exists()
        # Without --env, the plan's own environment: the sandbox, and only the sandbox.
        code, out, err = mktsync(tmp_path, "apply", "plan.json", **env)
        assert code == 0, out + err
        assert out.splitlines()[0] == "Environment: sandbox"
        assert leads_triggered(sandbox) == 57 and production.journal() == []


def test_a_saved_plan_is_refused_by_another_ledger_and_an_older_plan_file(
    tmp_path: Path,
) -> None:
    with two_instances(tmp_path) as (sandbox, production, env):
        ident = sandbox_ledger_id(tmp_path)
        assert mktsync(tmp_path, "plan", "--env", "sandbox", "--out", "plan.json", **env)[0] == 0
        # The same environment, but another ledger (a restored copy, another URL).
        code, out, err = mktsync(
            tmp_path, "apply", "plan.json", "--ledger", "sqlite:///other.db", **env
        )
        assert code == 1
        assert f"(instance localhost, ledger {ident[:12]} at " in err
        assert "this run is for environment 'sandbox' (instance localhost, ledger " in err
        assert err.rstrip().endswith("other.db): apply it where it was made, or plan again")
        # A plan file from before plans were bound: refused, whatever its ledger says.
        text = (tmp_path / "plan.json").read_text(encoding="utf-8")
        old = "".join(
            line
            for line in text.splitlines(keepends=True)
            if not line.startswith(('  "now"', '  "timezone"', '  "binding"'))
        )
        (tmp_path / "old.json").write_text(old, encoding="utf-8")
        code, out, err = mktsync(tmp_path, "apply", "old.json", **env)
        assert (code, out) == (1, "")
        assert err.startswith(
            "error: old.json does not say where and when it was made (environment, Marketo "
            "instance, ledger, instant)"
        )
        assert sandbox.journal() == [] and production.journal() == []


# -- the clock ----------------------------------------------------------------------------

DATED = """version: 1
marketo:
  base_url: ${{MARKETO_BASE_URL}}
  client_id: ${{MARKETO_CLIENT_ID}}
  client_secret: ${{MARKETO_CLIENT_SECRET}}
ledger: sqlite:///ledger.db
{timezone}sources:
  due:
    type: csv
    path: due.csv
    columns: {{email: email, date: date}}
campaigns:
  due-today:
    campaign_id: 77
    source: due
    when: row.date == today
    lead: {{email: "{{{{ row.email }}}}"}}
    tokens:
      my.Day: "{{{{ today }}}} {{{{ now.isoformat() }}}}"
"""


def dated_project(tmp_path: Path, timezone: str | None) -> Path:
    (tmp_path / "due.csv").write_text(
        "email,date\nfifth@example.com,2026-12-05\nsixth@example.com,2026-12-06\n",
        encoding="utf-8",
    )
    path = tmp_path / "campaigns.yaml"
    path.write_text(
        DATED.format(timezone=f"timezone: {timezone}\n" if timezone else ""), encoding="utf-8"
    )
    return path


def planned_leads(tmp_path: Path, *argv: str, **env: str) -> list[tuple[str, dict[str, str]]]:
    code, out, err = mktsync(tmp_path, "plan", "--format", "json", *argv, **env)
    assert code == 0, err
    plan = json.loads(out)
    return [
        (lead["lead"], call["tokens"])
        for c in plan["campaigns"]
        for call in c["calls"]
        for lead in call["leads"]
    ]


@pytest.mark.parametrize(
    ("timezone", "now", "lead", "shown"),
    [
        # 23:30 on the 5th in New York is 04:30 on the 6th in UTC: the zone decides.
        ("America/New_York", "2026-12-05T23:30:00-05:00", "fifth", "2026-12-05T23:30:00-05:00"),
        (None, "2026-12-05T23:30:00-05:00", "sixth", "2026-12-06T04:30:00+00:00"),
        # A time without an offset is read in the config's zone; a date is its midnight.
        ("America/New_York", "2026-12-05T23:30", "fifth", "2026-12-05T23:30:00-05:00"),
        ("America/New_York", "2026-12-06", "sixth", "2026-12-06T00:00:00-05:00"),
        ("Asia/Tokyo", "2026-12-05T23:30:00Z", "sixth", "2026-12-06T08:30:00+09:00"),
    ],
)
def test_the_timezone_decides_today(
    tmp_path: Path, timezone: str | None, now: str, lead: str, shown: str
) -> None:
    dated_project(tmp_path, timezone)
    day = shown[:10]
    expected = [(f"{lead}@example.com", {"{{my.Day}}": f"{day} {shown}"})]
    assert planned_leads(tmp_path, "--now", now) == expected
    assert planned_leads(tmp_path, MKTSYNC_NOW=now) == expected  # the variable does the same
    code, out, _ = mktsync(tmp_path, "plan", "--now", now)
    assert out.splitlines()[0] == f"As of {shown} ({timezone or 'UTC'}, today {day})"


def test_bad_clock_values_are_plain_errors(tmp_path: Path) -> None:
    path = dated_project(tmp_path, "America/New_Yrok")
    code, out, err = mktsync(tmp_path, "validate")
    assert code == 1
    assert (
        "campaigns.yaml:7:11: timezone: unknown time zone 'America/New_Yrok' (did you mean "
        "'America/New_York'" in out
    )
    path.write_text(path.read_text().replace("New_Yrok", "New_York"), encoding="utf-8")
    assert mktsync(tmp_path, "plan", "--now", "yesterday") == (
        1,
        "",
        "error: --now: 'yesterday' is not an ISO 8601 time: write 2026-12-05T09:00:00Z (with "
        "an offset), 2026-12-05T09:00 (in the config's timezone) or 2026-12-05 (its midnight)\n",
    )
    code, out, err = mktsync(tmp_path, "apply", "--yes", MKTSYNC_NOW="12/05/2026")
    assert (code, out) == (1, "") and err.startswith("error: MKTSYNC_NOW: '12/05/2026' is not")


def test_an_environment_has_its_own_timezone(tmp_path: Path) -> None:
    path = dated_project(tmp_path, "UTC")
    path.write_text(
        path.read_text()
        + "environments:\n  ny:\n    ledger: sqlite:///ny.db\n    timezone: America/New_York\n"
        + "  utc:\n    ledger: sqlite:///utc.db\n",
        encoding="utf-8",
    )
    now = "2026-12-05T23:30:00-05:00"
    assert planned_leads(tmp_path, "--now", now, "--env", "ny")[0][0] == "fifth@example.com"
    assert planned_leads(tmp_path, "--now", now, "--env", "utc")[0][0] == "sixth@example.com"


def both_leads(path: Path) -> dict[str, object]:
    """A seed knowing both rows' leads, whichever day the seed's own plan saw."""
    return project_seed(
        path, leads=[lead(100_001, "fifth@example.com"), lead(100_002, "sixth@example.com")]
    )


def test_a_saved_plan_replays_its_instant_the_next_day(tmp_path: Path) -> None:
    path = dated_project(tmp_path, "America/New_York")
    with serve(seed=both_leads(path), options=EmulatorOptions()) as emu:
        env = credentials(emu)
        now = "2026-12-05T23:30:00-05:00"
        code, out, err = mktsync(tmp_path, "plan", "--now", now, "--out", "plan.json", **env)
        assert code == 0, err
        saved = json.loads((tmp_path / "plan.json").read_text())
        assert (saved["now"], saved["timezone"]) == (now, "America/New_York")
        # The next day, --now (or MKTSYNC_NOW) cannot move a saved plan's clock...
        code, out, err = mktsync(tmp_path, "apply", "plan.json", MKTSYNC_NOW="2026-12-06", **env)
        assert code == 1 and emu.journal() == []
        assert err == (
            "error: --now 2026-12-06 is not the instant plan.json was made at "
            "(2026-12-05T23:30:00-05:00): a saved plan replays its own; drop --now (and "
            "MKTSYNC_NOW), or plan again at that time\n"
        )
        # ...and without it, the plan sends what it showed: the 5th's row, its tokens.
        code, out, err = mktsync(tmp_path, "apply", "plan.json", "--now", now, **env)
        assert code == 0, out + err
        (call,) = emu.triggers()
        assert len(call["lead_ids"]) == 1
        assert call["tokens"] == {"{{my.Day}}": f"2026-12-05 {now}"}
        # A missed day replayed: the clock pinned to the 6th sends the 6th's row.
        code, out, err = mktsync(tmp_path, "apply", "--yes", MKTSYNC_NOW="2026-12-06T09:00", **env)
        assert code == 0, out + err
        assert [len(t["lead_ids"]) for t in emu.triggers()] == [1, 1]
        assert emu.triggers()[1]["tokens"] == {"{{my.Day}}": "2026-12-06 2026-12-06T09:00:00-05:00"}


# -- apply --reviewed ------------------------------------------------------------------------


def write_rows(tmp_path: Path, rows: Sequence[dict[str, str]]) -> None:
    with open(tmp_path / "regs.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["email", "webinar", "code"])
        writer.writeheader()
        writer.writerows(rows)


def sent_keys(path: Path) -> set[str]:
    config = load_config(path)
    with open_ledger(config.ledger.resolve({}), config.base_dir, create=False) as ledger:
        return {r.key for r in ledger.iter_records() if r.status == "sent"}


ROWS = [{"email": f"user{i}@example.com", "webinar": "w1", "code": "c"} for i in range(4)]


@contextmanager
def reviewed_project(tmp_path: Path) -> Iterator[tuple[Path, Emulator, dict[str, str]]]:
    """A project whose emulator knows all four leads; the review sees the first three."""
    path = write_project(tmp_path, ROWS)
    with serve_project(path) as emu:
        write_rows(tmp_path, ROWS[:3])
        env = credentials(emu)
        code, out, err = mktsync(tmp_path, "plan", "--out", "reviewed.json")  # no secrets
        assert code == 0, err
        yield path, emu, env


def test_reviewed_holds_a_row_added_after_review(tmp_path: Path) -> None:
    with reviewed_project(tmp_path) as (path, emu, env):
        write_rows(tmp_path, ROWS)  # merged: one more registration than the reviewer saw
        summary = tmp_path / "summary.md"
        code, out, err = mktsync(
            tmp_path,
            "apply",
            "--reviewed",
            "reviewed.json",
            **env,
            GITHUB_STEP_SUMMARY=str(summary),
        )
        assert code == 5, out + err
        assert "> **1 item and 0 batch runs held for review**" in summary.read_text()
        assert (
            "  held for review: 1 item was not in the reviewed plan; it goes out after the "
            "next review\n    regs row 5: user3@example.com, key user3@example.com/w1\n" in out
        )
        assert out.splitlines()[-1] == (
            "Not everything was sent: 3 leads sent in 1 call, 1 held for review; what was "
            "held goes out after the next review (a pull request's plan shows it)."
        )
        assert leads_triggered(emu) == 3
        assert sent_keys(path) == {f"user{i}@example.com/w1" for i in range(3)}
        # Not marked: the next review shows it, and applying that review sends it.
        code, out, err = mktsync(tmp_path, "plan", "--out", "next.json")
        assert "1 lead to trigger" in out, out + err
        code, out, err = mktsync(tmp_path, "apply", "--reviewed", "next.json", **env)
        assert code == 0, out + err
        assert out.splitlines()[-1] == "Everything planned was sent: 1 lead sent in 1 call."
        assert leads_triggered(emu) == 4


def test_reviewed_holds_an_item_whose_tokens_changed_after_review(tmp_path: Path) -> None:
    with reviewed_project(tmp_path) as (path, emu, env):
        changed = [dict(r) for r in ROWS[:3]]
        changed[1]["code"] = "swapped"  # my.Link differs from what the reviewer saw
        write_rows(tmp_path, changed)
        code, out, err = mktsync(tmp_path, "apply", "--reviewed", "reviewed.json", "--yes", **env)
        assert code == 5, out + err
        assert (
            "  held for review: 1 item was not as the reviewer saw it (tokens, lead or fields "
            "differ); it goes out after the next review\n"
            "    regs row 3: user1@example.com, key user1@example.com/w1\n" in out
        )
        assert out.splitlines()[-1].startswith("Not everything was sent: 2 leads sent in 1 call")
        (call,) = emu.triggers()
        assert len(call["lead_ids"]) == 2
        assert call["tokens"] == {"{{my.Webinar}}": "w1", "{{my.Link}}": "https://example.com/c"}
        assert sent_keys(path) == {"user0@example.com/w1", "user2@example.com/w1"}


def test_reviewed_sends_what_is_still_due_when_the_ledger_moved(tmp_path: Path) -> None:
    """The state moved since the review (another apply ran): a saved plan is refused as
    stale, --reviewed sends the reviewed items still due and nothing twice."""
    with reviewed_project(tmp_path) as (path, emu, env):
        shutil.copy(tmp_path / "reviewed.json", tmp_path / "saved.json")
        assert mktsync(tmp_path, "apply", "--yes", "--campaign", "reminder", **env)[0] == 0
        assert leads_triggered(emu) == 3
        code, out, err = mktsync(tmp_path, "apply", "saved.json", **env)
        assert code == 1 and "the ledger changed since the plan was made" in err
        write_rows(tmp_path, ROWS)
        code, out, err = mktsync(tmp_path, "apply", "--reviewed", "reviewed.json", **env)
        assert code == 5 and "1 held for review" in out.splitlines()[-1]
        assert leads_triggered(emu) == 3  # nothing sent twice, the new row held


def test_a_reviewed_plan_from_the_future_is_refused(tmp_path: Path) -> None:
    """Its today would pick rows nobody reviewed as due now (a forged or pinned plan)."""
    with reviewed_project(tmp_path) as (path, emu, env):
        code, out, err = mktsync(tmp_path, "plan", "--now", "2030-01-01", "--out", "ahead.json")
        assert code == 0, err
        code, out, err = mktsync(tmp_path, "apply", "--reviewed", "ahead.json", **env)
        assert (code, out) == (1, "")
        assert err == (
            "error: ahead.json was made as of 2030-01-01T00:00:00+00:00, which is still to "
            "come: a reviewed plan's instant is when it was reviewed; plan again without --now\n"
        )
        assert emu.journal() == []


def test_reviewed_is_bound_to_its_environment_and_instant(tmp_path: Path) -> None:
    with two_instances(tmp_path) as (sandbox, production, env):
        assert mktsync(tmp_path, "plan", "--env", "sandbox", "--out", "reviewed.json")[0] == 0
        code, out, err = mktsync(
            tmp_path, "apply", "--reviewed", "reviewed.json", "--env", "production", **env
        )
        assert code == 1
        assert err.startswith(
            "error: reviewed.json was made for environment 'sandbox' (instance not known, no "
            "ledger yet at ${MKTSYNC_SANDBOX_LEDGER_URL:-sqlite:///.mktsync/sandbox-ledger.db})"
            "; this run is for environment 'production' (instance localhost, ledger at "
        )
        code, out, err = mktsync(
            tmp_path, "apply", "--reviewed", "reviewed.json", "--now", "2026-01-01", **env
        )
        assert code == 1 and "is not the instant reviewed.json was made at" in err
        code, out, err = mktsync(tmp_path, "apply", "--reviewed", "reviewed.json", "plan.json")
        assert code == 1 and "takes the config as FILE" in err
        assert sandbox.journal() == [] and production.journal() == []
        # A batch run added after the review is held too; the rest goes to the sandbox.
        calendar = tmp_path / "data" / "webinars.csv"
        calendar.write_text(
            calendar.read_text() + "wb-103,Late Addition,https://webinars.example.com/wb-103,"
            "2028-03-09T16:00:00Z,2028-03-09T15:00:00Z\n",
            encoding="utf-8",
        )
        code, out, err = mktsync(tmp_path, "apply", "--reviewed", "reviewed.json", **env)
        assert code == 5, out + err
        assert (
            "held for review (batch run): webinar-starts-soon: wb-103 at "
            "2028-03-09T15:00:00+00:00: not in the reviewed plan" in out
        )
        assert out.splitlines()[-1] == (
            "Not everything was sent: 57 leads sent in 6 calls, 2 batch runs scheduled, "
            "1 batch run held for review; what was held goes out after the next review "
            "(a pull request's plan shows it)."
        )
        assert [s["run_at"] for s in sandbox.schedules()] == [
            "2028-01-13T15:00:00+00:00",
            "2028-02-10T15:00:00+00:00",
        ]
        assert production.journal() == []
