"""What only the PostgreSQL store does: migration, empty views, clashes, no password leaks."""

from __future__ import annotations

from pathlib import Path

import pytest
from ledger_testing import item

from mktsync.config.dburl import redact
from mktsync.errors import LedgerError
from mktsync.ledger import open_ledger
from mktsync.ledger.schema import LATEST, MIGRATIONS

psycopg = pytest.importorskip("psycopg", reason="pip install 'mktsync[postgres]'")


def _execute(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row[0] for row in rows}


def test_an_old_ledger_is_migrated_forward(postgres_database: str, tmp_path: Path) -> None:
    _execute(
        postgres_database,
        *MIGRATIONS[0].postgresql,
        "INSERT INTO ledger_meta VALUES (1, 1, 'abc', 4)",
        "INSERT INTO items (campaign_id, key, lead_id, run_id, lead, tokens, token_hash, status,"
        " attempts, created_at, updated_at) VALUES (1234, 'ann@example.com/w1', 318592, 1,"
        " 'ann@example.com', '[]', '7ebb3c7c2a87b1a2f8a7ed729ecb040d', 'sent', 1, 'then', 'then')",
    )
    with pytest.raises(LedgerError, match=r"version 1\) is older .* open it once for writing"):
        open_ledger(postgres_database, tmp_path, create=False)
    with open_ledger(postgres_database, tmp_path) as ledger:
        assert ledger.lookup(1234, ["ann@example.com/w1"])["ann@example.com/w1"].lead_id == 318592
        assert ledger.fingerprint() == "abc:4"
        ledger.cache_lead_ids({"ann@example.com": 318592})  # lead_cache arrived in v2
    with psycopg.connect(postgres_database) as conn:
        assert conn.execute("SELECT schema_version FROM ledger_meta").fetchone() == (LATEST,)


def test_no_ledger_yet_read_only_is_an_empty_view_and_creates_nothing(
    postgres_database: str, tmp_path: Path
) -> None:
    with open_ledger(postgres_database, tmp_path, create=False) as view:
        assert view.read_only
        assert view.lookup(1234, ["a@example.com/w1"]) == {}
        assert view.fingerprint() == "empty"
    assert _tables(postgres_database) == set()
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_open_cannot_write_even_by_mistake(
    postgres_database: str, tmp_path: Path
) -> None:
    with open_ledger(postgres_database, tmp_path) as ledger, ledger.lock(command="apply"):
        run = ledger.start_run(command="apply")
        ledger.mark_pending(run, [item("a@example.com/w1")])
    with open_ledger(postgres_database, tmp_path, create=False) as view:
        with pytest.raises(LedgerError, match="read-only"):
            view.cache_lead_ids({"a@example.com": 1})
        assert view.status_counts() == [(1234, "pending", 1)]


def test_tables_of_another_application_are_not_taken_for_a_ledger(
    postgres_database: str, tmp_path: Path
) -> None:
    _execute(postgres_database, "CREATE TABLE items (sku TEXT)")
    with pytest.raises(LedgerError, match="tables items exist but this is not a mktsync ledger"):
        open_ledger(postgres_database, tmp_path)
    assert _tables(postgres_database) == {"items"}


def test_the_password_never_shows(postgres_admin_url: str, tmp_path: Path) -> None:
    assert redact("postgresql://ci:s3cret@db.internal:5432/mk?sslmode=require") == (
        "postgresql://ci:***@db.internal:5432/mk"
    )
    host_port = postgres_admin_url.split("@", 1)[1].split("/", 1)[0]
    url = f"postgresql://nobody:s3cret@{host_port}/no_such_database"
    with pytest.raises(LedgerError) as caught:
        open_ledger(url, tmp_path)
    assert "s3cret" not in str(caught.value)
    assert "no_such_database" in str(caught.value)
