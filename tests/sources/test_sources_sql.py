from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sources_testing import MakeSpec

from mktsync.config.dburl import redact
from mktsync.config.model import EnvString, Position, SourceSpec
from mktsync.errors import EnvironmentVariableError, SourceError
from mktsync.sources import iter_rows

QUERY_AT = Position(file="campaigns.yaml", line=27, column=12)
URL_AT = Position(file="campaigns.yaml", line=26, column=10)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "app.db"
    path.parent.mkdir()
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE leads (id INTEGER, email TEXT, score REAL, note TEXT)")
        db.executemany(
            "INSERT INTO leads VALUES (?, ?, ?, ?)",
            [(i, f"u{i}@example.com", i / 2, None if i % 2 else "Zoë 🚀") for i in range(1, 6)],
        )
    return path


def sql_spec(make_spec: MakeSpec, url: str, query: str, **options: Any) -> SourceSpec:
    return make_spec(
        "sql",
        url=EnvString(raw=url, field="sources.registrations.url", position=URL_AT),
        query=query,
        positions={"query": QUERY_AT, "url": URL_AT},
        **options,
    )


def test_relative_sqlite_url_in_chunks(make_spec: MakeSpec, database: Path) -> None:
    spec = sql_spec(
        make_spec, "sqlite:///data/app.db", "SELECT * FROM leads ORDER BY id", chunk_size=2
    )
    got = list(iter_rows(spec))
    assert [n for n, _ in got] == [1, 2, 3, 4, 5]
    assert got[1] == (2, {"id": 2, "email": "u2@example.com", "score": 1.0, "note": "Zoë 🚀"})
    assert got[0][1]["note"] is None


def test_url_from_the_environment(
    make_spec: MakeSpec, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MKTSYNC_LEADS_DB", "sqlite:///data/app.db")
    spec = sql_spec(make_spec, "${MKTSYNC_LEADS_DB}", "SELECT email FROM leads WHERE id = 3")
    assert list(iter_rows(spec)) == [(1, {"email": "u3@example.com"})]


def test_absolute_sqlite_path_from_the_environment_is_refused(
    make_spec: MakeSpec, database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MKTSYNC_LEADS_DB", f"sqlite:///{database}")  # sqlite:////abs/path
    spec = sql_spec(make_spec, "${MKTSYNC_LEADS_DB}", "SELECT email FROM leads")
    with pytest.raises(SourceError, match="is an absolute path"):
        list(iter_rows(spec))


def test_url_is_resolved_only_when_the_query_runs(make_spec: MakeSpec) -> None:
    spec = sql_spec(make_spec, "${MKTSYNC_LEADS_DB_UNSET}", "SELECT 1")
    rows = iter_rows(spec)  # building the iterator needs no secret
    with pytest.raises(EnvironmentVariableError, match="MKTSYNC_LEADS_DB_UNSET is not set"):
        next(rows)


def test_zero_rows(make_spec: MakeSpec, database: Path) -> None:
    spec = sql_spec(make_spec, "sqlite:///data/app.db", "SELECT * FROM leads WHERE id > 99")
    assert list(iter_rows(spec)) == []


def test_sql_error_is_located_at_the_query(make_spec: MakeSpec, database: Path) -> None:
    spec = sql_spec(make_spec, "sqlite:///data/app.db", "SELECT nope FROM leads")
    with pytest.raises(SourceError) as info:
        list(iter_rows(spec))
    assert str(info.value) == (
        "registrations: campaigns.yaml:27:12: query failed: no such column: nope"
    )


def test_database_is_opened_read_only(make_spec: MakeSpec, database: Path) -> None:
    spec = sql_spec(make_spec, "sqlite:///data/app.db", "DELETE FROM leads")
    with pytest.raises(SourceError, match=r"may only read \(SELECT\); DELETE is not allowed"):
        list(iter_rows(spec))
    with closing(sqlite3.connect(database)) as db:
        assert db.execute("SELECT count(*) FROM leads").fetchone() == (5,)


def test_missing_database_file(make_spec: MakeSpec) -> None:
    spec = sql_spec(make_spec, "sqlite:///data/missing.db", "SELECT 1")
    with pytest.raises(SourceError) as info:
        list(iter_rows(spec))
    assert str(info.value) == (
        "registrations: campaigns.yaml:26:10: database file not found for 'sqlite:///data/missing.db'"
    )
    assert not (spec.base_dir / "data" / "missing.db").exists()  # not created either


def test_duplicate_result_columns(make_spec: MakeSpec, database: Path) -> None:
    spec = sql_spec(make_spec, "sqlite:///data/app.db", "SELECT id, id FROM leads")
    with pytest.raises(SourceError, match="column 'id' appears twice in the result"):
        list(iter_rows(spec))


def test_abandoned_iteration_closes_the_connection(make_spec: MakeSpec, database: Path) -> None:
    spec = sql_spec(make_spec, "sqlite:///data/app.db", "SELECT * FROM leads", chunk_size=1)
    rows: Iterator[tuple[int, dict[str, Any]]] = iter_rows(spec)
    next(rows)
    # An open reader holds a shared lock: an exclusive one is refused while it reads ...
    with closing(sqlite3.connect(database, timeout=0)) as db:
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            db.execute("BEGIN EXCLUSIVE")
    rows.close()  # type: ignore[attr-defined]
    # ... and granted once the abandoned iteration has closed its connection.
    with closing(sqlite3.connect(database, timeout=0)) as db:
        db.execute("BEGIN EXCLUSIVE")
        assert db.in_transaction
        db.rollback()


def test_other_urls_need_the_sql_extra(
    make_spec: MakeSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test extra installs SQLAlchemy (for the libpq tests); without the sql extra,
    # ``import sqlalchemy`` fails as a None entry in sys.modules makes it fail here.
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    monkeypatch.setenv("MKTSYNC_PG_URL", "postgresql://app:s3cret@db.internal/crm")
    spec = sql_spec(make_spec, "${MKTSYNC_PG_URL}", "SELECT 1")
    with pytest.raises(SourceError) as info:
        list(iter_rows(spec))
    assert "pip install 'mktsync[sql]'" in str(info.value)
    assert "s3cret" not in str(info.value)
    assert str(info.value).startswith("registrations: campaigns.yaml:26:10: postgresql URLs need")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:s3cret@db/x", "postgresql://app:***@db/x"),
        # One rule for every database URL (config.dburl.redact): the query string is left
        # out, since it can carry credentials too (the ledger's messages always did so).
        (
            "postgresql+psycopg://app:p%40ss:w@db:5432/x?sslmode=require",
            "postgresql+psycopg://app:***@db:5432/x",
        ),
        ("postgresql://app@db/x?password=s3cret", "postgresql://app@db/x"),
        ("postgresql://app@db/x?sslmode=require&sslpassword=s3cret", "postgresql://app@db/x"),
        ("postgresql://app@db/x", "postgresql://app@db/x"),
        ("sqlite:///data/app.db", "sqlite:///data/app.db"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact(url) == shown
