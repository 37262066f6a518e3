"""Entries that send to one Marketo campaign id share its keys (the ledger's), and a source
read twice to find duplicates must not change in between (QA of issue 16: F1, F2)."""

from __future__ import annotations

import io
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

import mktsync.render.keys
from mktsync.cli import main

TWO_ENTRIES = """version: 1
ledger: sqlite:///ledger.db
sources:
  p: {type: inline, rows: [{email: a@x.com, k: xk1}, {email: b@x.com, k: k1}]}
  q: {type: inline, rows: [{email: c@x.com, k: k1}, {email: d@x.com, k: k2}]}
campaigns:
  first:
    campaign_id: 100
    source: p
    lead: {email: "{{ row.email }}"}
    key: "{{ row.k }}"
    tokens: {my.T: "t"}
  second:
    campaign_id: 100
    source: q
    lead: {email: "{{ row.email }}"}
    key: "x{{ row.k }}"
    tokens: {my.T: "t"}
"""


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(argv, stdout=out, stderr=err), out.getvalue(), err.getvalue()


def test_a_key_an_earlier_entry_of_the_campaign_id_used_is_a_duplicate(tmp_path: Path) -> None:
    """'second' renders xk1, which 'first' already used for campaign 100: one of the two
    leads would have vanished from the shared call.  The later row is invalid, loudly."""
    config = tmp_path / "campaigns.yaml"
    config.write_text(TWO_ENTRIES, encoding="utf-8")
    code, out, err = run(["plan", str(config)])
    assert code == 1
    assert "q row 5: duplicate key, first seen at row 4 of campaign 'first'" in err
    config.write_text(TWO_ENTRIES.replace('key: "x{{', 'max_invalid: 1\n    key: "x{{'))
    code, out, err = run(["apply", "--emulator", "--yes", str(config)])
    assert code == 0, err
    assert "The emulator received 1 trigger call for 3 leads" in err
    assert out.endswith(
        "Not everything was sent: 3 leads sent in 1 call, 1 invalid row;"
        " fix the invalid rows and run again.\n"
    )


def sql_project(tmp_path: Path) -> Path:
    """40 rows from SQLite, row 30 repeating row 5's key; the key log exact for 3 keys."""
    with closing(sqlite3.connect(tmp_path / "src.db")) as conn:
        conn.execute("CREATE TABLE t (n INTEGER, email TEXT, k TEXT)")
        rows = [(n, f"u{n}@ex.com", "k5" if n == 30 else f"k{n}") for n in range(40)]
        conn.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
        conn.commit()
    config = tmp_path / "campaigns.yaml"
    config.write_text(
        "version: 1\nledger: sqlite:///ledger.db\nsources:\n"
        '  s: {type: sql, url: "sqlite:///src.db", query: "SELECT email, k FROM t ORDER BY n"}\n'
        "campaigns:\n  c:\n    campaign_id: 100\n    source: s\n    max_invalid: 100\n"
        '    lead: {email: "{{ row.email }}"}\n    key: "{{ row.k }}"\n    tokens: {my.T: "t"}\n'
    )
    return config


def test_a_source_changed_between_its_two_reads_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = sql_project(tmp_path)
    monkeypatch.setattr(mktsync.render.keys, "KEYS_HELD", 3)
    original = mktsync.render.keys.KeyLog.repeats

    def repeats(self: mktsync.render.keys.KeyLog) -> frozenset[int]:
        found = original(self)
        with closing(sqlite3.connect(tmp_path / "src.db")) as writer:  # between the reads
            writer.execute("UPDATE t SET k = 'k20' WHERE n = 35")
            writer.commit()
        return found

    monkeypatch.setattr(mktsync.render.keys.KeyLog, "repeats", repeats)
    code, out, err = run(["plan", "--format", "json", str(config)])
    assert code == 1 and not out
    assert "a source changed while it was read" in err and "plan again" in err


def test_the_same_source_read_twice_plans_its_duplicates_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = sql_project(tmp_path)
    monkeypatch.setattr(mktsync.render.keys, "KEYS_HELD", 3)
    code, out, err = run(["plan", "--format", "json", str(config)])
    assert code == 0, err
    (campaign,) = json.loads(out)["campaigns"]
    assert [(i["row"], i["reason"]) for i in campaign["invalid"]] == [
        (31, "duplicate key, first seen at row 6")
    ]
