"""Malformed input never reaches "internal error": every cause found so far, and a fuzz.

The named cases are the crash causes of issue 10 (encodings, nesting, long numbers, a
misspelt filter, a huge campaign id, a base URL without a scheme); the hypothesis tests
mutate a working checkout — its config and its data files — and run ``validate`` and
``plan`` in-process on each (a fixed budget of examples, a few seconds in all).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mktsync.cli import main

CONFIG = """\
version: 1
sources:
  people: {type: csv, path: data/people.csv}
  events: {type: json, path: data/events.json}
  lines: {type: jsonl, path: data/lines.jsonl}
campaigns:
  welcome:
    campaign_id: 1
    source: people
    lead: {email: "{{ row.email }}"}
    tokens: {my.Name: "{{ row.name | title }}"}
  events:
    campaign_id: 2
    source: events
    lead: {id: "{{ row.id }}"}
    when: "{{ row.kind == 'webinar' }}"
  lines:
    campaign_id: 3
    source: lines
    lead: {email: "{{ row.email }}"}
    key: "{{ row.email }}/{{ row.n }}"
"""
DATA = {
    "data/people.csv": b"email,name\nada@example.com,ada lovelace\n",
    "data/events.json": b'[{"id": 7, "kind": "webinar"}, {"id": 8, "kind": "other"}]',
    "data/lines.jsonl": b'{"email": "b@example.com", "n": 1}\n',
}


def run(directory: Path, *argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(directory)
    try:
        code = main(list(argv), stdout=out, stderr=err)
    finally:
        os.chdir(cwd)
    text = out.getvalue() + err.getvalue()
    assert code in (0, 1, 2), text
    assert "internal error" not in text, text
    assert "Traceback" not in text, text
    return text


def checkout(directory: Path, config: str = CONFIG, data: dict[str, bytes] | None = None) -> Path:
    (directory / "data").mkdir(parents=True, exist_ok=True)
    for name, content in (data or DATA).items():
        (directory / name).write_bytes(content)
    (directory / "campaigns.yaml").write_bytes(config.encode("utf-8", "surrogatepass"))
    return directory


def with_source_option(option: str) -> str:
    return CONFIG.replace("path: data/people.csv}", f"path: data/people.csv, {option}}}")


NAMED: dict[str, tuple[str, dict[str, bytes], str]] = {
    "utf-16 without a BOM": (
        with_source_option("encoding: utf-16"),
        DATA,
        "does not start with a utf-16 byte order mark",
    ),
    "base64 encoding": (
        with_source_option("encoding: base64"),
        DATA,
        "sources.people.encoding: 'base64' is not a text encoding",
    ),
    "rot13 encoding": (with_source_option("encoding: rot13"), DATA, "is not a text encoding"),
    "unknown encoding": (
        with_source_option("encoding: klingon"),
        DATA,
        "unknown encoding 'klingon'",
    ),
    "deep JSON": (
        CONFIG,
        {**DATA, "data/events.json": b"[" * 100_000 + b"]" * 100_000},
        "invalid JSON: nested too deeply",
    ),
    "deep JSON lines": (
        CONFIG,
        {**DATA, "data/lines.jsonl": b"[" * 100_000 + b"]" * 100_000 + b"\n"},
        "nested too deeply",
    ),
    "5,000-digit JSON number": (
        CONFIG,
        {**DATA, "data/events.json": b'[{"id": ' + b"9" * 5000 + b"}]"},
        "a number has too many digits (over 4,300)",
    ),
    "5,000-digit JSON lines number": (
        CONFIG,
        {**DATA, "data/lines.jsonl": b'{"n": ' + b"9" * 5000 + b"}\n"},
        "a number has too many digits",
    ),
    "5,000-digit YAML number": (
        CONFIG.replace("campaign_id: 1\n", "campaign_id: " + "9" * 5000 + "\n"),
        DATA,
        "campaigns.welcome.campaign_id: the number is too long (over 4,300 digits)",
    ),
    "deep YAML flow": (
        "version: 1\nx: " + "[" * 20_000 + "]" * 20_000 + "\n",
        DATA,
        "campaigns.yaml:",
    ),
    "deep YAML under the parser's limit": (
        "version: 1\nx: " + "[" * 900 + "]" * 900 + "\n",
        DATA,
        "the YAML is nested too deeply",
    ),
    "campaign id over 32 bits": (
        CONFIG.replace("campaign_id: 1\n", "campaign_id: 99999999999999999999999\n"),
        DATA,
        "campaigns.welcome.campaign_id: must be at most 2147483647",
    ),
    "campaign id as a mapping": (
        CONFIG.replace("campaign_id: 1\n", "campaign_id: {a: 1}\n"),
        DATA,
        "campaigns.welcome.campaign_id:",
    ),
    "misspelt filter": (
        CONFIG.replace("| title", "| upcase"),
        DATA,
        "campaigns.yaml:11:23: campaigns.welcome.tokens.my.Name: unknown filter 'upcase'",
    ),
    "misspelt test": (
        CONFIG.replace("row.kind == 'webinar'", "row.kind is webinarish"),
        DATA,
        "unknown test 'webinarish'",
    ),
}


@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_cause_gives_a_plain_error(tmp_path: Path, name: str) -> None:
    config, data, expected = NAMED[name]
    directory = checkout(tmp_path, config, data)
    validated = run(directory, "validate")
    planned = run(directory, "plan")
    assert expected in validated + planned


@pytest.mark.parametrize("base_url", ["123-abc-456.mktorest.com", "http://[::1", "ftp://x"])
def test_base_url_without_a_scheme_is_a_plain_error_in_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base_url: str
) -> None:
    config = CONFIG.replace(
        "version: 1\n",
        "version: 1\nmarketo: {base_url: '${MARKETO_BASE_URL}', client_id: '${MARKETO_CLIENT_ID}',"
        " client_secret: '${MARKETO_CLIENT_SECRET}'}\n",
    )
    monkeypatch.setenv("MARKETO_BASE_URL", base_url)
    monkeypatch.setenv("MARKETO_CLIENT_ID", "id")
    monkeypatch.setenv("MARKETO_CLIENT_SECRET", "s3cret-value")
    text = run(checkout(tmp_path, config), "apply", "--yes")
    assert "marketo.base_url: '${MARKETO_BASE_URL}' does not give a Marketo REST URL" in text
    assert base_url not in text and "s3cret-value" not in text


SNIPPETS = st.sampled_from(
    [
        "{{ row.email | upcase }}",
        "{{ row.",
        "{% for %}",
        "encoding: utf-16",
        "encoding: base64",
        "campaign_id: 99999999999999999999999",
        "campaign_id: -1",
        "9" * 5000,
        "[" * 300,
        "path: /etc/passwd",
        "path: ../x",
        "path: data",
        "type: sql",
        "url: postgresql://h/db",
        "${HOME}",
        "when: ",
        "max_value_bytes: 0",
        "\x00",
        "\ufeff",
        "é",
        "\n  ",
        ": ",
        "- ",
        "&a ",
        "*a",
    ]
)
DATA_BITS = st.sampled_from(
    [
        b"\xff\xfe",
        b"\xef\xbb\xbf",
        b"\x00",
        b"\xff",
        b'"',
        b",",
        b"\n",
        b"\r",
        b"[",
        b"{",
        b"]",
        b"}",
        b"9" * 5000,
        b"[" * 5000,
        b'{"id": ',
        b"\\ud800",
        b"NaN",
        b"1e999999",
    ]
)


@st.composite
def mutated_config(draw: st.DrawFn) -> str:
    text = CONFIG
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:position] + draw(SNIPPETS) + text[position:]
        else:
            text = text[:position] + text[position + draw(st.integers(1, 20)) :]
    return text


@st.composite
def mutated_data(draw: st.DrawFn) -> dict[str, bytes]:
    data = dict(DATA)
    name = draw(st.sampled_from(sorted(DATA)))
    content = data[name]
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(content)))
        content = content[:position] + draw(DATA_BITS) + content[position:]
    data[name] = content
    return data


FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(config=mutated_config())
def test_mutated_configs_never_reach_internal_error(tmp_path: Path, config: str) -> None:
    directory = checkout(tmp_path, config)
    run(directory, "validate")
    run(directory, "plan")


@FUZZ
@given(data=mutated_data())
def test_mutated_data_never_reaches_internal_error(tmp_path: Path, data: dict[str, bytes]) -> None:
    directory = checkout(tmp_path, CONFIG, data)
    text = run(directory, "plan", "--format", "json")
    if text.startswith("{"):
        json.loads(text)  # a plan that went through is a whole JSON document
