"""libpq adds nothing to a URL: no $PGPASSWORD, .pgpass, service file or $PGHOST.

The file can no longer write a host; the URL comes from the workflow's variable.  But
the file chooses *which* variable, and libpq, left alone, would add credentials the URL
does not carry: ``$PGPASSWORD``, a password file, a service file's password.  A fake
PostgreSQL server on loopback asks for a clear-text password and keeps every byte it
is sent.  For each credential source, a bare ``psycopg.connect(url)`` (the control)
sends the planted secret, which shows the trap works; ``mktsync plan`` sends nothing.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import Listener, base_env, listening, mktsync, record_sent

pytest.importorskip("psycopg")

SECRET = "LIBPQ-FALLBACK-SECRET-{}"
CONFIG = """\
version: 1
ledger: ${{MKTSYNC_LEDGER_URL}}
sources:
  people: {source}
campaigns:
  welcome:
    campaign_id: 1
    source: people
    lead: {{email: "{{{{ row.email }}}}"}}
"""


def _setup(tmp_path: Path, kind: str) -> tuple[dict[str, str], str]:
    """The environment (and files) giving libpq a password by ``kind``; the password."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    secret = SECRET.format(kind)
    if kind == "PGPASSWORD":
        return {"PGPASSWORD": secret}, secret
    if kind == "PGPASSFILE":
        passfile = tmp_path / "pgpass"
        passfile.write_text(f"*:*:*:*:{secret}\n", encoding="utf-8")
        passfile.chmod(0o600)
        return {"PGPASSFILE": str(passfile)}, secret
    if kind == "~/.pgpass":
        passfile = home / ".pgpass"
        passfile.write_text(f"*:*:*:*:{secret}\n", encoding="utf-8")
        passfile.chmod(0o600)
        return {}, secret
    assert kind == "PGSERVICE"
    service = tmp_path / "pg_service.conf"
    service.write_text(f"[ledger]\npassword={secret}\n", encoding="utf-8")
    return {"PGSERVICE": "ledger", "PGSERVICEFILE": str(service)}, secret


KINDS = ["PGPASSWORD", "PGPASSFILE", "~/.pgpass", "PGSERVICE"]


@pytest.fixture(scope="module")
def fake_postgres() -> Iterator[Listener]:
    with listening(postgres=True) as server:
        yield server


def _sent(server: Listener, before: int) -> bytes:
    server.settle()
    return b"".join(seen.received for seen in server.seen[before:])


def _answers(server: Listener, before: int) -> bytes:
    """What the clients sent when asked for a password (b"" when they had none)."""
    server.settle()
    return b"".join(seen.answer for seen in server.seen[before:])


@pytest.mark.parametrize("kind", KINDS)
def test_the_control_libpq_alone_sends_the_planted_password(
    tmp_path: Path, fake_postgres: Listener, kind: str
) -> None:
    variables, secret = _setup(tmp_path, kind)
    url = f"postgresql://reader@127.0.0.1:{fake_postgres.port}/ledger"
    env = base_env(tmp_path / "home", **variables)
    before = len(fake_postgres.seen)
    subprocess.run(
        [sys.executable, "-c", f"import psycopg; psycopg.connect({url!r}, connect_timeout=5)"],
        env=env,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert secret.encode() in _answers(fake_postgres, before)


@pytest.mark.parametrize("untrusted", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_the_ledger_connection_offers_no_password_but_the_urls(
    tmp_path: Path, fake_postgres: Listener, kind: str, untrusted: bool
) -> None:
    variables, secret = _setup(tmp_path, kind)
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "data" / "people.csv").write_text("email\nada@example.com\n", encoding="utf-8")
    (repo / "campaigns.yaml").write_text(
        CONFIG.format(source="{type: csv, path: data/people.csv}"), encoding="utf-8"
    )
    url = f"postgresql://reader@127.0.0.1:{fake_postgres.port}/ledger"  # the workflow's
    env = base_env(tmp_path / "home", MKTSYNC_LEDGER_URL=url, **variables)
    before = len(fake_postgres.seen)
    plan = mktsync("plan", *(["--untrusted"] if untrusted else []), cwd=repo, env=env)
    sent = _sent(fake_postgres, before)
    assert len(fake_postgres.seen) > before, "the workflow's host was asked (the trap works)"
    assert secret.encode() not in sent
    assert _answers(fake_postgres, before) == b"", "no password message at all"
    assert plan.returncode == 1
    assert "no password supplied" in plan.stderr
    assert secret not in plan.stdout + plan.stderr


def test_a_sql_source_offers_no_password_but_the_urls(
    tmp_path: Path, fake_postgres: Listener
) -> None:
    pytest.importorskip("sqlalchemy")
    variables, secret = _setup(tmp_path, "PGPASSWORD")
    repo = tmp_path / "repo"
    repo.mkdir()
    source = '{type: sql, url: "${MKTSYNC_WAREHOUSE_URL}", query: "SELECT email FROM leads"}'
    (repo / "campaigns.yaml").write_text(CONFIG.format(source=source), encoding="utf-8")
    url = f"postgresql+psycopg://reader@127.0.0.1:{fake_postgres.port}/warehouse"
    env = base_env(
        tmp_path / "home",
        MKTSYNC_WAREHOUSE_URL=url,
        MKTSYNC_LEDGER_URL="sqlite:///.mktsync/ledger.db",
        **variables,
    )
    before = len(fake_postgres.seen)
    plan = mktsync("plan", cwd=repo, env=env)
    assert len(fake_postgres.seen) > before
    assert secret.encode() not in _sent(fake_postgres, before)
    assert _answers(fake_postgres, before) == b""
    assert plan.returncode == 1
    assert secret not in plan.stdout + plan.stderr


def test_the_documented_postgresql_ledger_still_works_beside_hostile_pg_variables(
    tmp_path: Path, postgres_database: str
) -> None:
    """pull-request.yml: the secret MKTSYNC_LEDGER_READ_URL as MKTSYNC_LEDGER_URL, read
    with --untrusted; PGHOST, PGPORT, PGUSER, PGDATABASE point elsewhere and change nothing."""
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "data" / "people.csv").write_text("email\nada@example.com\n", encoding="utf-8")
    (repo / "campaigns.yaml").write_text(
        CONFIG.format(source="{type: csv, path: data/people.csv}"), encoding="utf-8"
    )
    (tmp_path / "home").mkdir()
    record_sent(repo / "campaigns.yaml", postgres_database)
    with listening() as elsewhere:
        env = base_env(
            tmp_path / "home",
            MKTSYNC_LEDGER_URL=postgres_database,
            PGHOST="127.0.0.1",
            PGPORT=str(elsewhere.port),
            PGUSER="intruder",
            PGDATABASE="elsewhere",
            PGPASSWORD="never-sent",
        )
        plan = mktsync("plan", "--untrusted", cwd=repo, env=env)
        assert elsewhere.settle() == 0
    assert plan.returncode == 0, plan.stderr
    assert "nothing to do (1 unchanged)" in plan.stdout
