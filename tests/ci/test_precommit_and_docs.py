"""The pre-commit hook runs; the generated configuration reference is up to date; the
hand-written docs name every exit code, Marketo code and plan field the code has."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import shlex
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from ci_testing import HOOKS, REPO, copy_example

from mktsync import errors
from mktsync.cli import main
from mktsync.marketo import codes


def hooks() -> list[dict]:
    data = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return data


def test_hook_is_declared_as_agreed() -> None:
    (hook,) = hooks()
    assert hook["id"] == "mktsync-validate"
    assert hook["pass_filenames"] is True
    assert hook["language"] == "python"
    files = re.compile(hook["files"])
    assert files.search("campaigns.yaml") and files.search("marketing/campaigns.yml")
    assert not files.search("campaigns.yaml.bak") and not files.search("other.yaml")


def test_hook_entry_validates_the_files_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (hook,) = hooks()
    entry = shlex.split(hook["entry"])
    assert entry[0] == "mktsync"
    good = copy_example(tmp_path)
    bad = tmp_path / "broken" / "campaigns.yml"
    bad.parent.mkdir()
    bad.write_text("version: 1\nsources: {}\ncampaigns: {x: {source: nope}}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    assert main([*entry[1:], str(good.name)], stdout=out, stderr=io.StringIO()) == 0
    out = io.StringIO()
    code = main([*entry[1:], str(good.name), "broken/campaigns.yml"], stdout=out)
    assert code == 1
    assert "broken/campaigns.yml:3:" in out.getvalue()


# -- docs/configuration.md --------------------------------------------------------------


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_config_docs", REPO / "tools" / "gen_config_docs.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_reference_is_up_to_date() -> None:
    gen = generator()
    assert gen.main(["--check"]) == 0, "run: python tools/gen_config_docs.py"


def test_check_fails_when_the_file_is_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gen = generator()
    stale = tmp_path / "configuration.md"
    stale.write_text((REPO / "docs" / "configuration.md").read_text() + "edited by hand\n")
    monkeypatch.setattr(gen, "TARGET", stale)
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    assert gen.main(["--check"]) == 1


def schema_properties(node: dict, schema: dict, path: str = "") -> set[str]:
    """Every property name of the schema, with the dotted path the docs use."""
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    found: set[str] = set()
    for name, prop in (node.get("properties") or {}).items():
        here = f"{path}.{name}" if path else name
        found.add(here)
        found |= schema_properties(prop, schema, here)
        extra = prop.get("additionalProperties")
        if isinstance(extra, dict):
            found |= schema_properties(extra, schema, f"{here}.NAME")
    for branch in node.get("allOf") or []:
        found |= schema_properties(branch["then"], schema, path)
    return found


def test_reference_documents_every_property_with_defaults_and_enums() -> None:
    schema = json.loads((REPO / "mktsync" / "schema" / "campaigns.schema.json").read_text())
    text = generator().render(schema)
    paths = schema_properties(schema, schema)
    assert len(paths) > 30
    for path in paths:
        assert f"| `{path}` |" in text, path
    assert "| `campaigns.NAME.retrigger` | string (enum) |  | `never` |" in text
    assert "Allowed: `csv`, `json`, `jsonl`, `inline`, `sql`" in text


# -- hand-written docs --------------------------------------------------------------------


def doc(name: str) -> str:
    return (REPO / "docs" / name).read_text(encoding="utf-8")


def test_exit_codes_doc_has_every_exit_code() -> None:
    text = doc("exit-codes.md")
    exit_codes = {v for k, v in vars(errors).items() if k.startswith("EXIT_")}
    for value in exit_codes:
        assert re.search(rf"^\| {value} \|", text, re.M), value


def test_troubleshooting_covers_every_code_mktsync_treats_specially() -> None:
    text = doc("troubleshooting.md")
    special = (
        codes.TOKEN_CODES | codes.THROTTLE_CODES | codes.TRANSIENT_CODES | codes.NOT_FOUND_CODES
    )
    for code in sorted(special | {"603", "607", "609", "611", "612", "1003", "1004"}):
        assert code in text, code
    for status in ("pending", "sent", "failed", "unknown"):
        assert f"| `{status}` |" in text


def test_plan_json_doc_names_every_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    assert main(["plan", "--format", "json"], stdout=out, stderr=io.StringIO()) == 0
    plan = json.loads(out.getvalue())
    text = doc("plan-json.md")

    def keys(value: object) -> set[str]:
        if isinstance(value, dict):
            inner = set() if "{{" in "".join(value) else set(value)  # token names are data
            # a lead's `fields` are lead field API names: data too
            return inner.union(*(keys(v) for k, v in value.items() if k != "fields"))
        if isinstance(value, list):
            return set().union(*(keys(v) for v in value))
        return set()

    # The two small objects are documented by dotted name below.
    for key in keys(plan) - {"config", "ledger", "path", "digest", "fingerprint"}:
        assert f"| `{key}` |" in text, key
    for key in ("config.path", "config.digest", "ledger.fingerprint", "old_tokens", "retry_of"):
        assert f"`{key}`" in text, key
