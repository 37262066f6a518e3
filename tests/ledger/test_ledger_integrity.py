"""Damage, path tricks and lost logs: a record failing its checksum is an error naming it;
one run lock whatever the path; a ledger saved without its ``-wal`` is refused."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from ledger_testing import item
from testing.project import LEAD_BY_EMAIL, csv_source, write_project

from mktsync.errors import LedgerError, LedgerLocked
from mktsync.ledger import Ledger, open_ledger
from mktsync.ledger.sqlite import SqliteStore

URL = "sqlite:///state/ledger.db"


def _sent(ledger: Ledger, keys: list[str]) -> None:
    with ledger.lock(command="apply"):
        run = ledger.start_run(command="apply")
        ledger.mark_pending(run, [item(k) for k in keys], lead_ids=dict.fromkeys(keys, 7))
        ledger.mark_sent(run, 1234, keys, request_id="r1")
        ledger.finish_run(run, counts={}, exit_status=0)


def test_a_record_changed_behind_the_ledgers_back_is_an_error_naming_it(
    ledger: Ledger, open_: Callable[..., Ledger], ledger_url: str
) -> None:
    _sent(ledger, ["ann@example.com/w1", "bob@example.com/w1"])
    ledger.close()
    # What a flipped byte does: the status reads 'failed', so the item would be sent again.
    if ledger_url.startswith("sqlite"):
        conn = sqlite3.connect(Path(ledger.name))
        with conn:
            conn.execute("UPDATE items SET status = 'failed' WHERE key = 'bob@example.com/w1'")
        conn.close()
    else:
        import psycopg

        with psycopg.connect(ledger_url, autocommit=True) as conn:
            conn.execute("UPDATE items SET status = 'failed' WHERE key = 'bob@example.com/w1'")
    view = open_(create=False)
    message = r"campaign 1234 key 'bob@example.com/w1' fails its checksum; nothing was sent"
    with pytest.raises(LedgerError, match=message):
        view.lookup(1234, ["ann@example.com/w1", "bob@example.com/w1"])
    writer = open_()
    with pytest.raises(LedgerError, match=message), writer.lock(command="apply"):
        pass  # pragma: no cover  (the check runs when the lock is taken)


def test_a_damaged_lead_cache_entry_is_looked_up_again_never_used(
    ledger: Ledger, open_: Callable[..., Ledger], ledger_url: str
) -> None:
    ledger.cache_lead_ids({"ann@example.com": 318592, "bob@example.com": 318593})
    ledger.close()
    sql = "UPDATE lead_cache SET lead_id = 318594 WHERE email = 'bob@example.com'"
    if ledger_url.startswith("sqlite"):
        conn = sqlite3.connect(Path(ledger.name))
        with conn:
            conn.execute(sql)
        conn.close()
    else:
        import psycopg

        with psycopg.connect(ledger_url, autocommit=True) as conn:
            conn.execute(sql)
    view = open_(create=False)
    # Bob's id no longer matches its checksum: left out, so apply asks Marketo again.
    assert view.cached_lead_ids(["ann@example.com", "bob@example.com"]) == {
        "ann@example.com": 318592
    }


def test_damaged_bytes_in_a_key_are_escaped_in_the_message(tmp_path: Path) -> None:
    with open_ledger(URL, tmp_path) as ledger:
        _sent(ledger, ["ann@example.com/w1"])
    db = tmp_path / "state" / "ledger.db"
    data = db.read_bytes()
    damaged = (b"an\xff\x1b[31m" + b"x" * 18)[:18]  # same length: only the bytes change
    db.write_bytes(data.replace(b"ann@example.com/w1", damaged, 1))
    with open_ledger(URL, tmp_path, create=False) as view:
        with pytest.raises(LedgerError) as caught:
            view.verify()
    text = str(caught.value)
    assert "campaign 1234 key 'an\\udcff\\x1b[31mxxxxxxxxxx' fails its checksum" in text
    assert "\x1b" not in text and "\udcff" not in text


@pytest.mark.parametrize("spelling", ["link", "dotdot", "absolute"])
def test_one_run_lock_whatever_the_path(tmp_path: Path, spelling: str) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "state")
    (tmp_path / "state" / "alias.db").symlink_to("ledger.db")
    other = {
        "link": "sqlite:///linked/alias.db",
        "dotdot": "sqlite:///elsewhere/../state/ledger.db",
        "absolute": f"sqlite:///{tmp_path}/state/ledger.db",
    }[spelling]
    with open_ledger(URL, tmp_path) as first, first.lock(command="apply"):
        with open_ledger(other, tmp_path) as second:
            with pytest.raises(LedgerLocked, match="locked by pid"):
                with second.lock(command="apply", timeout=0.2):
                    pass  # pragma: no cover


def test_two_postgresql_urls_to_one_database_share_one_lock(postgres_database: str) -> None:
    other = postgres_database.replace("127.0.0.1", "localhost")
    assert other != postgres_database
    with open_ledger(postgres_database, Path()) as first, first.lock(command="apply"):
        with open_ledger(other, Path()) as second:
            with pytest.raises(LedgerLocked):
                with second.lock(command="apply", timeout=0.2):
                    pass  # pragma: no cover


def test_a_ledger_saved_without_its_wal_mid_run_is_refused(tmp_path: Path) -> None:
    saved = tmp_path / "saved"
    with open_ledger(URL, tmp_path) as ledger:
        _sent(ledger, ["ann@example.com/w1"])
        with ledger.lock(command="apply"):
            run = ledger.start_run(command="apply")
            ledger.mark_pending(
                run, [item("bob@example.com/w1")], lead_ids={"bob@example.com/w1": 8}
            )
            ledger.mark_sent(run, 1234, ["bob@example.com/w1"], request_id="r2")
            # A CI cache taken now (a cancelled job): ledger.db, without ledger.db-wal.
            (saved / "state").mkdir(parents=True)
            shutil.copy(tmp_path / "state" / "ledger.db", saved / "state" / "ledger.db")
            shutil.copytree(
                tmp_path / "state", saved / "both", ignore=shutil.ignore_patterns("*.lock")
            )
            ledger.export_sqlite(saved / "export" / "ledger.db")
    for create in (False, True):
        with pytest.raises(
            LedgerError, match=r"saved without its write-ahead log .*ledger\.db-wal"
        ) as caught:
            open_ledger(URL, saved, create=create)
        # A copy is a new file: no record of the run's writes is beside it.
        assert "no record of that run's last write is beside it" in str(caught.value)
    # With its -wal, or as an export, the same moment opens and knows bob was sent.
    for url in ("sqlite:///both/ledger.db", "sqlite:///export/ledger.db"):
        with open_ledger(url, saved) as copy:
            assert copy.lookup(1234, ["bob@example.com/w1"])["bob@example.com/w1"].status == "sent"
    assert not (saved / "export" / "ledger.db-wal").exists()


def test_a_finished_run_leaves_a_complete_file_alone(tmp_path: Path) -> None:
    with open_ledger(URL, tmp_path) as ledger:
        _sent(ledger, ["ann@example.com/w1"])
        # Still open (so SQLite has not cleaned up): the file alone is already complete.
        (tmp_path / "copy" / "state").mkdir(parents=True)
        shutil.copy(tmp_path / "state" / "ledger.db", tmp_path / "copy" / "state" / "ledger.db")
    with open_ledger(URL, tmp_path / "copy", create=False) as copy:
        assert copy.lookup(1234, ["ann@example.com/w1"])["ann@example.com/w1"].status == "sent"


def _meta(project: Path) -> tuple[int, str | None]:
    # mode=ro: a plain connection would fold the log into the file when it closes.
    uri = (project / "state" / "ledger.db").as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        unclean, guard = conn.execute("SELECT unclean, wal_guard FROM ledger_meta").fetchone()
    finally:
        conn.close()
    return int(unclean), guard


CRASH = """
import os, sys
from pathlib import Path
from mktsync.items import Item
from mktsync.ledger import open_ledger

ledger = open_ledger(sys.argv[1], Path(sys.argv[2]))
with ledger.lock(command="apply", timeout=5):
    run = ledger.start_run(command="apply")
    item = Item(campaign="c", campaign_id=1234, key="ann@example.com/w1", lead_id=7,
                email=None, tokens=(), source="s", row=1)
    ledger.mark_pending(run, [item])
    ledger.mark_sent(run, 1234, [item.key], request_id="r1")
    os._exit(9)  # killed: no clean end
"""


def test_after_a_crash_readers_keep_the_log_and_the_next_run_checks_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = subprocess.run([sys.executable, "-c", CRASH, URL, str(tmp_path)], check=False)
    assert done.returncode == 9
    wal = tmp_path / "state" / "ledger.db-wal"
    assert wal.stat().st_size > 0
    assert _meta(tmp_path)[0] == 1  # unclean, and the guard is set
    assert _meta(tmp_path)[1] is not None
    for _ in range(2):  # plan, twice: closing a reader must not fold the log in early
        with open_ledger(URL, tmp_path, create=False) as view:
            assert view.lookup(1234, ["ann@example.com/w1"])["ann@example.com/w1"].status == "sent"
    assert wal.stat().st_size > 0
    checks: list[str] = []
    real_check = SqliteStore.check

    def spy(store: SqliteStore, *, full: bool = False) -> None:
        checks.append("integrity_check" if full else "quick_check")
        real_check(store, full=full)

    monkeypatch.setattr(SqliteStore, "check", spy)
    with open_ledger(URL, tmp_path) as ledger, ledger.lock(command="apply") as recovered:
        assert recovered == 0
    assert checks == ["integrity_check"]  # the unclean end was checked in full first
    assert _meta(tmp_path) == (0, None)
    assert not wal.exists() or wal.stat().st_size == 0  # the file alone is complete
    with open_ledger(URL, tmp_path, create=False) as view:
        assert view.lookup(1234, ["ann@example.com/w1"])["ann@example.com/w1"].status == "sent"


def _fold(db: Path, tool: str) -> None:
    """One look at the ledger with a plain SQLite program, which on close folds the log
    into the file and removes it, as the sqlite3 shell does."""
    query = "SELECT status, count(*) FROM items GROUP BY status"
    if tool == "sqlite3":
        if shutil.which("sqlite3") is None:
            pytest.skip("no sqlite3 shell on this machine")
        subprocess.run(["sqlite3", str(db), query], check=True, capture_output=True)
    else:
        conn = sqlite3.connect(db)
        conn.execute(query).fetchall()
        conn.close()
    assert not Path(f"{db}-wal").exists()


@pytest.mark.parametrize("tool", ["sqlite3", "python"])
def test_a_log_folded_into_the_file_after_a_kill_is_told_from_a_lost_one(
    tmp_path: Path, tool: str
) -> None:
    done = subprocess.run([sys.executable, "-c", CRASH, URL, str(tmp_path)], check=False)
    assert done.returncode == 9
    db = tmp_path / "state" / "ledger.db"
    _fold(db, tool)
    # The file holds the run's last write (its number is the one the lock file announced):
    # nothing is missing, so plan reads it and the next run recovers it as after a crash.
    with open_ledger(URL, tmp_path, create=False) as view:
        assert view.lookup(1234, ["ann@example.com/w1"])["ann@example.com/w1"].status == "sent"
    with open_ledger(URL, tmp_path) as ledger, ledger.lock(command="apply"):
        pass
    assert _meta(tmp_path) == (0, None)


CRASH_PENDING = CRASH.replace('    ledger.mark_sent(run, 1234, [item.key], request_id="r1")\n', "")


def test_plan_after_a_kill_and_a_look_with_the_sqlite3_shell_shows_the_pending_items(
    tmp_path: Path,
) -> None:
    """The QA case: ``kill -9`` mid-call, ``sqlite3 ledger.db "select ..."``, ``mktsync plan``."""
    write_project(
        tmp_path,
        ledger=URL,
        sources={"regs": csv_source("regs.csv")},
        campaigns={"c": {"campaign_id": 1234, "source": "regs", "lead": LEAD_BY_EMAIL,
                         "key": "{{ row.email }}/w1"}},
        files={"regs.csv": "email\nann@example.com\nbob@example.com\n"},
    )  # fmt: skip
    killed = subprocess.run([sys.executable, "-c", CRASH_PENDING, URL, str(tmp_path)], check=False)
    assert killed.returncode == 9
    _fold(tmp_path / "state" / "ledger.db", "python")
    plan = subprocess.run(
        [sys.executable, "-m", "mktsync", "plan"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert plan.returncode == 0, plan.stderr
    # The key names a person: masked in the text plan as in the comment.
    assert "  ? a***@example.com/w1: outcome of an earlier call unknown" in plan.stdout
    assert "1 lead to trigger, 0 to retrigger in 1 call; 1 item with an unknown outcome" in (
        plan.stdout
    )


@pytest.mark.parametrize("loss", ["wal deleted", "older mktsync"])
def test_a_lost_log_is_still_refused_with_both_possibilities(tmp_path: Path, loss: str) -> None:
    done = subprocess.run([sys.executable, "-c", CRASH, URL, str(tmp_path)], check=False)
    assert done.returncode == 9
    db = tmp_path / "state" / "ledger.db"
    if loss == "wal deleted":
        Path(f"{db}-wal").unlink()  # the run's writes after its start are gone
        told = "that run began write no. 3 and the file ends with no. 0"  # run, pending, sent
    else:
        _fold(db, "python")
        conn = sqlite3.connect(db)  # the guard an older mktsync wrote: a run id alone
        with conn:
            conn.execute("UPDATE ledger_meta SET wal_guard = '9f2c0b'")
        conn.close()
        told = "that run (by an older mktsync) kept no count of its writes"
    for create in (False, True):
        with pytest.raises(LedgerError) as caught:
            open_ledger(URL, tmp_path, create=create)
        text = str(caught.value)
        assert told in text
        assert "saved without its write-ahead log (ledger.db-wal)" in text
        assert "folded the log into it, and nothing is missing" in text
        assert "'refused after a kill' in docs/troubleshooting.md" in text
    assert _meta(tmp_path)[1] is not None  # left untouched


def test_a_page_header_that_hides_a_record_is_caught_before_anything_is_planned(
    tmp_path: Path,
) -> None:
    keys = [f"user{i:02}@example.com/w1" for i in range(60)]
    with open_ledger(URL, tmp_path) as ledger:
        _sent(ledger, keys)
    db = tmp_path / "state" / "ledger.db"
    conn = sqlite3.connect(db)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'items'").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    page = root
    while data[(page - 1) * page_size] == 0x02:  # interior page: follow its right-most child
        start = (page - 1) * page_size
        page = int.from_bytes(data[start + 8 : start + 12], "big")
    start = (page - 1) * page_size
    assert data[start] == 0x0A  # a leaf of the items b-tree (WITHOUT ROWID: an index b-tree)
    cells = int.from_bytes(data[start + 3 : start + 5], "big")
    data[start + 3 : start + 5] = (cells - 1).to_bytes(2, "big")  # one record vanishes
    db.write_bytes(bytes(data))
    with open_ledger(URL, tmp_path, create=False) as view:  # SQLite's own reads miss it
        assert len(view.lookup(1234, keys)) == len(keys) - 1
    with open_ledger(URL, tmp_path) as ledger:
        with pytest.raises(LedgerError, match=r"the ledger is damaged \(quick_check: "):
            with ledger.lock(command="apply"):
                pass  # pragma: no cover
