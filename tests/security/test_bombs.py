"""Resource bombs: templates and queries that would exhaust the runner stop, bounded.

A template bomb is not a config error (validate cannot know what a row will make of
it): ``plan`` reports the row as an invalid item with the sandbox's reason, within a
few seconds and without building the huge value.  A query bomb stops the plan with a
plain error.  And a file swapped between ``validate`` and the read is caught at the read.

YAML bombs (issue 25.3) are files under 1 MB shaped to make ``validate`` and ``plan``
do work per *expanded* value: one long template aliased 2,000 times, 60,000 aliased
campaigns, deep ``<<:`` merge chains, long flow sequences, many distinct templates
(the last two smaller here than in the benchmark: the counts do not depend on size).
Each is refused at the YAML bound it passes, or costs one parse (and at most one Jinja
compilation) per distinct template text, counted by ``config.compiled.counts``; its
problems come capped per kind.  The wall time of the same shapes is measured by
``benchmarks/bench_config.py``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from attack import BUDGET_SECONDS, SECRET, Checkout, csv_config, sql_config, template_config

from mktsync.config import compiled, load_config
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


YAML_HEAD = """\
version: 1
sources:
  people: {type: csv, path: data/people.csv}
campaigns:
"""


def _campaign(name: str, number: int, tokens: str = "", source: str = "people") -> str:
    text = (
        f"  {name}:\n    campaign_id: {number}\n    source: {source}\n"
        '    lead: {email: "{{ row.email }}"}\n'
    )
    return text + (f"    tokens:\n{tokens}" if tokens else "")


def _aliased_template(marker: str) -> str:
    paragraph = "<p>Dear {{ row.name | title }}, " + "lorem ipsum dolor sit amet " * 17 + "</p>"
    block = "".join(f"        {paragraph} {marker}\n" for _ in range(1008))  # 500 KB
    parts = [YAML_HEAD, _campaign("c0", 1, f"      my.Body: &body |\n{block}")]
    parts += [
        f"  c{i}:\n    campaign_id: {i + 1}\n    source: people\n"
        f'    lead: {{email: "{{{{ row.email }}}}"}}\n    tokens: {{my.Body: *body}}\n'
        for i in range(1, 2001)
    ]
    return "".join(parts)


def _aliased_campaigns(marker: str) -> str:
    first = _campaign("c0", 1, f'      my.Name: "{{{{ row.name }}}} {marker}"\n')
    first = first.replace("  c0:\n", "  c0: &c\n", 1)
    return YAML_HEAD + first + "".join(f"  c{i}: *c\n" for i in range(1, 60_001))


def _merges(marker: str) -> str:
    parts = [YAML_HEAD, "  c0: &c0\n    campaign_id: 1\n    source: people\n"]
    parts.append('    lead: {email: "{{ row.email }}"}\n')
    parts.append(f'    tokens: &t0 {{my.T0: "{{{{ row.name }}}} {marker}"}}\n')
    for i in range(1, 340):
        parts.append(f"  c{i}:\n    <<: *c0\n    campaign_id: {i + 1}\n")
        parts.append(
            f'    tokens: &t{i} {{<<: *t{i - 1}, my.T{i}: "{{{{ row.name }}}} {marker}"}}\n'
        )
    return "".join(parts)


def _flow(marker: str) -> str:
    rows = ", ".join(f"{{email: p{i}@example.com, name: P{i}}}" for i in range(10_000))
    campaign = _campaign("c0", 1, f'      my.Name: "{{{{ row.name }}}} {marker}"\n', "inline")
    return (
        f"version: 1\nsources:\n  inline:\n    type: inline\n    rows: [{rows}]\n"
        f"campaigns:\n{campaign}"
    )


def _distinct(marker: str) -> str:
    parts = [YAML_HEAD]
    for i in range(400):  # a loop and a set: shapes only Jinja's compiler checks
        template = (
            f"{{% set greeting = 'Hello {i}' %}}{{{{ greeting }}}} "
            "{% for word in row.name.split() %}{{ word | title }}{% endfor %} "
            + "dolor sit amet " * 50
            + marker
        )
        parts.append(_campaign(f"c{i}", i + 1, f"      my.Body: {json.dumps(template)}\n"))
    return "".join(parts)


# name -> (the file, validate's exit code, its first line or None, how many distinct
# template texts it holds, how many of them need Jinja's compiler)
YAML_BOMBS: dict[str, tuple[Callable[[str], str], int, str | None, int, int]] = {
    "one 500 KB template aliased 2,000 times": (
        _aliased_template,
        1,
        "repo/campaigns.yaml:10:16: aliases expand this document to 1,018 MiB of text, over the "
        "bound of 64 MiB once aliases are expanded",
        0,
        0,
    ),
    "60,000 aliased campaigns": (
        _aliased_campaigns,
        1,
        "repo/campaigns.yaml:5:7: aliases add 720,000 values to those written, over the bound "
        "of 250,000 values added by aliases",
        0,
        0,
    ),
    "a merge chain 340 deep": (
        _merges,
        1,
        "repo/campaigns.yaml:409:13: campaigns.c100.tokens: at most 100 entries (Marketo's "
        "limit), got 101",
        2,
        0,
    ),
    "a flow sequence of 10,000 rows": (_flow, 0, None, 2, 0),
    "400 distinct 1 KB templates": (_distinct, 0, None, 401, 400),
}


@pytest.mark.parametrize("name", sorted(YAML_BOMBS))
def test_yaml_bomb_costs_work_per_distinct_text(checkout: Checkout, name: str) -> None:
    shape, code, first, texts, jinja = YAML_BOMBS[name]
    marker = uuid.uuid4().hex  # texts no other test compiled in this process
    config = checkout.write(shape(marker))
    assert config.stat().st_size < 1_000_000
    before = compiled.counts()
    validated = checkout.run("validate", str(config))
    after = compiled.counts()
    assert validated.code == code, validated.text
    assert "internal error" not in validated.text and "Traceback" not in validated.text
    lines = validated.out.splitlines()
    assert len(lines) <= 25  # capped: ten of a kind, then a count
    if first is not None:
        assert lines[0].startswith(first), lines[0]
    # One parse per distinct text ("{{ row.email }}" may be cached by an earlier test),
    # one Jinja compilation per text that needs it, however often each is written.
    assert texts - 1 <= after.parses - before.parses <= texts
    assert after.compiles - before.compiles == jinja
    planned = checkout.run("plan", "--format", "json", str(config))
    assert planned.code == code, planned.text
    assert "internal error" not in planned.text and "Traceback" not in planned.text
    assert compiled.counts() == after  # plan compiled nothing validate had compiled
