"""Environments override ids and values (issue 22.6): a sandbox has its own campaign ids.

Each case runs ``python -m mktsync`` in a subprocess against emulators on loopback sockets
(seeded as each environment sees the file) and asserts on what they received, what the
plans and plan files say, and what the ledgers recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from testing.cli import credentials, mktsync
from testing.project import LEAD_BY_EMAIL, MARKETO_FROM_ENV, csv_source, csv_text, write_project
from testing.seed import serve_project

from mktsync.config import ConfigError, load_config
from mktsync.emulator import Emulator
from mktsync.ledger import open_ledger

REGISTRATIONS = [
    {"email": f"user{i}@example.com", "join_code": f"J{i}", "webinar": "w1"} for i in range(3)
]
SANDBOX_LINK = "https://sandbox.example.com/join/"
CAMPAIGNS = {
    "webinar-reminder": {
        "campaign_id": 1234,
        "source": "regs",
        "lead": LEAD_BY_EMAIL,
        "key": "{{ row.email }}/{{ row.webinar }}",
        "tokens": {
            "my.JoinLink": "https://webinars.example.com/join/{{ row.join_code }}",
            "my.Webinar": "{{ row.webinar }}",
        },
    },
    "welcome": {"campaign_id": 2001, "source": "regs", "lead": LEAD_BY_EMAIL},
}
SCHEDULES = {
    "launch": {
        "campaign_id": 3001,
        "run_at": "{{ today | add_days(30) }}T15:00:00+00:00",  # never ages
        "tokens": {"my.Title": "Launch"},
    }
}
SANDBOX = {
    "marketo": {
        "base_url": "${MARKETO_SANDBOX_BASE_URL}",
        "client_id": "${MARKETO_SANDBOX_CLIENT_ID}",
        "client_secret": "${MARKETO_SANDBOX_CLIENT_SECRET}",
    },
    "ledger": "sqlite:///.mktsync/sandbox.db",
    "timezone": "Europe/Berlin",
    "campaigns": {
        "webinar-reminder": {
            "campaign_id": 5678,
            "tokens": {"my.JoinLink": SANDBOX_LINK + "{{ row.join_code }}"},
        }
    },
    "schedules": {"launch": {"campaign_id": 7001}},
}
PRODUCTION = {"ledger": "sqlite:///.mktsync/production.db"}


def project(tmp_path: Path, *, sandbox: dict[str, object] | None = None) -> Path:
    return write_project(
        tmp_path,
        marketo=MARKETO_FROM_ENV,
        sources={"regs": csv_source("regs.csv")},
        campaigns=CAMPAIGNS,
        schedules=SCHEDULES,
        environments={"sandbox": sandbox or SANDBOX, "production": PRODUCTION},
        files={"regs.csv": csv_text(REGISTRATIONS)},
    )


def triggered(emu: Emulator) -> dict[int, int]:
    """Leads triggered, per campaign id."""
    found: dict[int, int] = {}
    for t in emu.triggers():
        found[int(t["campaign_id"])] = found.get(int(t["campaign_id"]), 0) + len(t["lead_ids"])
    return found


def recorded_ids(path: Path, ledger: str) -> set[int]:
    with open_ledger(ledger, path.parent) as book, book.transaction() as tx:
        return {int(r[0]) for r in tx.execute("SELECT DISTINCT campaign_id FROM items")}


def test_plan_shows_each_environments_ids_and_values(tmp_path: Path) -> None:
    project(tmp_path)
    code, out, err = mktsync(tmp_path, "plan", "--env", "sandbox")
    assert code == 0, err
    assert "webinar-reminder (campaign 5678, source regs)" in out
    assert "welcome (campaign 2001, source regs)" in out  # not overridden: the top level's
    assert "launch (batch campaign 7001" in out
    code, out, err = mktsync(tmp_path, "plan", "--env", "production")
    assert code == 0, err
    assert "webinar-reminder (campaign 1234, source regs)" in out
    assert "launch (batch campaign 3001" in out
    assert "5678" not in out and "7001" not in out

    code, out, err = mktsync(tmp_path, "plan", "--env", "sandbox", "--format", "json")
    plan = json.loads(out)
    reminder = next(c for c in plan["campaigns"] if c["name"] == "webinar-reminder")
    assert reminder["campaign_id"] == 5678
    links = {call["tokens"]["{{my.JoinLink}}"] for call in reminder["calls"]}
    assert links == {SANDBOX_LINK + f"J{i}" for i in range(3)}  # what the reviewer sees
    assert {call["tokens"]["{{my.Webinar}}"] for call in reminder["calls"]} == {"w1"}


def test_apply_emulator_env_sandbox_triggers_the_sandbox_ids(tmp_path: Path) -> None:
    project(tmp_path)
    code, out, err = mktsync(tmp_path, "apply", "--emulator", "--env", "sandbox")
    assert code == 0, out + err
    assert out.splitlines()[0] == "Environment: sandbox"
    assert "  campaign 5678: " in err and "  campaign 2001: " in err
    assert "  campaign 1234: " not in err
    assert "batch campaign 7001 scheduled at " in err
    # The demo keeps one ledger per environment, as real instances do.
    demo = "sqlite:///.mktsync/emulator-sandbox-ledger.db"
    assert recorded_ids(tmp_path / "campaigns.yaml", demo) == {5678, 2001, 7001}
    assert not (tmp_path / ".mktsync" / "emulator-ledger.db").exists()
    code, out, err = mktsync(tmp_path, "apply", "--emulator", "--env", "production")
    assert code == 0, out + err
    assert "  campaign 1234: 3 calls, 3 leads" in err  # nothing the sandbox sent counts here
    assert "batch campaign 3001 scheduled" in err


def test_a_token_override_reaches_the_trigger_calls_tokens(tmp_path: Path) -> None:
    path = project(tmp_path)
    with serve_project(path, environment="sandbox") as emu:
        env = credentials(emu, "MARKETO_SANDBOX")
        code, out, err = mktsync(tmp_path, "apply", "--env", "sandbox", "--yes", **env)
        assert code == 0, out + err
        calls = [t for t in emu.triggers() if int(t["campaign_id"]) == 5678]
        assert triggered(emu) == {5678: 3, 2001: 3}
    tokens = [call["tokens"] for call in calls]  # name -> value, as the call carried them
    assert sorted(t["{{my.JoinLink}}"] for t in tokens) == [
        SANDBOX_LINK + f"J{i}" for i in range(3)
    ]
    assert all(t["{{my.Webinar}}"] == "w1" for t in tokens)  # not overridden: the campaign's
    assert recorded_ids(path, "sqlite:///.mktsync/sandbox.db") == {5678, 2001, 7001}
    assert not (tmp_path / ".mktsync" / "production.db").exists()


def test_a_sandbox_plan_is_never_applied_with_production_ids(tmp_path: Path) -> None:
    path = project(tmp_path)
    with (
        serve_project(path, environment="sandbox") as sandbox,
        serve_project(path, environment="production") as production,
    ):
        env = {
            **credentials(sandbox, "MARKETO_SANDBOX"),
            **credentials(production, "MARKETO"),
        }
        code, out, err = mktsync(tmp_path, "plan", "--env", "sandbox", "--out", "plan.json", **env)
        assert code == 0, err
        saved = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
        assert saved["binding"]["environment"] == "sandbox"
        assert {c["campaign_id"] for c in saved["campaigns"]} == {5678, 2001}
        code, out, err = mktsync(tmp_path, "apply", "plan.json", "--env", "production", **env)
        assert code == 1
        assert "plan.json was made for environment 'sandbox'" in err
        assert sandbox.journal() == [] and production.journal() == []
        code, out, err = mktsync(tmp_path, "apply", "plan.json", **env)  # its own environment
        assert code == 0, out + err
        assert triggered(sandbox) == {5678: 3, 2001: 3} and production.journal() == []


def test_an_override_of_an_unknown_campaign_is_a_located_error(tmp_path: Path) -> None:
    sandbox = {
        **SANDBOX,
        "campaigns": {"webinar-remider": {"campaign_id": 5678}},
    }
    path = project(tmp_path, sandbox=sandbox)
    line = next(
        n
        for n, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if text.strip() == "webinar-remider:"
    )
    expected = (
        f"campaigns.yaml:{line}:7: environments.sandbox.campaigns.webinar-remider: no campaign "
        "named 'webinar-remider' under the top-level 'campaigns' for environment 'sandbox' to "
        "override; did you mean 'webinar-reminder'?"
    )
    code, out, err = mktsync(tmp_path, "validate")
    assert (code, out) == (1, expected + "\n")
    for argv in (("plan", "--env", "sandbox"), ("plan", "--env", "production")):
        code, out, err = mktsync(tmp_path, *argv)  # a broken environment breaks the file
        assert code == 1 and expected in err, argv


def test_validate_checks_every_environment_with_or_without_env(tmp_path: Path) -> None:
    sandbox = {
        **SANDBOX,
        "campaigns": {"webinar-reminder": {"tokens": {"my.JoinLink": "{{ row.joincode }}"}}},
    }
    project(tmp_path, sandbox=sandbox)
    problem = (
        "environments.sandbox.campaigns.webinar-reminder.tokens.my.JoinLink: column "
        "'joincode' is not in source 'regs'"
    )
    for argv in ((), ("--env", "production"), ("--env", "sandbox")):
        code, out, err = mktsync(tmp_path, "validate", *argv)
        assert code == 1 and problem in out, argv


def test_for_environment_gives_each_environments_records(tmp_path: Path) -> None:
    path = project(tmp_path)
    production = load_config(path, environment="production")
    assert production.campaigns["webinar-reminder"].campaign_id == 1234
    sandbox = production.for_environment("sandbox")  # from any config of the file
    assert sandbox.environment == "sandbox"
    assert sandbox.campaigns["webinar-reminder"].campaign_id == 5678
    assert sandbox.schedules["launch"].campaign_id == 7001
    assert sandbox.campaigns["welcome"] is production.campaigns["welcome"]  # not overridden
    assert sandbox.ledger.raw == "sqlite:///.mktsync/sandbox.db"
    assert sandbox.timezone == "Europe/Berlin"
    assert sandbox.for_environment("production").timezone == "UTC"  # never the sandbox's
    assert sandbox.for_environment("production").campaigns == production.campaigns
    tokens = {t.name: t.template for t in sandbox.campaigns["webinar-reminder"].tokens}
    assert tokens["{{my.JoinLink}}"].text == SANDBOX_LINK + "{{ row.join_code }}"
    assert tokens["{{my.JoinLink}}"].field == "tokens.my.JoinLink"
    assert [t.name for t in sandbox.campaigns["webinar-reminder"].tokens] == [
        "{{my.JoinLink}}",
        "{{my.Webinar}}",
    ]
    with pytest.raises(ConfigError) as caught:
        production.for_environment("sandbx")
    assert str(caught.value.problems[0]).endswith(
        "--env sandbx: no environment named 'sandbx' (declared: sandbox, production); "
        "did you mean 'sandbox'?"
    )


def test_another_environments_ledger_witnesses_only_shared_ids_on_one_instance(
    tmp_path: Path,
) -> None:
    """The sandbox recorded these campaigns under its own ids (5678, 2001 and 7001).  On
    another instance they say nothing of production's; on the same one, only the id both
    trigger (2001, three sends) does."""
    for sandbox, said in (
        (SANDBOX, None),
        ({k: v for k, v in SANDBOX.items() if k != "marketo"}, 3),
    ):
        for db in (tmp_path / ".mktsync").glob("*.db*"):
            db.unlink()
        project(tmp_path, sandbox=sandbox)
        code, out, err = mktsync(
            tmp_path, "apply", "--env", "sandbox", "--record-only", "--why", "sent before", "--yes"
        )
        assert code == 0, out + err
        code, out, err = mktsync(tmp_path, "plan", "--env", "production")
        assert code == 0, err
        if said is None:
            assert "note: the ledger sqlite:///.mktsync/production.db does not exist yet" in out
            assert "warning" not in out
        else:
            assert (
                "the ledger of environment 'sandbox', sqlite:///.mktsync/sandbox.db, holds "
                f"{said} sends of these campaigns"
            ) in out
