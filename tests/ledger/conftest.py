"""Ledger fixtures, parametrised over backends.

``ledger_url`` is a fresh, empty ledger URL for each test: an SQLite file in
``tmp_path``, or a new database on the PostgreSQL server named by
``MKTSYNC_TEST_POSTGRES_URL`` (``.ci/postgres.sh`` starts one and prints it).
Without that variable the tests start their own server when this machine has
PostgreSQL's programs, and skip the PostgreSQL half, saying why, only when not.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mktsync.ledger import Ledger, open_ledger

POSTGRES_ENV = "MKTSYNC_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """The server from ``MKTSYNC_TEST_POSTGRES_URL``, or one started for this session.

    Starting one needs ``initdb``/``pg_ctl`` on this machine (``.ci/postgres.sh``, told not
    to install anything); only when that fails too is the PostgreSQL half skipped.
    """
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install 'mktsync[postgres]'")
    url = os.environ.get(POSTGRES_ENV)
    if url:
        yield url
        return
    script = REPO / ".ci" / "postgres.sh"
    env = {**os.environ, "MKTSYNC_PG_NO_INSTALL": "1"}
    started = subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, env=env, check=False
    )
    found = dict(re.findall(r"^export (\w+)=(\S+)$", started.stdout, re.MULTILINE))
    if started.returncode != 0 or POSTGRES_ENV not in found:
        pytest.skip(
            f"{POSTGRES_ENV} is not set and no PostgreSQL server could be started here "
            f"({started.stderr.strip().splitlines()[-1:] or 'no output'}); "
            'run `eval "$(bash .ci/postgres.sh)"` to start one'
        )
    try:
        yield found[POSTGRES_ENV]
    finally:
        subprocess.run(
            ["bash", str(script), "stop", found["MKTSYNC_TEST_POSTGRES_DIR"]],
            capture_output=True,
            check=False,
        )


@pytest.fixture
def postgres_database(postgres_admin_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    name = f"mktsync_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = postgres_admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return "sqlite:///state/ledger.db"  # relative to tmp_path, the tests' base_dir
    return str(request.getfixturevalue("postgres_database"))


@pytest.fixture
def open_(ledger_url: str, tmp_path: Path) -> Iterator[Callable[..., Ledger]]:
    """Open the test's ledger again (as another run would); every one is closed at teardown."""
    opened: list[Ledger] = []

    def opener(**kwargs: Any) -> Ledger:
        ledger = open_ledger(ledger_url, tmp_path, **kwargs)
        opened.append(ledger)
        return ledger

    yield opener
    for ledger in opened:
        ledger.close()


@pytest.fixture
def ledger(open_: Callable[..., Ledger]) -> Ledger:
    return open_()
