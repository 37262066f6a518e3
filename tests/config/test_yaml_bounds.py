"""Aliases and merges are bounded by values and by text, and cost work once (issue 25.3).

The guards here count work, not time: how many values a document adds through aliases,
how many template parses and Jinja compilations a run does (``config.compiled.counts``).
The wall-time target (any config under 1 MB validates in under 5 s) is measured by
``benchmarks/bench_config.py``.
"""

from __future__ import annotations

import gc
import io
import os
import uuid
from pathlib import Path

import pytest

from mktsync.cli import main
from mktsync.config import compiled
from mktsync.config.yamlfile import MAX_ALIASED, MAX_TEXT, parse_document
from mktsync.errors import ConfigError

HEAD = """\
version: 1
sources:
  people: {type: csv, path: data/people.csv}
campaigns:
"""


def campaign(name: str, number: int, tokens: str = "", source: str = "people") -> str:
    text = (
        f"  {name}:\n    campaign_id: {number}\n    source: {source}\n"
        '    lead: {email: "{{ row.email }}"}\n'
    )
    return text + (f"    tokens:\n{tokens}" if tokens else "")


def aliased_template(body: str, count: int) -> str:
    block = "".join(f"        {line}\n" for line in body.splitlines())
    parts = [HEAD, campaign("c0", 1, f"      my.Body: &body |\n{block}")]
    parts += [
        f"  c{i}:\n    campaign_id: {i + 1}\n    source: people\n"
        f'    lead: {{email: "{{{{ row.email }}}}"}}\n    tokens: {{my.Body: *body}}\n'
        for i in range(1, count + 1)
    ]
    return "".join(parts)


def aliased_campaigns(count: int, source: str = "nosuch") -> str:
    first = campaign("c0", 1, '      my.Name: "{{ row.name | title }}"\n', source)
    first = first.replace("  c0:\n", "  c0: &c\n", 1)
    return HEAD + first + "".join(f"  c{i}: *c\n" for i in range(1, count + 1))


def refusal(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_document(text.encode(), "campaigns.yaml")
    assert len(info.value.problems) == 1
    return str(info.value.problems[0])


def test_one_long_text_aliased_2000_times_is_refused_at_its_anchor() -> None:
    paragraph = "<p>Dear {{ row.name | title }}, " + "lorem ipsum dolor sit amet " * 17 + "</p>\n"
    text = aliased_template(paragraph * 1008, 2000)  # the 736 KB file
    assert 700_000 < len(text) < 1_000_000
    assert refusal(text) == (
        "campaigns.yaml:10:16: aliases expand this document to 954 MiB of text, over the "
        "bound of 64 MiB once aliases are expanded: this value (499,968 bytes) is repeated "
        "2,001 times; refusing to expand it (write it once, or move what differs into the data)"
    )


def test_60000_aliases_of_one_campaign_are_refused_by_the_value_bound() -> None:
    assert refusal(aliased_campaigns(60_000)) == (
        "campaigns.yaml:5:7: aliases add 720,000 values to those written, over the bound of "
        "250,000 values added by aliases: this value (13 values) is repeated 60,001 times; "
        "refusing to expand it (write it once, or move what differs into the data)"
    )


def test_the_value_bound_counts_what_aliases_add_not_what_is_written() -> None:
    # 375,000 values written, no alias: over MAX_ALIASED, but nothing here is repeated.
    rows = ", ".join(["{e: 1}"] * 125_000)
    doc = parse_document(f"version: 1\nrows: [{rows}]\n".encode(), "campaigns.yaml")
    assert len(doc.data["rows"]) == 125_000 > MAX_ALIASED / 3
    # A campaign of 13 values aliased adds 12 (the alias itself is written): just under
    # the bound loads, one more alias does not.
    under = MAX_ALIASED // 12
    parse_document(aliased_campaigns(under).encode(), "campaigns.yaml")
    assert "over the bound of 250,000 values" in refusal(aliased_campaigns(under + 1))


def test_the_text_bound_counts_bytes_of_scalars_without_expanding() -> None:
    # One 1 MiB-ish value aliased just under and just over 64 MiB of text.
    body = "é" * 16_384  # 32 KiB in UTF-8: bytes are counted, not characters
    times = MAX_TEXT // (2 * len(body))
    under = "version: 1\na: &a " + body + "\nb: [" + ", ".join(["*a"] * (times - 2)) + "]\n"
    parse_document(under.encode(), "campaigns.yaml")
    over = under.replace("]\n", ", *a, *a, *a]\n")
    assert "over the bound of 64 MiB once aliases are expanded" in refusal(over)


def test_deep_merge_chains_are_bounded() -> None:
    def chain(depth: int) -> str:
        parts = [HEAD, campaign("c0", 1).replace("  c0:\n", "  c0: &c0\n", 1)]
        parts.append('    tokens: &t0 {my.T0: "{{ row.name }}"}\n')
        for i in range(1, depth):
            parts.append(f"  c{i}:\n    <<: *c0\n    campaign_id: {i + 1}\n")
            parts.append(f'    tokens: &t{i} {{<<: *t{i - 1}, my.T{i}: "{{{{ row.name }}}}"}}\n')
        return "".join(parts)

    doc = parse_document(chain(340).encode(), "campaigns.yaml")
    assert len(doc.data["campaigns"]["c339"]["tokens"]) == 340
    assert doc.data["campaigns"]["c339"]["source"] == "people"  # merged from c0
    assert "values added by aliases" in refusal(chain(500))


def test_an_anchor_holding_an_alias_to_itself_is_refused() -> None:
    assert refusal("version: 1\na: &a [1, *a]\n") == (
        "campaigns.yaml:2:4: an alias refers to the value it is inside (an endless value); "
        "YAML anchors may only be repeated, not nested in themselves"
    )


def test_the_collector_runs_again_after_a_load() -> None:
    assert gc.isenabled()
    parse_document(b"version: 1\n", "campaigns.yaml")
    assert gc.isenabled()
    with pytest.raises(ConfigError):
        parse_document(b"version: [\n", "campaigns.yaml")
    assert gc.isenabled()


def run(directory: Path, *argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(directory)
    try:
        code = main(list(argv), stdout=out, stderr=err)
    finally:
        os.chdir(cwd)
    text = out.getvalue() + err.getvalue()
    assert "internal error" not in text and "Traceback" not in text, text
    return code, text


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "people.csv").write_text(
        "email,name\nada@example.com,ada lovelace\nbob@example.com,bob\n"
    )
    return tmp_path


def test_a_template_aliased_2000_times_is_parsed_and_compiled_once(checkout: Path) -> None:
    marker = uuid.uuid4().hex  # a text no other test compiled in this process
    body = (
        f"{{% for word in row.name.split() %}}{{{{ word | title }}}} {{% endfor %}}{marker}\n"
        + "lorem ipsum dolor sit amet\n" * 100
    )
    (checkout / "campaigns.yaml").write_text(aliased_template(body, 2000))
    before = compiled.counts()
    code, text = run(checkout, "validate")
    after_validate = compiled.counts()
    assert code == 0, text
    # Two distinct texts: the body (a loop: compiled by Jinja) and "{{ row.email }}"
    # (a simple shape: parsed only), whatever other tests left in the cache.
    assert after_validate.parses - before.parses <= 2
    assert after_validate.compiles - before.compiles == 1
    assert compiled.cached(body)
    code, text = run(checkout, "plan", "--format", "json")
    assert code == 0, text
    assert text.count(marker) == 2 * 2001  # two rows, every campaign rendered it
    assert compiled.counts() == after_validate  # plan compiled nothing again


def test_distinct_texts_are_parsed_once_each_however_often_written(checkout: Path) -> None:
    marker = uuid.uuid4().hex
    texts = [f"{{{{ row.name }}}} {marker} {i}" for i in range(300)]
    parts = [HEAD]
    for i in range(900):  # each text written three times, not aliased
        parts.append(campaign(f"c{i}", i + 1, f'      my.N: "{texts[i % 300]}"\n'))
    (checkout / "campaigns.yaml").write_text("".join(parts))
    before = compiled.counts()
    code, text = run(checkout, "validate")
    assert code == 0, text
    after = compiled.counts()
    assert after.parses - before.parses <= 301  # the 300 texts and "{{ row.email }}"
    assert after.parses - before.parses >= 300
    assert after.compiles == before.compiles  # simple shapes: no Jinja compilation needed
    code, text = run(checkout, "plan")
    assert code == 0, text
    assert compiled.counts().parses == after.parses
