"""`mktsync ledger settle`: unknown items settled from the leads' activity logs, against the
emulator (which logs "Request Campaign" for the leads a trigger reached)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
from apply_helpers import cli, emulator, fast_retry, rows, statuses, triggered, write_project

from mktsync.apply import ApplyOptions, ApplyReport, apply_config
from mktsync.apply.settle import SettleReport, settle_unknown
from mktsync.config import load_config
from mktsync.emulator import Emulator
from mktsync.ledger import open_ledger
from mktsync.marketo import MarketoClient, RetryPolicy


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return "sqlite:///state/ledger.db"
    return str(request.getfixturevalue("postgres_database"))


def _client(path: Path, emu: Emulator, retry: RetryPolicy | None = None) -> MarketoClient:
    limits = load_config(path).marketo.limits
    return MarketoClient(
        emu.base_url, emu.client_id, emu.client_secret, limits=limits, retry=retry or fast_retry()
    )


def _apply(path: Path, emu: Emulator, url: str) -> ApplyReport:
    config = load_config(path)
    with open_ledger(url, config.base_dir) as ledger, _client(path, emu) as client:
        return apply_config(config, ledger, client, ApplyOptions())


def _settle(path: Path, emu: Emulator, url: str, **kwargs: object) -> SettleReport:
    with open_ledger(url, path.parent) as ledger, _client(path, emu) as client:
        return settle_unknown(ledger, client, **kwargs)  # type: ignore[arg-type]


def _statuses(path: Path, url: str) -> Counter[str]:
    with open_ledger(url, path.parent, create=False) as ledger:
        return Counter(r.status for r in ledger.iter_records())


def test_settle_marks_applied_unknowns_sent_and_the_others_not_sent(
    tmp_path: Path, ledger_url: str
) -> None:
    path = write_project(tmp_path, rows(5, shared_code=False), concurrency=1)
    with emulator(path) as emu:
        emu.script_fault("trigger", 2, "lost")  # carried out, answer lost
        emu.script_fault("trigger", 4, "reset")  # connection broke before Marketo acted
        first = _apply(path, emu, ledger_url)
        assert first.counts()["leads_unknown"] == 2
        assert _statuses(path, ledger_url) == {"sent": 3, "unknown": 2}
        too_soon = _settle(path, emu, ledger_url)  # default --min-age: 10 minutes
        assert [(c.sent, c.not_sent, len(c.unknown)) for c in too_soon.campaigns] == [(0, 0, 2)]
        assert "activity log may not show it yet" in too_soon.campaigns[0].unknown[0].reason
        assert too_soon.exit_code == 3
        report = _settle(path, emu, ledger_url, min_age=timedelta(0))
        (campaign,) = report.campaigns
        assert (campaign.campaign_id, campaign.sent, campaign.not_sent) == (1234, 1, 1)
        assert campaign.unknown == () and report.exit_code == 0
        assert _statuses(path, ledger_url) == {"sent": 4, "failed": 1}
        with open_ledger(ledger_url, path.parent, create=False) as ledger:
            settled = {r.status: r for r in ledger.iter_records() if r.error_message}
            assert "shows 'Request Campaign' for lead" in str(settled["sent"].error_message)
            assert settled["failed"].error_code == "settled"
            assert "no 'Request Campaign' activity" in str(settled["failed"].error_message)
            assert ledger.runs(limit=1)[0].command == "settle"
        again = _apply(path, emu, ledger_url)
        assert again.counts()["leads_triggered"] == 1  # only the one never carried out
        assert sorted(triggered(emu).values()) == [1] * 5


def test_without_activity_evidence_items_stay_unknown_with_the_reason(tmp_path: Path) -> None:
    path = write_project(tmp_path, rows(2, shared_code=False), concurrency=1)
    url = "sqlite:///state/ledger.db"
    with emulator(path) as emu:
        emu.script_fault("trigger", 1, "lost")
        _apply(path, emu, url)
        emu.script_fault("paging_token", 1, "604")
        with (
            open_ledger(url, path.parent) as ledger,
            _client(path, emu, RetryPolicy(max_attempts=1)) as client,
        ):
            report = settle_unknown(ledger, client, min_age=timedelta(0))
    (item,) = report.campaigns[0].unknown
    assert item.reason.startswith(
        "Marketo's activity log for lead 100001 was not read to its end: reading Marketo's"
        " activity log failed (Marketo error 604"
    )
    assert _statuses(path, url) == {"sent": 1, "unknown": 1}


def test_the_settle_command_prints_per_campaign_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(3, shared_code=False), concurrency=1)
    with emulator(path) as emu:
        emu.script_fault("trigger", 1, "lost")
        emu.script_fault("trigger", 2, "reset")
        code, _, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 3, err
        code, out, err = cli(["ledger", "--config", str(path), "settle"], emu, monkeypatch)
        assert code == 3, err
        assert out.startswith(
            "campaign 1234: settled as sent 0, settled as not sent 0, still unknown 2\n"
        )
        assert (
            "  still unknown: 'user0@example.com/w1': a call to lead 100001 was 0 min ago;" in out
        )
        code, out, err = cli(
            ["ledger", "--config", str(path), "settle", "--min-age", "0"], emu, monkeypatch
        )
        assert (code, err) == (0, "")
        assert out.splitlines()[0] == (
            "campaign 1234: settled as sent 1, settled as not sent 1, still unknown 0"
        )
        code, out, err = cli(["ledger", "--config", str(path), "settle"], emu, monkeypatch)
        assert (code, out) == (0, "no unknown items: nothing to settle\n")
        code, out, err = cli(
            ["ledger", "--config", str(path), "show", "user0@example.com/w1"], emu, monkeypatch
        )
        assert code == 0
        assert "  note       settled: Marketo's activity log shows 'Request Campaign'" in out


def test_settle_finds_the_config_and_refuses_another_instances_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(2, shared_code=False), concurrency=1)
    with emulator(path) as emu:
        emu.script_fault("trigger", 1, "lost")
        assert cli(["apply", str(path), "--yes"], emu, monkeypatch)[0] == 3
        # No --config: found as every command finds it (here through -C).
        code, out, err = cli(["-C", str(path.parent), "ledger", "settle"], emu, monkeypatch)
        assert code == 3 and "internal error" not in err, err
        assert out.startswith("campaign 1234: settled as sent 0, settled as not sent 0,")
        # The ledger made for another instance: this instance's activity log would settle
        # its items as "not sent", and the next apply would send them again.
        config = load_config(path)
        with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
            db = ledger.name
        before = statuses(path)
        with closing(sqlite3.connect(db)) as conn, conn:
            conn.execute("UPDATE ledger_meta SET instance = '123-abc-456.mktorest.com'")
        code, out, err = cli(
            ["-C", str(path.parent), "ledger", "settle", "--min-age", "0"], emu, monkeypatch
        )
        assert code == 1, (out, err)
        assert "belongs to Marketo instance 123-abc-456.mktorest.com" in err
    assert statuses(path) == before
