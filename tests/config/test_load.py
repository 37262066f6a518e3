"""load_config on the example and on edge cases; the schema and its copies."""

from __future__ import annotations

import io
import json
import runpy
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from mktsync.cli import main
from mktsync.config import load_config, validate
from mktsync.config.model import EnvString
from mktsync.config.schema import schema_text
from mktsync.errors import ConfigError, EnvironmentVariableError

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "campaigns.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid_without_warnings() -> None:
    result = validate(REPO / "campaigns.yaml")
    assert result.ok, [str(p) for p in result.problems]
    assert result.problems == ()
    config = result.config
    assert config is not None
    reminder = config.campaigns["webinar-reminder"]
    assert reminder.campaign_id == 1234
    assert [t.name for t in reminder.tokens] == ["{{my.WebinarImage}}", "{{my.WebinarTitle}}"]
    assert [name for name, _ in reminder.fields] == ["webinarJoinLink"]
    # The YAML alias gives the second campaign the same token templates.
    known = config.campaigns["webinar-reminder-known-leads"]
    assert [t.template.text for t in known.tokens] == [t.template.text for t in reminder.tokens]
    assert config.marketo.limits.safety_margin == 0.2
    assert config.ledger.resolve({}) == "sqlite:///.mktsync/ledger.db"
    assert config.ledger.resolve({"MKTSYNC_LEDGER_URL": "postgresql://db/x"}) == "postgresql://db/x"


def test_example_starts_with_schema_modeline() -> None:
    first = (REPO / "campaigns.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=./schema/campaigns.schema.json"


def test_schema_is_valid_2020_12() -> None:
    schema = json.loads(schema_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_copies_agree_with_their_source() -> None:
    source = runpy.run_path(str(REPO / "tools" / "schema_source.py"), run_name="schema_source")
    expected = source["render"]()
    assert (REPO / "schema" / "campaigns.schema.json").read_text(encoding="utf-8") == expected
    assert (REPO / "mktsync" / "schema" / "campaigns.schema.json").read_text(
        encoding="utf-8"
    ) == expected


def _properties(node: object, path: str = "") -> list[str]:
    """Every property schema without a description, anywhere in the schema."""
    missing: list[str] = []
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            if isinstance(sub, dict) and "description" not in sub and "const" not in sub:
                missing.append(f"{path}.{name}")
        for key, value in node.items():
            missing += _properties(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            missing += _properties(value, f"{path}[{i}]")
    return missing


def test_every_schema_property_is_described() -> None:
    assert _properties(json.loads(schema_text())) == []


def test_schema_command_prints_the_schema() -> None:
    out = io.StringIO()
    assert main(["schema"], stdout=out) == 0
    assert json.loads(out.getvalue()) == json.loads(schema_text())


def test_installed_console_script_prints_the_schema() -> None:
    exe = Path(sys.executable).with_name("mktsync")
    proc = subprocess.run([str(exe), "schema"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == json.loads(
        (REPO / "schema" / "campaigns.schema.json").read_text(encoding="utf-8")
    )


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mktsync", "validate", str(REPO / "campaigns.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok: ")


def test_env_references_are_not_resolved_when_loading(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """version: 1
marketo:
  base_url: ${MARKETO_BASE_URL}
  client_id: ${MARKETO_CLIENT_ID}
  client_secret: ${MARKETO_CLIENT_SECRET}
ledger: sqlite:///${MKTSYNC_LEDGER_DIR:-.state}/ledger.db
sources: {people: {type: inline, rows: [{id: 1}]}}
campaigns:
  welcome: {campaign_id: 7, source: people, lead: {id: "{{ row.id }}"}}
""",
    )
    config = load_config(path)  # no MARKETO_* in the environment (conftest removes them)
    assert config.ledger.resolve({}) == "sqlite:///.state/ledger.db"
    assert config.marketo.client_secret is not None
    assert config.marketo.client_secret.variables == ("MARKETO_CLIENT_SECRET",)
    with pytest.raises(EnvironmentVariableError) as info:
        config.marketo.client_secret.resolve({})
    assert "MARKETO_CLIENT_SECRET is not set" in str(info.value)
    assert "campaigns.yaml:5:18: marketo.client_secret" in str(info.value)
    assert config.marketo.client_secret.resolve({"MARKETO_CLIENT_SECRET": "s3cret"}) == "s3cret"


def test_env_string_repr_never_holds_values() -> None:
    value = EnvString(raw="${MKTSYNC_SECRET}")
    assert "hunter2" not in repr(value)
    assert value.resolve({"MKTSYNC_SECRET": "hunter2"}) == "hunter2"


def test_literal_secret_is_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """version: 1
marketo: {client_secret: abc123}
sources: {people: {type: inline, rows: [{id: 1}]}}
campaigns:
  welcome: {campaign_id: 7, source: people, lead: {id: "{{ row.id }}"}}
""",
    )
    result = validate(path)
    assert result.ok
    assert [p.severity for p in result.problems] == ["warning"]
    assert "client secret is written in the file" in result.problems[0].message
    assert "abc123" not in str(result.problems[0])


def test_dates_stay_strings(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """version: 1
sources: {people: {type: inline, rows: [{id: 1, day: 2026-12-01}]}}
campaigns:
  welcome:
    campaign_id: 7
    source: people
    lead: {id: "{{ row.id }}"}
    tokens: {my.Day: 2026-12-01, my.Count: 3, my.Flag: true}
""",
    )
    config = load_config(path)
    assert config.sources["people"].options["rows"][0]["day"] == "2026-12-01"
    tokens = {t.name: t.template.text for t in config.campaigns["welcome"].tokens}
    assert tokens == {"{{my.Day}}": "2026-12-01", "{{my.Count}}": "3", "{{my.Flag}}": "true"}


def test_a_very_large_file_reports_its_located_error(tmp_path: Path) -> None:
    lines = ["version: 1", "sources:", "  people:", "    type: inline", "    rows:"]
    lines += [f"      - {{email: user{i}@example.com}}" for i in range(50_000)]
    lines += ["campaigns:", "  welcome:", "    campaign_id: 0", "    source: people"]
    lines += ['    lead: {email: "{{ row.email }}"}']
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [p.line for p in info.value.problems] == [50_008]
    assert "campaigns.welcome.campaign_id: must be at least 1, got 0" in str(info.value)


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.yaml"
    path.write_bytes(b"version: 1\n" + b"# padding\n" * 1_100_000)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "the limit is 10 MiB" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    err = io.StringIO()
    assert main(["validate", str(tmp_path / "nope.yaml")], stdout=io.StringIO(), stderr=err) == 1


def test_merge_keys_and_explicit_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """version: 1
sources: {people: {type: inline, rows: [{id: 1}]}}
x-defaults: &defaults
  source: people
  lead: {id: "{{ row.id }}"}
campaigns:
  welcome:
    <<: *defaults
    campaign_id: 7
""",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    # Extension keys are not allowed at the top level (typos must be errors) ...
    assert "unknown key 'x-defaults'" in str(info.value)
    # ... but the merge itself worked: no complaint about the welcome campaign.
    assert "campaigns.welcome" not in str(info.value)


def test_schema_source_types_are_the_registry() -> None:
    from mktsync.sources import SOURCES

    kinds = json.loads(schema_text())["$defs"]["source"]["properties"]["type"]["enum"]
    assert set(kinds) == set(SOURCES)


FIELDS_CONFIG = """\
version: 1
marketo: {{base_url: "${{MARKETO_BASE_URL}}", client_id: "${{MARKETO_CLIENT_ID}}", client_secret: "${{MARKETO_CLIENT_SECRET}}"}}
sources:
  people: {{type: inline, rows: [{{email: a@example.com, link: "https://j/1"}}]}}
campaigns:
  reminder:
    campaign_id: 1
    source: people
    lead: {{email: "{{{{ row.email }}}}"}}
    fields:
{fields}
"""


def test_campaign_fields_load_sorted_and_render_into_items(tmp_path: Path) -> None:
    from mktsync.render import iter_items

    fields = '      webinarJoinLink: "{{ row.link }}"\n      aNote: "x"'
    config = load_config(write(tmp_path, FIELDS_CONFIG.format(fields=fields)))
    campaign = config.campaigns["reminder"]
    assert [name for name, _ in campaign.fields] == ["aNote", "webinarJoinLink"]
    (item,) = list(iter_items(config, campaign))
    assert dict(item.fields) == {"aNote": "x", "webinarJoinLink": "https://j/1"}


@pytest.mark.parametrize("name", ["my.JoinLink", "join link", "1stField"])
def test_campaign_field_names_must_be_api_names(tmp_path: Path, name: str) -> None:
    result = validate(write(tmp_path, FIELDS_CONFIG.format(fields=f'      "{name}": "x"')))
    assert not result.ok
    message = " ".join(str(p) for p in result.problems)
    assert "is not a Marketo lead field API name" in message
    assert "campaigns.yaml:11:" in message


def test_warnings_beside_errors_are_not_printed_as_errors(tmp_path: Path) -> None:
    path = tmp_path / "campaigns.yaml"
    path.write_text(
        "version: 1\n"
        "sources:\n"
        "  unused: {type: inline, rows: [{email: a@example.com}]}\n"
        "campaigns:\n"
        "  c: {campaign_id: 0, source: unused, lead: {email: '{{ row.email }}'}}\n"
        "  d: {campaign_id: 2, source: nowhere, lead: {email: '{{ row.email }}'}}\n",
        encoding="utf-8",
    )
    path.write_text(path.read_text().replace("source: unused", "source: nowhere"))
    out, err = io.StringIO(), io.StringIO()
    assert main(["plan", str(path)], stdout=out, stderr=err) == 1
    lines = err.getvalue().splitlines()
    assert any(line.startswith("error: ") for line in lines)
    warnings = [line for line in lines if "warning: " in line]
    assert warnings and not any(line.startswith("error: ") for line in warnings)
