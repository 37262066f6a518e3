"""Qualification rules: re-triggers into a 'once' campaign are flagged before anything is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apply_helpers import cli, emulator, rows, write_project
from testing.seed import project_seed


def campaigns_with(path: Path, qualification: dict[str, Any]) -> list[dict[str, Any]]:
    campaigns: list[dict[str, Any]] = project_seed(path)["campaigns"]
    for campaign in campaigns:
        campaign["qualification"] = qualification
    return campaigns


def change_one_link(tmp_path: Path, extra: str = "") -> None:
    changed = rows(3)
    changed[1]["code"] = "NEW"
    write_project(tmp_path, changed, extra=extra)


def test_retrigger_into_a_once_campaign_is_flagged_by_plan_and_refused_by_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(3))
    with emulator(path, campaigns=campaigns_with(path, {"rule": "once"})) as emu:
        code, _, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, err
        info = tmp_path / ".mktsync" / "ledger.db.campaigns.json"
        assert '"rule": "once"' in info.read_text(encoding="utf-8")
        change_one_link(tmp_path)
        code, out, err = cli(["plan", str(path)], None, monkeypatch)
        assert code == 0
        assert "warning: campaign 'reminder' (1234) has qualification rule 'once'" in err
        assert "skip the 1 lead re-triggered with changed tokens (retrigger: on_change)" in err
        assert "apply will refuse the campaign" in err
        # The pull request's comment says it at its top (the reviewer reads no log).
        code, out, err = cli(["plan", "--format", "markdown", str(path)], None, monkeypatch)
        assert code == 0
        top = out.split("| campaign |", 1)[0]
        assert "> **Warning:** `campaign 'reminder' (1234) has qualification rule 'once'" in top
        assert "apply will refuse the campaign" in top
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 1
        assert "preflight refused campaign 1234" in err
        assert "set 'expect_skips: true'" in err
        assert len(emu.triggers()) == 1  # nothing more was sent


def test_expect_skips_lets_it_through_and_the_emulator_skips_the_lead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(3))
    with emulator(path, campaigns=campaigns_with(path, {"rule": "once"})) as emu:
        assert cli(["apply", str(path), "--yes"], emu, monkeypatch)[0] == 0
        change_one_link(tmp_path, extra="    expect_skips: true\n")
        code, _, err = cli(["plan", str(path)], None, monkeypatch)
        assert "warning" not in err
        code, _, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, err
        last = emu.triggers()[-1]
        assert last["ran"] == []  # Marketo answered success; the lead did not run again
        [skipped] = last["skipped"]
        assert skipped["id"] == last["lead_ids"][0]
        assert "qualification rule 'once'" in skipped["reason"]


def test_any_rule_runs_every_time_without_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(3))
    with emulator(path, campaigns=campaigns_with(path, {"rule": "any"})) as emu:
        assert cli(["apply", str(path), "--yes"], emu, monkeypatch)[0] == 0
        change_one_link(tmp_path)
        assert "warning" not in cli(["plan", str(path)], None, monkeypatch)[2]
        assert cli(["apply", str(path), "--yes"], emu, monkeypatch)[0] == 0
        last = emu.triggers()[-1]
        assert last["ran"] == last["lead_ids"] and last["skipped"] == []


def test_interval_rule_warns_in_plan_but_apply_sends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(3))
    rule = {"rule": "interval", "every": 1, "unit": "week"}
    with emulator(path, campaigns=campaigns_with(path, rule)) as emu:
        assert cli(["apply", str(path), "--yes"], emu, monkeypatch)[0] == 0
        change_one_link(tmp_path)
        err = cli(["plan", str(path)], None, monkeypatch)[2]
        assert "qualification rule interval (once every 1 week)" in err
        assert "apply will send" in err
        assert cli(["apply", str(path), "--yes"], emu, monkeypatch)[0] == 0
        [skipped] = emu.triggers()[-1]["skipped"]
        assert "qualification rule 'interval' (1 week)" in skipped["reason"]


def test_retry_of_a_failed_item_into_a_once_campaign_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Marketo refused the first call, so nobody ran through the campaign: the retry must
    # go out, and neither plan nor apply may flag it.
    path = write_project(tmp_path, rows(3))
    with emulator(path, campaigns=campaigns_with(path, {"rule": "once"})) as emu:
        emu.script_fault("trigger", 1, "611")  # Marketo refuses the call: items failed
        assert cli(["apply", str(path), "--yes"], emu, monkeypatch)[0] == 3
        err = cli(["plan", str(path)], None, monkeypatch)[2]
        assert "qualification rule" not in err
        code, _, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, err
        [call] = emu.triggers()
        assert len(call["ran"]) == 3 and call["skipped"] == []


def test_campaign_info_lives_beside_the_ledger_and_is_only_a_cache(tmp_path: Path) -> None:
    from mktsync.plan.qualify import CampaignSeen, campaign_info_path, load_seen, save_seen

    beside = campaign_info_path("sqlite:///.mktsync/ledger.db", tmp_path)
    assert beside == tmp_path / ".mktsync" / "ledger.db.campaigns.json"
    assert campaign_info_path("sqlite:////abs/l.db", tmp_path) == Path("/abs/l.db.campaigns.json")
    assert campaign_info_path("sqlite:///:memory:", tmp_path) is None
    pg = campaign_info_path("postgresql://u@h/db", tmp_path)
    assert pg == tmp_path / ".mktsync-campaigns.json"
    target = tmp_path / "l.db.campaigns.json"
    assert load_seen(target) == {}  # missing: plan knows no rules
    save_seen(target, [CampaignSeen(campaign_id=7, rule="once", preflight_calls=4)])
    save_seen(target, [CampaignSeen(campaign_id=8, rule="any", preflight_calls=2)])
    assert {cid: s.rule for cid, s in load_seen(target).items()} == {7: "once", 8: "any"}
    target.write_text("{not json", encoding="utf-8")
    assert load_seen(target) == {}  # unreadable: ignored, never an error
