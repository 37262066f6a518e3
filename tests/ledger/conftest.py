"""Ledger fixtures, parametrised over backends.

``ledger_url`` is a fresh, empty ledger URL for each test: an SQLite file in
``tmp_path``, or a new database on the PostgreSQL server named by
``MKTSYNC_TEST_POSTGRES_URL`` (``.ci/postgres.sh`` starts one and prints it).
The PostgreSQL fixtures live in ``tests/conftest.py`` (apply's tests use them too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mktsync.ledger import Ledger, open_ledger

BACKENDS = ["sqlite", "postgresql"]


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
