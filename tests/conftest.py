"""Guards for the whole suite: no real credentials, no network beyond loopback."""

from __future__ import annotations

import itertools
import os
import re
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
POSTGRES_ENV = "MKTSYNC_TEST_POSTGRES_URL"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test may see a developer's real Marketo credentials or write to a CI step summary,
    and none gets GitHub annotations unless it asks (the suite may run in GitHub Actions)."""
    for name in list(os.environ):
        if name.startswith("MARKETO_") or name in ("GITHUB_STEP_SUMMARY", "GITHUB_ACTIONS"):
            monkeypatch.delenv(name)
    yield


_TESTS = itertools.count(1)


@pytest.fixture(scope="session")
def runtime_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runtime")


@pytest.fixture(autouse=True)
def private_runtime_dir(runtime_base: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test is a machine of its own for the shared limits of SQLite-ledger runs
    (``marketo.slots_file``): a test's calls never wait for an earlier test's window on an
    emulator they share, nothing lands in the developer's own folder, and a test's own
    processes (inheriting the variable) share it, as jobs on one runner do."""
    folder = runtime_base / f"t{next(_TESTS)}"  # made by mktsync when a run needs it
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse connections to anything but this machine: tests talk to the emulator only."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if host not in ("127.0.0.1", "::1", "localhost") and not str(host).startswith("127."):
                raise OSError(f"test tried to reach {host!r}: only loopback is allowed")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


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
