"""What only the SQLite store does: files, creation, migration, damage, URLs."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from ledger_testing import item

from mktsync.errors import LedgerError
from mktsync.ledger import open_ledger
from mktsync.ledger.schema import LATEST, MIGRATIONS

URL = "sqlite:///state/ledger.db"


def _fill(base: Path, n: int = 300) -> Path:
    with open_ledger(URL, base) as ledger, ledger.lock(command="apply", timeout=5):
        run = ledger.start_run(command="apply")
        ledger.mark_pending(run, [item(f"lead{i}@example.com/w1") for i in range(n)])
        ledger.finish_run(run, counts={}, exit_status=0)
    return base / "state" / "ledger.db"


def test_first_use_creates_the_file_and_its_folder_atomically(tmp_path: Path) -> None:
    with open_ledger(URL, tmp_path) as ledger:
        assert ledger.fingerprint() == "empty"
    db = tmp_path / "state" / "ledger.db"
    assert sorted(p.name for p in db.parent.iterdir()) == ["ledger.db"], "no temp files left"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT schema_version FROM ledger_meta").fetchone() == (LATEST,)
    conn.close()


def test_absolute_and_memory_urls(tmp_path: Path) -> None:
    absolute = tmp_path / "abs" / "l.db"
    with open_ledger(f"sqlite:///{absolute}", Path("/nonexistent")) as ledger:
        assert ledger.name == str(absolute)
    assert absolute.exists()
    with open_ledger("sqlite:///:memory:", tmp_path) as memory:
        with memory.lock(command="apply"):
            run = memory.start_run(command="apply")
            memory.mark_pending(run, [item("a@example.com/w1")])
        assert memory.status_counts() == [(1234, "pending", 1)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["abs"]


@pytest.mark.parametrize("url", ["sqlite:/x.db", "sqlite://", "mysql://h/db", "ledger.db"])
def test_unsupported_urls_are_errors(url: str, tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="sqlite:///"):
        open_ledger(url, tmp_path)


def test_a_missing_file_read_only_is_an_empty_view_and_creates_nothing(tmp_path: Path) -> None:
    with open_ledger(URL, tmp_path, create=False) as view:
        assert view.read_only
        assert view.lookup(1234, ["a@example.com/w1"]) == {}
        assert view.status_counts() == []
        assert view.fingerprint() == "empty"
        with pytest.raises(LedgerError, match="read-only"):
            view.cache_lead_ids({"a@example.com": 1})
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_open_leaves_no_files_behind(tmp_path: Path) -> None:
    db = _fill(tmp_path)
    before = sorted(p.name for p in db.parent.iterdir())
    with open_ledger(URL, tmp_path, create=False) as view:
        assert len(view.lookup(1234, ["lead1@example.com/w1"])) == 1
    assert sorted(p.name for p in db.parent.iterdir()) == before


def _make_v1(db: Path) -> None:
    """A version-1 ledger as an older mktsync left it, built with plain sqlite3."""
    db.parent.mkdir(parents=True)
    conn = sqlite3.connect(db)
    with conn:
        for statement in MIGRATIONS[0].sqlite:
            conn.execute(statement)
        conn.execute("INSERT INTO ledger_meta VALUES (1, 1, 'abc', 4)")
        conn.execute(
            "INSERT INTO items VALUES (1234, 'ann@example.com/w1', 318592, 1, 'ann@example.com',"
            " '[[\"{{my.T}}\",\"x\"]]', '2025e13f8bc262787530893c6a4f1cbc', 'sent', 1, 'r1', NULL, NULL,"
            " '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')"
        )
    conn.close()


def test_an_old_ledger_is_migrated_forward(tmp_path: Path) -> None:
    db = tmp_path / "state" / "ledger.db"
    _make_v1(db)
    with open_ledger(URL, tmp_path) as ledger:
        rec = ledger.lookup(1234, ["ann@example.com/w1"])["ann@example.com/w1"]
        assert (rec.status, rec.lead_id, rec.tokens) == ("sent", 318592, (("{{my.T}}", "x"),))
        assert ledger.fingerprint() == "abc:4"
        ledger.cache_lead_ids({"ann@example.com": 318592})  # lead_cache arrived in v2
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT schema_version FROM ledger_meta").fetchone() == (LATEST,)
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "items_status" in indexes
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


def test_an_old_ledger_opened_read_only_is_migrated_in_memory_only(tmp_path: Path) -> None:
    db = tmp_path / "state" / "ledger.db"
    _make_v1(db)
    before = db.read_bytes()
    with open_ledger(URL, tmp_path, create=False) as view:
        assert view.lookup(1234, ["ann@example.com/w1"])["ann@example.com/w1"].status == "sent"
        assert view.cached_lead_ids(["ann@example.com"]) == {}
    assert db.read_bytes() == before


def test_a_ledger_from_a_newer_mktsync_is_refused_untouched(tmp_path: Path) -> None:
    db = _fill(tmp_path)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE ledger_meta SET schema_version = ?", (LATEST + 1,))
    conn.close()
    before = db.read_bytes()
    with pytest.raises(LedgerError, match=rf"version {LATEST + 1} is newer.*upgrade mktsync"):
        open_ledger(URL, tmp_path)
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the ledger file is empty"),
        (b"id,email\n1,a@example.com\n" * 100, "not an SQLite database"),
        (b"SQLite format 3\x00" + b"\xff" * 5000, "damaged"),
    ],
    ids=["empty", "csv", "garbage-after-header"],
)
def test_a_file_that_is_not_a_ledger_is_an_error_and_left_untouched(
    tmp_path: Path, content: bytes, message: str
) -> None:
    db = tmp_path / "state" / "ledger.db"
    db.parent.mkdir()
    db.write_bytes(content)
    for create in (True, False):
        with pytest.raises(LedgerError, match=message) as caught:
            open_ledger(URL, tmp_path, create=create)
        assert str(db) in str(caught.value)
    assert db.read_bytes() == content
    assert sorted(p.name for p in db.parent.iterdir()) == ["ledger.db"]


def test_another_sqlite_database_is_not_taken_for_a_ledger(tmp_path: Path) -> None:
    db = tmp_path / "state" / "ledger.db"
    db.parent.mkdir()
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.close()
    before = db.read_bytes()
    with pytest.raises(LedgerError, match=r"not a mktsync ledger \(it has tables customers\)"):
        open_ledger(URL, tmp_path)
    assert db.read_bytes() == before


def test_a_damaged_ledger_gives_a_ledger_error_naming_the_file(tmp_path: Path) -> None:
    db = _fill(tmp_path, n=3000)
    data = bytearray(db.read_bytes())
    page = 4096
    assert len(data) > 8 * page
    for offset in range(2 * page, len(data), page):  # every page but the schema's
        data[offset : offset + 100] = b"\x07" * 100
    db.write_bytes(bytes(data))
    with (
        pytest.raises(LedgerError, match="damaged") as caught,
        open_ledger(URL, tmp_path) as ledger,
    ):
        list(ledger.iter_records())
    assert str(db) in str(caught.value)
    assert db.read_bytes() == bytes(data)


def test_an_interrupted_creation_leaves_no_half_made_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mktsync.ledger.schema import migrate

    def interrupted(*args: Any, **kwargs: Any) -> int:
        migrate(*args, **kwargs)
        raise KeyboardInterrupt  # ^C after the tables exist, before the commit

    monkeypatch.setattr("mktsync.ledger.sqlite_open.migrate", interrupted)
    with pytest.raises(KeyboardInterrupt):
        open_ledger(URL, tmp_path)
    assert list((tmp_path / "state").iterdir()) == []
    monkeypatch.undo()
    with open_ledger(URL, tmp_path) as ledger:  # the next run starts cleanly
        assert ledger.fingerprint() == "empty"
