"""apply sends exactly the plan, once, and writes each outcome to the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_helpers import apply, cli, emulator, rows, statuses, triggered, write_project
from testing.seed import project_seed

from mktsync.emulator import EmulatorOptions


def test_apply_sends_the_plan_once(tmp_path: Path) -> None:
    path = write_project(tmp_path, rows(250))  # one token set: 3 calls of <=100
    with emulator(path) as emu:
        report = apply(path, emu)
        assert report.exit_code == 0
        calls = [len(t["lead_ids"]) for t in emu.triggers()]
        assert sorted(calls) == [50, 100, 100]
        assert emu.triggers()[0]["tokens"] == {
            "{{my.Link}}": "https://example.com/c",
            "{{my.Webinar}}": "w1",
        }
        again = apply(path, emu)
        assert again.counts()["calls_sent"] == 0
        assert len(emu.triggers()) == 3
    assert statuses(path) == {"sent": 250}


def test_changed_tokens_retrigger_only_the_changed(tmp_path: Path) -> None:
    path = write_project(tmp_path, rows(5))
    with emulator(path) as emu:
        apply(path, emu)
        changed = rows(5)
        changed[2]["code"] = "NEW"
        write_project(tmp_path, changed)
        report = apply(path, emu)
        assert report.counts()["leads_triggered"] == 1
        last = emu.triggers()[-1]
        assert last["tokens"]["{{my.Link}}"] == "https://example.com/NEW"
        assert len(last["lead_ids"]) == 1


def test_emails_are_looked_up_300_at_a_time_and_cached(tmp_path: Path) -> None:
    path = write_project(tmp_path, rows(650))
    with emulator(path) as emu:
        apply(path, emu)
        lookups = [e for e in emu.journal() if e.get("endpoint") == "leads_get"]
        assert len(lookups) == 3
        # Same people, a new webinar: new keys, but no lookup (the ledger cached the ids).
        write_project(tmp_path, rows(650, webinar="w2"))
        report = apply(path, emu)
        assert report.counts()["leads_triggered"] == 650
        lookups = [e for e in emu.journal() if e.get("endpoint") == "leads_get"]
        assert len(lookups) == 3


def test_unknown_email_is_a_missing_lead_and_create_missing_creates_it(tmp_path: Path) -> None:
    path = write_project(tmp_path, rows(3))
    with emulator(path) as emu:
        write_project(
            tmp_path, [*rows(3), {"email": "new@example.com", "webinar": "w1", "code": "c"}]
        )
        report = apply(path, emu)
        rep = report.campaigns[0]
        assert rep.leads_triggered == 3 and rep.leads_missing == 1 and rep.invalid == 0
        assert rep.missing[0].reason == "no Marketo lead with this email"
        assert report.exit_code == 3
    extra = "    create_missing: true\n"
    path = write_project(tmp_path, rows(3))
    with emulator(path) as emu:
        write_project(
            tmp_path,
            [*rows(3), {"email": "new@example.com", "webinar": "w1", "code": "c"}],
            extra=extra,
        )
        report = apply(path, emu)
        assert report.created_leads == 1
        assert (
            report.campaigns[0].leads_triggered == 1
        )  # the 3 others were sent by the first run... in another emulator
        created = [lead for lead in emu.leads() if lead.get("email") == "new@example.com"]
        assert len(created) == 1


def test_unknown_lead_ids_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.yaml"
    path.write_text(
        """version: 1
sources: {people: {type: inline, rows: [{id: 5}, {id: 6}]}}
campaigns:
  welcome: {campaign_id: 77, source: people, lead: {id: "{{ row.id }}"}}
""",
        encoding="utf-8",
    )
    with emulator(path, leads=[{"id": 5, "email": "five@example.com"}]) as emu:
        report = apply(path, emu)
        rep = report.campaigns[0]
        assert rep.leads_triggered == 1 and rep.leads_missing == 1
        assert (rep.missing[0].source, rep.missing[0].row) == ("people", 2)
        assert rep.missing[0].reason == "no Marketo lead with id 6"
        assert report.exit_code == 3
        assert [t["lead_ids"] for t in emu.triggers()] == [[5]]


def test_preflight_skips_a_broken_campaign_and_sends_the_others(tmp_path: Path) -> None:
    extra = """  welcome:
    campaign_id: 2001
    source: regs
    lead: {email: "{{ row.email }}"}
"""
    path = write_project(tmp_path, rows(3), extra=extra)
    seed = project_seed(path)
    for c in seed["campaigns"]:
        if c["id"] == 1234:
            c["type"] = "batch"
    with emulator(path, campaigns=seed["campaigns"]) as emu:
        report = apply(path, emu)
        assert report.exit_code == 1
        skipped = {c.name: c.skipped for c in report.campaigns}
        assert "not a trigger campaign" in (skipped["reminder"] or "")
        assert skipped["welcome"] is None
        assert {t["campaign_id"] for t in emu.triggers()} == {2001}
    assert statuses(path) == {"sent": 3}  # the skipped campaign's items stay new


def test_fail_fast_stops_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_project(tmp_path, rows(3))
    programs = project_seed(path)["programs"]
    programs[0]["tokens"] = [t for t in programs[0]["tokens"] if t["name"] != "Link"]
    with emulator(path, programs=programs) as emu:
        code, out, err = cli(["apply", str(path), "--fail-fast", "--yes"], emu, monkeypatch)
        assert code == 1
        assert "preflight refused campaign 1234" in err
        assert "has no My Token 'Link'" in err
        assert emu.triggers() == []


def test_second_apply_on_a_locked_ledger_names_the_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mktsync.config import load_config
    from mktsync.ledger import open_ledger

    path = write_project(tmp_path, rows(2))
    config = load_config(path)
    with emulator(path) as emu, open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
        with ledger.lock(command="apply", timeout=5):
            code, out, err = cli(
                ["apply", str(path), "--yes", "--lock-timeout", "0.3"], emu, monkeypatch
            )
        assert code == 1, out + err
        assert "apply" in err and "pid" in err
        assert emu.triggers() == []


def test_apply_cli_report_and_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    path = write_project(tmp_path, rows(3))
    with emulator(path) as emu:
        code, out, err = cli(
            ["apply", str(path), "--yes", "--format", "json", "--log-format", "json"],
            emu,
            monkeypatch,
        )
    assert code == 0, err
    report = json.loads(out)
    assert report["totals"]["leads_triggered"] == 3
    events = [json.loads(line) for line in err.splitlines()]
    # Today's usage is read before anything else (issue 24), then the sends start.
    assert [e["event"] for e in events][:2] == ["usage", "start"]
    assert any(e["event"] == "call" and e["outcome"] == "sent" for e in events)


def test_missing_credentials_are_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(1))
    code, out, err = cli(["apply", str(path), "--yes"], None, monkeypatch)
    assert code == 1
    assert "environment variable MARKETO_BASE_URL is not set" in err
    assert "Traceback" not in err


def test_bad_client_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_project(tmp_path, rows(1))
    with emulator(path) as emu:
        monkeypatch.setenv("MARKETO_BASE_URL", emu.base_url)
        monkeypatch.setenv("MARKETO_CLIENT_ID", emu.client_id)
        monkeypatch.setenv("MARKETO_CLIENT_SECRET", "wrong-secret-value")
        code, out, err = cli(["apply", str(path), "--yes"], None, monkeypatch)
    assert code == 1
    assert "bad client id or secret" in err
    assert "wrong-secret-value" not in out + err


def test_demo_twice_sends_nothing_the_second_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(4))
    code, out, err = cli(["apply", str(path), "--emulator", "--yes"], None, monkeypatch)
    assert code == 0, err
    assert "The emulator received 1 trigger call for 4 leads" in err
    code, out, err = cli(["apply", str(path), "--emulator", "--yes"], None, monkeypatch)
    assert code == 0
    assert "The emulator received 0 trigger calls" in err
    assert "Nothing to trigger" in out
    # The demo never touches the real ledger.
    assert not (tmp_path / ".mktsync" / "ledger.db").exists()
    assert (tmp_path / ".mktsync" / "emulator-ledger.db").exists()


@pytest.mark.slow
def test_emulator_latency_and_limits_are_respected(tmp_path: Path) -> None:
    path = write_project(tmp_path, rows(30, shared_code=False), calls=10, window=1, concurrency=3)
    opts = EmulatorOptions(calls=10, window_seconds=1, concurrency=3, latency=(0.02, 0.05))
    with emulator(path, opts) as emu:
        report = apply(path, emu)
        assert report.exit_code == 0
        stats = emu.stats()
        assert stats["rejected"] == {"rate": 0, "concurrency": 0, "quota": 0}
        assert triggered(emu) and max(triggered(emu).values()) == 1
