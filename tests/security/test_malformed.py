"""Malformed input never reaches "internal error": every cause found so far, and a fuzz.

The named cases are the crash causes of issue 10 (encodings, nesting, long numbers, a
misspelt filter, a huge campaign id, a base URL without a scheme); the pinned cases are
issue 25's (YAML tags the schema cannot use, codecs that cannot read a file, templates
Python cannot compile), each with its exact message.  The hypothesis tests mutate a
working checkout — its config and its data files — and put tagged values, dates and
every codec name Python knows into it, and run ``validate`` and ``plan`` in-process on
each (a fixed budget of examples, a few seconds each).
"""

from __future__ import annotations

import codecs
import encodings
import encodings.aliases
import io
import json
import os
import pkgutil
import re
from datetime import UTC, datetime, timedelta
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


def with_token(value: str) -> str:
    return CONFIG.replace('{my.Name: "{{ row.name | title }}"}', f"{{my.Name: {value}}}")


def located_at_token(message: str) -> str:
    return f"campaigns.yaml:11:23: campaigns.welcome.tokens.my.Name: {message}"


def located_at_encoding(message: str) -> str:
    return f"campaigns.yaml:3:56: sources.people.encoding: {message}"


def not_a_file_encoding(name: str, why: str) -> str:
    return located_at_encoding(
        f"'{name}' is not a file encoding: it {why} (try utf-8, latin-1 or cp1252)"
    )


HOST_NAMES = "decodes internationalised host names (xn--...), not a file's text"
ESCAPES = "decodes Python backslash escapes"
# name -> (config, the exact line validate prints; plan prints it after "error: ")
PINNED: dict[str, tuple[str, str]] = {
    "!!bool maybe": (
        with_token("!!bool maybe"),
        located_at_token("'maybe' is not true or false (YAML !!bool)"),
    ),
    "!!int abc": (
        with_token("!!int abc"),
        located_at_token("'abc' is not a whole number (YAML !!int)"),
    ),
    "!!float x": (with_token("!!float x"), located_at_token("'x' is not a number (YAML !!float)")),
    "!!omap": (
        with_token("!!omap [a: 1]"),
        located_at_token(
            "a YAML !!omap (ordered mapping) is not supported here: write a plain mapping"
        ),
    ),
    "!!pairs": (
        with_token("!!pairs [a: 1]"),
        located_at_token(
            "a YAML !!pairs (list of key-value pairs) is not supported here: write a plain mapping"
        ),
    ),
    "!!set": (
        with_token("!!set {a}"),
        located_at_token("a YAML !!set (set of keys) is not supported here: write a list"),
    ),
    "!!binary": (
        with_token("!!binary aGk="),
        located_at_token(
            "a YAML !!binary (base64-encoded bytes) is not supported here: write the text itself"
        ),
    ),
    "!!timestamp with month 13": (
        with_token("!!timestamp 2026-13-45"),
        located_at_token(
            "'2026-13-45' is not a real date (YAML !!timestamp): month must be in 1..12"
        ),
    ),
    "!!timestamp with a UTC offset of a day": (
        with_token("!!timestamp 2026-01-01T00:00:00+24:00"),
        located_at_token(
            "'2026-01-01T00:00:00+24:00' is not a real date (YAML !!timestamp): "
            "the UTC offset must be under 24 hours"
        ),
    ),
    "!!timestamp on a word": (
        with_token("!!timestamp soon"),
        located_at_token(
            "'soon' is not a date (YAML !!timestamp takes 2026-12-01 or 2026-12-01T09:30:00Z)"
        ),
    ),
    "!!python/object": (
        with_token("!!python/object:os.system x"),
        located_at_token(
            "a YAML !!python/object:os.system tag asks for a Python object, which the safe "
            "loader refuses: write a plain value"
        ),
    ),
    "an unknown tag": (
        with_token("!mine x"),
        located_at_token("unknown YAML tag !mine: write the value without a tag"),
    ),
    "punycode encoding": (
        with_source_option("encoding: punycode"),
        not_a_file_encoding("punycode", HOST_NAMES),
    ),
    "idna encoding": (
        with_source_option("encoding: idna"),
        not_a_file_encoding("idna", HOST_NAMES),
    ),
    "unicode_escape encoding": (
        with_source_option("encoding: unicode_escape"),
        not_a_file_encoding(
            "unicode_escape", f"{ESCAPES}: a \\n in a cell would become a line break"
        ),
    ),
    "raw_unicode_escape encoding": (
        with_source_option("encoding: raw_unicode_escape"),
        not_a_file_encoding("raw_unicode_escape", f"{ESCAPES}: a \\u in a cell would change"),
    ),
    "undefined encoding": (
        with_source_option("encoding: undefined"),
        not_a_file_encoding("undefined", "decodes nothing (Python's placeholder codec)"),
    ),
    **{
        f"{name} encoding": (
            with_source_option(f"encoding: {name}"),
            located_at_encoding(f"'{name}' is not a text encoding (try utf-8, latin-1 or cp1252)"),
        )
        for name in ("uu", "hex", "quopri", "zlib", "bz2")
    },
    "utf-32-le encoding on a UTF-8 file": (
        with_source_option("encoding: utf-32-le"),
        "campaigns.yaml:3:29: sources.people.path: data/people.csv: cannot decode byte 0x65 "
        "at byte 0 as utf-32-le",
    ),
    "for loops nested 25 deep": (
        with_token(json.dumps("{% for c in row.name %}" * 25 + "x" + "{% endfor %}" * 25)),
        located_at_token("template syntax error: loops are nested more than 20 deep"),
    ),
    "a keyword argument given twice": (
        with_token('"{{ row.name.replace(old=1, old=2) }}"'),
        located_at_token("template syntax error: the keyword argument 'old' is given twice"),
    ),
    "a chain of 3,000 +": (
        with_token(json.dumps("{{ " + " + ".join(["1"] * 3000) + " }}")),
        located_at_token(
            "template syntax error: the template is nested too deeply (over 150 levels of "
            "expressions or blocks: a long chain of 'or', 'and' or '+'?)"
        ),
    ),
}


def run_both(directory: Path, command: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(directory)
    try:
        code = main([command], stdout=out, stderr=err)
    finally:
        os.chdir(cwd)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_cause_gives_its_exact_message(tmp_path: Path, name: str) -> None:
    config, expected = PINNED[name]
    directory = checkout(tmp_path, config)
    assert run_both(directory, "validate") == (1, expected + "\n", "")
    code, out, err = run_both(directory, "plan")
    assert (code, out, err) == (1, "", f"error: {expected}\n")


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


# Issue 25.5: tagged values, dates and codec names in every field, through validate and
# plan.  Exit code 0 or 1, never a traceback or "internal error", and every problem
# located: a config line and column, or a source with its file (and row).
LOCATED = re.compile(
    r"^(?:error: )?(?:campaigns\.yaml:\d+:\d+: "  # a config problem
    r"|(?:people|events|lines): \S.*?: "  # a source: its file as written (and row)
    r"|schedules\.[^:\s]+: row \d+ of (?:people|events|lines): )"  # a source's row
)


def run_located(directory: Path, command: str) -> str:
    code, out, err = run_both(directory, command)
    text = out + err
    assert code in (0, 1), text
    assert "internal error" not in text and "Traceback" not in text, text
    for line in out.splitlines() if command == "validate" else ():
        assert line.startswith("ok: ") or LOCATED.match(line), line
    for line in err.splitlines():
        assert not line.startswith("error:") or LOCATED.match(line), line
    return text


RUN_AT = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%dT09:00:00+00:00")
FIELDS_CONFIG = CONFIG + f"schedules:\n  launch:\n    campaign_id: 4\n    run_at: {RUN_AT}\n"
# Where a value can go: (text of FIELDS_CONFIG, the same with {v} where the value goes).
SLOTS = [
    ("version: 1\n", "version: {v}\n"),
    ("version: 1\n", "version: 1\nmax_value_bytes: {v}\n"),
    ("{type: csv,", "{type: {v},"),
    ("path: data/people.csv}", "path: {v}}"),
    ("path: data/people.csv}", "path: data/people.csv, encoding: {v}}"),
    ("path: data/events.json}", "path: data/events.json, encoding: {v}}"),
    ("  welcome:\n", "  {v}:\n"),
    ("campaign_id: 1\n", "campaign_id: {v}\n"),
    ("source: people\n", "source: {v}\n"),
    ("source: people\n", "source: people\n    max_invalid: {v}\n    retrigger: {v}\n"),
    ('lead: {email: "{{ row.email }}"}\n    tokens', "lead: {email: {v}}\n    tokens"),
    ('lead: {id: "{{ row.id }}"}', "lead: {id: {v}}"),
    ('my.Name: "{{ row.name | title }}"', "my.Name: {v}"),
    ('my.Name: "{{ row.name | title }}"', '{v}: "{{ row.name }}"'),
    ("when: \"{{ row.kind == 'webinar' }}\"", "when: {v}"),
    ('key: "{{ row.email }}/{{ row.n }}"', "key: {v}"),
    (f"run_at: {RUN_AT}", "run_at: {v}"),
    ("campaign_id: 4\n", "campaign_id: {v}\n"),
    ("campaign_id: 4\n", "campaign_id: 4\n    source: {v}\n    when: {v}\n"),
    ("campaign_id: 4\n", "campaign_id: 4\n    tokens: {v}\n"),
    ("campaign_id: 4\n", "campaign_id: 4\n    tokens: {{my.T: {v}}}\n"),
]
TAGS = [
    *("", "! ", "!!str ", "!!int ", "!!float ", "!!bool ", "!!null ", "!!timestamp "),
    *("!!binary ", "!!omap ", "!!pairs ", "!!set ", "!!map ", "!!seq ", "!!merge "),
    *("!!value ", "!!yaml ", "!!python/object:os.system ", "!!python/name:os.system "),
    *("!!python/object/apply:os.system ", "!local ", "!<tag:example.com,2026:x> "),
]
VALUES = [
    *("maybe", "abc", "x", "''", "~", "yes", "off", "0x1F", "0o17", "0b101", "1_000"),
    *("1:30", "-0", "1e999", ".nan", "-.inf", "9" * 5000, "0x" + "f" * 5000, "aGk="),
    *("'!!'", "[a: 1]", "[a, b]", "{a: 1}", "{a, b}", "'{{ row.email }}'", "<<", "="),
    *("2026-12-01", "2026-13-45", "2026-02-30T25:00:00Z", "0000-01-01", "0001-01-01"),
    *("9999-12-31T23:59:59-23:59", "2026-1-1 9:00:00 +5", "2026-01-01T00:00:00+24:00"),
]


@st.composite
def date_text(draw: st.DrawFn) -> str:
    """A date-shaped scalar, often no real date: month 13, hour 25, an offset of a day."""
    text = f"{draw(st.integers(0, 10000)):04d}-{draw(st.integers(0, 13)):02d}"
    text += f"-{draw(st.integers(0, 32)):02d}"
    if draw(st.booleans()):
        clock = [draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(st.integers(0, 61))]
        text += draw(st.sampled_from(["T", "t", " "])) + ":".join(f"{n:02d}" for n in clock)
        text += draw(st.sampled_from(["", ".5", ".123456789"]))
        text += draw(st.sampled_from(["", "Z", "+00:00", "-05:30", "+24:00", "+99", " +5"]))
    return text


def placed(slot: int, value: str) -> str:
    old, new = SLOTS[slot]
    assert old in FIELDS_CONFIG, old
    return FIELDS_CONFIG.replace(old, new.replace("{v}", value), 1)


def test_the_fields_config_is_valid(tmp_path: Path) -> None:
    directory = checkout(tmp_path, FIELDS_CONFIG)
    assert run_located(directory, "validate").startswith("ok: ")


TAG_FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@TAG_FUZZ
@given(
    slot=st.integers(0, len(SLOTS) - 1),
    tag=st.sampled_from(TAGS),
    value=st.sampled_from(VALUES) | date_text(),
)
def test_tagged_values_in_every_field_give_located_problems(
    tmp_path: Path, slot: int, tag: str, value: str
) -> None:
    directory = checkout(tmp_path, placed(slot, tag + value))
    run_located(directory, "validate")
    run_located(directory, "plan")


@pytest.mark.slow
@TAG_FUZZ
@given(
    slot=st.integers(0, len(SLOTS) - 1),
    tag=st.sampled_from(["", "", "!!timestamp ", "!!str "]),
    value=date_text(),
)
def test_dates_in_every_field_give_located_problems(
    tmp_path: Path, slot: int, tag: str, value: str
) -> None:
    directory = checkout(
        tmp_path, placed(slot, json.dumps(value) if tag == "!!str " else tag + value)
    )
    run_located(directory, "validate")
    run_located(directory, "plan")


# Every codec name Python knows: the aliases, their targets and the codec modules
# (punycode, idna, undefined... have no alias).
CODEC_NAMES = sorted(
    set(encodings.aliases.aliases)
    | set(encodings.aliases.aliases.values())
    | {module.name for module in pkgutil.iter_modules(encodings.__path__)}
)


def canonical(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return f"unknown {name}"


# One name per codec: the others are the same codec object under another name.
ONE_NAME_PER_CODEC = sorted({canonical(n): n for n in reversed(CODEC_NAMES)}.values())
ENCODED_DATA = {
    "data/people.csv": "email,name\nada@example.com,Zoë \\new xn--caf-dma\n".encode(),
    "data/events.json": '[{"id": 7, "kind": "webinar", "name": "Zoë \\\\new"}]'.encode(),
    "data/lines.jsonl": '{"email": "b@example.com", "n": "Zoë"}\n'.encode(),
}
SOURCE_PATHS = {
    "csv": "path: data/people.csv}",
    "json": "path: data/events.json}",
    "jsonl": "path: data/lines.jsonl}",
}


def with_encoding(kind: str, name: str) -> str:
    old = SOURCE_PATHS[kind]
    return CONFIG.replace(old, old[:-1] + f", encoding: {json.dumps(name)}}}")


def test_every_codec_name_is_a_codec_or_one_located_refusal() -> None:
    from mktsync.config.security import encoding_problem

    assert len(CODEC_NAMES) > 300
    for name in CODEC_NAMES:
        problem = encoding_problem(name)
        first = next(n for n in ONE_NAME_PER_CODEC if canonical(n) == canonical(name))
        expected = encoding_problem(first)
        same = expected if expected is None else expected.replace(repr(first), repr(name), 1)
        assert problem == same, name


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(SOURCE_PATHS))
def test_every_codec_reads_a_source_or_gives_a_located_error(tmp_path: Path, kind: str) -> None:
    for number, name in enumerate(ONE_NAME_PER_CODEC):
        directory = checkout(tmp_path / str(number), with_encoding(kind, name), ENCODED_DATA)
        run_located(directory, "validate")
        run_located(directory, "plan")


@pytest.mark.slow
@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    kind=st.sampled_from(sorted(SOURCE_PATHS)),
    name=st.sampled_from(CODEC_NAMES),
    content=st.lists(
        st.sampled_from(
            [
                *(b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xef\xbb\xbf", b"\x00"),
                *(b"\xff", b"\\", b"\\u", b"xn--", b"+-", b"~{", b"\x1b$B", b"\xc3\xa9", b'"'),
                *(b",", b"\n", b"\r", b"[", b"{", b"]", b"}", b"email", b"a@b.co", b"=\n"),
                b"begin ",
            ]
        ),
        max_size=12,
    ),
)
def test_any_codec_on_odd_bytes_gives_a_located_error(
    tmp_path: Path, kind: str, name: str, content: list[bytes]
) -> None:
    path = SOURCE_PATHS[kind].split(": ")[1][:-1]
    data = {**ENCODED_DATA, path: ENCODED_DATA[path][:20] + b"".join(content)}
    directory = checkout(tmp_path, with_encoding(kind, name), data)
    run_located(directory, "validate")
    run_located(directory, "plan")
