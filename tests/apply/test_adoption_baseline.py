"""A baseline of what was sent before mktsync: recorded without one call to Marketo."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply_helpers import cli, emulator, rows, statuses, write_project

from mktsync.config import load_config
from mktsync.ledger import open_ledger


def test_record_only_then_plan_is_empty_and_nothing_reached_marketo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(7, shared_code=False))
    with emulator(path) as emu:
        # No credentials in the environment: --record-only needs none.
        code, out, err = cli(
            ["apply", str(path), "--record-only", "--why", "sent by the old script", "--yes"],
            None,
            monkeypatch,
        )
        assert code == 0, err
        assert "Recorded 7 item(s) as sent" in out
        assert emu.journal() == []  # nothing reached the emulator, not even a token request
        code, out, err = cli(["plan", str(path), "--detailed-exitcode"], None, monkeypatch)
        assert code == 0, out + err
        assert "nothing to do (7 unchanged)" in out  # one line: nothing to send
        assert "No changes" in out
        # A later apply against Marketo sends nothing either.
        code, out, err = cli(["apply", str(path), "--yes"], emu, monkeypatch)
        assert code == 0, out + err
        assert emu.triggers() == []
    assert statuses(path) == {"sent": 7}
    config = load_config(path)
    with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
        baseline = [r for r in ledger.runs() if r.command == "apply --record-only"]
        records = list(ledger.iter_records())
    assert len(baseline) == 1  # the reason, the run and who took the baseline are kept
    assert baseline[0].note == "record-only: sent by the old script"
    assert "@" in baseline[0].who
    assert {r.run_id for r in records} == {baseline[0].run_id}


def test_record_only_without_a_reason_or_without_consent_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(2))
    code, out, err = cli(["apply", str(path), "--record-only", "--yes"], None, monkeypatch)
    assert code == 1 and "--record-only needs --why" in err
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stdin", None)
    code, out, err = cli(["apply", str(path), "--record-only", "--why", "x"], None, monkeypatch)
    assert code == 1 and "apply needs consent" in err
    assert not (tmp_path / ".mktsync" / "ledger.db").exists()


def write_export(tmp_path: Path, text: str) -> Path:
    export = tmp_path / "sent.csv"
    export.write_text(text, encoding="utf-8")
    return export


def test_import_refuses_keys_the_template_never_produces_and_records_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(3))
    export = write_export(
        tmp_path,
        "key,sent_at\nuser0@example.com/w1,2026-11-01T10:00:00Z\n"
        "user0@example.com,2026-11-01\nUSER1@example.com/w1,\n",
    )
    argv = ["ledger", "import", str(export), "--config", str(path), "--campaign", "reminder"]
    code, out, err = cli([*argv, "--why", "old log"], None, monkeypatch)
    assert code == 1
    assert "2 key(s) that campaign 'reminder' never produces" in err
    assert "line 3: 'user0@example.com'" in err
    assert "line 4: 'USER1@example.com/w1'" in err
    assert "nothing was recorded" in err
    assert not (tmp_path / ".mktsync" / "ledger.db").exists() or statuses(path) == {}


def test_import_records_keys_with_the_tokens_really_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_project(tmp_path, rows(3))
    export = write_export(
        tmp_path,
        "key,sent_at,my.Webinar\nuser0@example.com/w1,2026-11-01T10:00:00+01:00,w1\n"
        "user1@example.com/w1,,an older title\n",
    )
    argv = ["ledger", "import", str(export), "--config", str(path), "--campaign", "reminder"]
    code, out, err = cli([*argv, "--why", "old log"], None, monkeypatch)
    assert code == 0, err
    assert "Recorded 2 key(s)" in out
    code, out, err = cli(["plan", str(path)], None, monkeypatch)
    assert code == 0, err
    # user2 was never sent; user1 got another title, so on_change sends it again.
    assert "+ trigger           1" in out
    assert "~ retrigger         1" in out
    assert "= unchanged         1" in out
    assert "my.Webinar" in out or "{{my.Webinar}}" in out
    config = load_config(path)
    with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
        (record,) = ledger.get(1234, "user0@example.com/w1")
    assert record.created_at.startswith("2026-11-01T09:00:00")
