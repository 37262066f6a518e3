"""No host from the file, ever: every database URL trick is refused, and nothing connects.

A listener on loopback (127.0.0.1, and ::1 on the same port when the machine has it)
stands where each attack points.  Every config runs as real ``python -m mktsync``
processes — ``validate`` and ``plan``, with and without ``--untrusted``, with and
without ``--env`` — whose environment also points libpq's own variables (``PGHOST``,
``PGPORT``, ``PGPASSWORD``) at the listener, so a connection made by any road is
counted.  Each run must refuse the config with a located message, and the listener must
see no connection at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from loopback import Listener, base_env, listening, mktsync

LITERAL = "a database URL other than sqlite:/// must come from the environment"
DEFAULTED = "the default of ${MKTSYNC_LEDGER_URL:-...} may only be a sqlite:/// file"
EMBEDDED = "a ${VAR} must be the whole value"
UNTRUSTED_SQL = "an untrusted run (--untrusted) reads no SQL source"
TRAP_PASSWORD = "PGPASSWORD-TRAP-61d2"

# name -> (URL with {port}, the variable MKTSYNC_LEDGER_URL's value or None: unset, message)
ATTACKS: dict[str, tuple[str, str | None, str]] = {
    "literal host": ("postgresql://127.0.0.1:{port}/x", None, LITERAL),
    "postgres:// alias": ("postgres://127.0.0.1:{port}/x", None, LITERAL),
    "localhost": ("postgresql://localhost:{port}/x", None, LITERAL),
    "percent-encoded host": ("postgresql://%31%32%37.0.0.1:{port}/x", None, LITERAL),
    "IPv6 literal": ("postgresql://[::1]:{port}/x", None, LITERAL),
    "user-info port trick": ("postgresql://127.0.0.1:1@127.0.0.1:{port}/x", None, LITERAL),
    "user and password": ("postgresql://user:pw@127.0.0.1:{port}/x", None, LITERAL),
    "host= in the query": ("postgresql:///x?host=127.0.0.1&port={port}", None, LITERAL),
    "libpq keywords": ("host=127.0.0.1 port={port} dbname=x", None, LITERAL),
    "sqlite:// with a host": ("sqlite://127.0.0.1:{port}/x", None, LITERAL),
    "variable then a host": (
        "${{MKTSYNC_LEDGER_URL}}@127.0.0.1:{port}/x",
        "postgresql://u",
        EMBEDDED,
    ),
    "default host, variable unset": (
        "${{MKTSYNC_LEDGER_URL:-postgresql://127.0.0.1:{port}/x}}",
        None,
        DEFAULTED,
    ),
    "default host, variable empty": (
        "${{MKTSYNC_LEDGER_URL:-postgresql://127.0.0.1:{port}/x}}",
        "",
        DEFAULTED,
    ),
    "default host= query, variable empty": (
        "${{MKTSYNC_LEDGER_URL:-postgresql:///x?host=127.0.0.1&port={port}}}",
        "",
        DEFAULTED,
    ),
}

# where the URL is written -> the field a refusal names
PLACES = {
    "ledger": "ledger",
    "environment": "environments.production.ledger",
    "sql": "sources.people.url",
}


def config_text(url: str, *places: str) -> str:
    """A valid config but for ``url``, written at each of ``places``."""
    quoted = json.dumps(url)  # a JSON string is a YAML double-quoted scalar
    ledger = quoted if "ledger" in places else "sqlite:///.mktsync/ledger.db"
    production = quoted if "environment" in places else "sqlite:///.mktsync/production.db"
    source = (
        f'{{type: sql, url: {quoted}, query: "SELECT email FROM leads"}}'
        if "sql" in places
        else "{type: csv, path: data/people.csv}"
    )
    return f"""\
version: 1
marketo:
  base_url: ${{MARKETO_BASE_URL}}
  client_id: ${{MARKETO_CLIENT_ID}}
  client_secret: ${{MARKETO_CLIENT_SECRET}}
ledger: {ledger}
environments:
  production:
    ledger: {production}
sources:
  people: {source}
campaigns:
  welcome:
    campaign_id: 1
    source: people
    lead: {{email: "{{{{ row.email }}}}"}}
"""


# (the config: the URL at these places, the command, the fields its refusal must name).
# validate reports every problem, so one file with the URL in all three places shows each
# refused on its own line; plan runs once per place, so each is the only thing wrong.
ALL = tuple(PLACES)
RUNS: list[tuple[tuple[str, ...], list[str], tuple[str, ...]]] = [
    (ALL, ["validate", "--untrusted"], ALL),
    (ALL, ["validate"], ALL),  # the rule holds in trusted runs too
    (("ledger",), ["plan", "--untrusted"], ("ledger",)),
    (("environment",), ["plan", "--untrusted", "--env", "production"], ("environment",)),
    (("environment",), ["plan", "--untrusted"], ("environment",)),
    (("sql",), ["plan", "--untrusted"], ("sql",)),
    (("sql",), ["plan"], ("sql",)),
]


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    with listening() as trap:
        yield trap


def test_the_corpus_covers_the_brief() -> None:
    assert len(ATTACKS) * len(RUNS) >= 90


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_the_attack_is_refused_and_nothing_connects(
    listener: Listener, tmp_path: Path, name: str
) -> None:
    template, variable, message = ATTACKS[name]
    url = template.format(port=listener.port)
    if "[::1]" in url and not listener.ipv6:
        pytest.skip("no IPv6 loopback on this machine")
    (tmp_path / "home").mkdir()
    extra = {"PGHOST": "127.0.0.1", "PGPORT": str(listener.port), "PGPASSWORD": TRAP_PASSWORD}
    if variable is not None:
        extra["MKTSYNC_LEDGER_URL"] = variable
    env = base_env(tmp_path / "home", **extra)

    def run(number: int) -> tuple[int, str]:
        places, argv, _ = RUNS[number]
        repo = tmp_path / f"repo{number}"
        (repo / "data").mkdir(parents=True)
        (repo / "data" / "people.csv").write_text("email\nada@example.com\n", encoding="utf-8")
        (repo / "campaigns.yaml").write_text(config_text(url, *places), encoding="utf-8")
        proc = mktsync(*argv, "campaigns.yaml", cwd=repo, env=env)
        return proc.returncode, proc.stdout + proc.stderr

    before = listener.settle()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, range(len(RUNS))))
    seen = listener.settle() - before
    print(f"{name}: {len(RUNS)} runs, connections seen: {seen}")
    assert seen == 0, f"{name}: the listener saw {seen} connection(s)"
    for (code, text), (_, argv, refused) in zip(results, RUNS, strict=True):
        assert code == 1, f"{argv}: exit {code}\n{text}"
        for place in refused:
            expected = UNTRUSTED_SQL if place == "sql" and "--untrusted" in argv else message
            located = re.compile(
                rf"^(error: )?campaigns\.yaml:\d+:\d+: {re.escape(PLACES[place])}: ", re.M
            )
            lines = [line for line in text.splitlines() if located.match(line)]
            assert any(expected in line for line in lines), f"{argv} [{place}]:\n{text}"
        assert "internal error" not in text and "Traceback" not in text
        assert TRAP_PASSWORD not in text
