"""Resource bombs: templates and queries that would exhaust the runner stop, bounded.

A template bomb is not a config error (validate cannot know what a row will make of
it): ``plan`` reports the row as an invalid item with the sandbox's reason, within a
few seconds and without building the huge value.  A query bomb stops the plan with a
plain error.  And a file swapped between ``validate`` and the read is caught at the read.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest
from attack import BUDGET_SECONDS, SECRET, Checkout, csv_config, sql_config, template_config

from mktsync.config import load_config
from mktsync.errors import SourceError
from mktsync.sources import iter_rows

TEMPLATE_BOMBS = {
    "center a billion": ("{{ 'x' | center(1000000000) }}", "center width of 1000000000"),
    "format padding": ("{{ '{:>1000000000}'.format(row.email) }}", "a format width of 1000000000"),
    "percent padding": ("{{ '%1000000000s' % row.email }}", "a % format width of 1000000000"),
    "ljust": ("{{ row.email.ljust(10**9) }}", "ljust() width of 1000000000"),
    "indent": ("{{ row.email | indent(10**9) }}", "indent width of 1000000000"),
    "nested range loops": (
        "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
        "the template does too much work",
    ),
    "big range": ("{{ range(10**8) | list | length }}", "range() of 100,000,000 items"),
    "doubling macro": (
        "{% macro f(s, n) %}{% if n %}{{ f(s ~ s, n - 1) }}{% endif %}{% endmacro %}"
        "{% if row.name == 'Ada' %}{{ f('x', 60) }}{% else %}ok{% endif %}",
        "over 1,000,000 characters",
    ),
    "namespace growth": (
        "{% set ns = namespace(s='x' * 100000) %}{% if row.name == 'Ada' %}"
        "{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{% endif %}",
        "over 1,000,000 characters",
    ),
    "replace amplifier": (
        "{{ ('x' * 900000) | replace('x', 'yy') }}",
        "replace would be over 1,000,000 characters",
    ),
    "join amplifier": ("{{ range(10000) | join('x' * 1000) }}", "join() would be over"),
    "huge token under the hard bound": (
        "{{ 'x' * 200000 }}",
        "tokens.{{my.Bomb}}: renders 200,000 bytes, over max_value_bytes (65,536)",
    ),
}


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Checkout:
    monkeypatch.chdir(tmp_path)
    return Checkout(tmp_path)


@pytest.mark.parametrize("name", sorted(TEMPLATE_BOMBS))
def test_template_bomb_is_a_bounded_invalid_item(checkout: Checkout, name: str) -> None:
    template, reason = TEMPLATE_BOMBS[name]
    config = checkout.write(template_config(template))
    assert checkout.run("validate", str(config)).code == 0  # valid: the row decides
    run = checkout.run("plan", "--format", "json", str(config))
    assert run.seconds < BUDGET_SECONDS
    assert "internal error" not in run.text
    assert len(run.text) < 100_000  # the huge value went nowhere
    invalid = json.loads(run.out)["campaigns"][0]["invalid"]
    assert len(invalid) == 1
    assert reason in invalid[0]["reason"]


def test_max_value_bytes_is_configurable(checkout: Checkout) -> None:
    text = template_config("{{ row.email }}{{ 'x' * 100 }}")
    config = checkout.write(text.replace("version: 1", "version: 1\nmax_value_bytes: 64"))
    run = checkout.run("plan", "--format", "json", str(config))
    invalid = json.loads(run.out)["campaigns"][0]["invalid"]
    assert (
        invalid[0]["reason"] == "tokens.{{my.Bomb}}: renders 115 bytes, over max_value_bytes (64)"
    )


def _database(checkout: Checkout) -> Path:
    path = checkout.repo / "data" / "app.db"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE leads (email TEXT)")
        db.execute("INSERT INTO leads VALUES ('ada@example.com')")
        db.commit()
    return path


QUERY_BOMBS = {
    "attach": (
        "ATTACH DATABASE '../outside/stolen.db' AS x",
        "a source query may only read (SELECT); ATTACH is not allowed",
    ),
    "vacuum into": ("VACUUM INTO '../outside/copy.db'", "may only read (SELECT)"),
    "write": ("DELETE FROM leads", "DELETE is not allowed"),
    "pragma": ("PRAGMA writable_schema = 1", "PRAGMA is not allowed"),
    "load extension": (
        "SELECT load_extension('/tmp/evil.so') AS email",
        "FUNCTION load_extension is not allowed",
    ),
    "blob bomb": ("SELECT zeroblob(1000000000) AS email", "FUNCTION zeroblob is not allowed"),
    "printf bomb": (
        "SELECT printf('%.*c', 1000000000, 'x') AS email",
        "FUNCTION printf is not allowed",
    ),
    "recursive cte": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) AS email FROM c",
        "query stopped: it ran longer than 1 seconds (the source's timeout_seconds)",
    ),
}


@pytest.mark.parametrize("name", sorted(QUERY_BOMBS))
def test_query_bomb_is_refused_by_the_guard(checkout: Checkout, name: str) -> None:
    query, message = QUERY_BOMBS[name]
    database = _database(checkout)
    before = database.read_bytes()
    text = sql_config("sqlite:///data/app.db", query)
    text = text.replace("    query:", "    timeout_seconds: 1\n    query:")
    spec = load_config(checkout.write(text)).sources["people"]
    start = time.monotonic()
    with pytest.raises(SourceError) as info:
        list(iter_rows(spec))
    assert time.monotonic() - start < BUDGET_SECONDS
    assert str(info.value).startswith("people: repo/campaigns.yaml:"), info.value
    assert message in str(info.value)
    assert sorted(p.name for p in checkout.outside.iterdir()) == ["credentials.csv"]
    assert database.read_bytes() == before


@pytest.mark.parametrize("name", sorted(QUERY_BOMBS))
def test_query_bomb_stops_validate_and_plan(checkout: Checkout, name: str) -> None:
    query, _ = QUERY_BOMBS[name]
    database = _database(checkout)
    before = database.read_bytes()
    config = checkout.write(sql_config("sqlite:///data/app.db", query))
    config.write_text(
        config.read_text().replace("    query:", "    timeout_seconds: 1\n    query:")
    )
    validated = checkout.run("validate", str(config))  # reads no row: a CTE may pass here
    assert "internal error" not in validated.text and validated.seconds < BUDGET_SECONDS
    run = checkout.run("plan", str(config))
    assert run.code == 1, run.text
    assert "repo/campaigns.yaml:8:12: " in run.text  # at the query, whichever step refused it
    assert run.seconds < BUDGET_SECONDS
    assert sorted(p.name for p in checkout.outside.iterdir()) == ["credentials.csv"]
    assert database.read_bytes() == before


def test_a_file_swapped_for_a_fifo_after_validate_is_refused_at_the_read(
    checkout: Checkout,
) -> None:
    config = load_config(checkout.write(csv_config("data/people.csv")))
    target = checkout.repo / "data" / "people.csv"
    target.unlink()
    os.mkfifo(target)  # opening it for reading would wait for a writer forever
    with pytest.raises(SourceError, match=r"'data/people\.csv' is a FIFO"):
        list(iter_rows(config.sources["people"]))


def test_a_file_swapped_for_a_symlink_after_validate_is_refused_at_the_read(
    checkout: Checkout,
) -> None:
    config = load_config(checkout.write(csv_config("data/people.csv")))
    target = checkout.repo / "data" / "people.csv"
    target.unlink()
    target.symlink_to(checkout.secret_file)
    with pytest.raises(SourceError) as info:
        list(iter_rows(config.sources["people"]))
    assert "leads outside the config file's folder through a symbolic link" in str(info.value)
    assert SECRET not in str(info.value)
