"""Protected lead fields (issue 25): the list, its documentation, and validate's rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mktsync.config import ConfigError, load_config
from mktsync.config.protected import (
    CONSENT_FLAGS,
    PROTECTED,
    consent_value,
    field_guard,
    protected_field,
)

DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "fields.md"

CONFIG = """version: 1
sources:
  people: {{type: inline, rows: [{{email: ada@example.com, out: "true"}}]}}
campaigns:
  x:
    campaign_id: 12
    source: people
    lead: {{email: "{{{{ row.email }}}}"}}
    fields:
{fields}
{extra}"""


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # problems name the file as given: campaigns.yaml


def load(tmp_path: Path, fields: str, extra: str = "") -> object:
    (tmp_path / "campaigns.yaml").write_text(
        CONFIG.format(fields=fields, extra=extra), encoding="utf-8"
    )
    return load_config(Path("campaigns.yaml"))


def problems(tmp_path: Path, fields: str, extra: str = "") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, fields, extra)
    return [str(p) for p in caught.value.problems]


def test_the_documented_table_is_the_list_in_the_code() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("### The list, and where each name comes from") :]
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \| ([^|]+) \|$", section, re.MULTILINE)
    documented = {name: category for name, category, _ in rows}
    assert documented == {p.name: p.category for p in PROTECTED.values()}
    assert all(source.strip() for _, _, source in rows)  # every name says where it is from
    assert {PROTECTED[n].name for n in CONSENT_FLAGS} <= set(documented)


@pytest.mark.parametrize(
    ("value", "direction"),
    [
        ("true", "withdraw"),
        (" TRUE ", "withdraw"),
        ("1", "withdraw"),
        ("false", "grant"),
        ("False", "grant"),
        ("0", "grant"),
        ("", "grant"),
        ("  ", "grant"),
        ("yes", None),
        ("None", None),
        ("2", None),
    ],
)
def test_consent_values(value: str, direction: str | None) -> None:
    assert consent_value("unsubscribed", value) == direction


def test_names_are_matched_ignoring_case(tmp_path: Path) -> None:
    assert protected_field("UNSUBSCRIBED") is protected_field("unsubscribed")
    (message,) = problems(tmp_path, '      Unsubscribed: "true"')
    assert message == (
        "campaigns.yaml:10:7: campaigns.x.fields.Unsubscribed: 'Unsubscribed' is a protected"
        " lead field (consent) (Marketo's 'unsubscribed'; names match ignoring case): mktsync"
        " does not write it unless allow_protected_fields names it with a reason"
    )


def test_an_allowance_must_spell_the_field_as_written(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        '      Unsubscribed: "true"',
        "    allow_protected_fields:\n      - {field: unsubscribed, reason: opt-outs}\n",
    )
    assert "allow_protected_fields names 'unsubscribed', which differs in case" in found[0]


def test_allowed_withdrawal_loads_with_its_reason(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        '      unsubscribed: "{{ row.out }}"',
        "    allow_protected_fields:\n      - field: unsubscribed\n"
        "        reason: '  opt-outs from the event desk  '\n",
    )
    campaign = config.campaigns["x"]  # type: ignore[attr-defined]
    (allowed,) = campaign.allow_protected_fields
    assert (allowed.field, allowed.reason, allowed.grant_consent) == (
        "unsubscribed",
        "opt-outs from the event desk",
        False,
    )
    assert allowed.position.line == 12
    guard = field_guard(campaign)
    assert guard is not None
    assert guard((("unsubscribed", "true"),)) is None
    assert "would grant consent (re-subscribe the lead)" in str(guard((("unsubscribed", "0"),)))
    assert guard((("unsubscribed", " "),)) == (
        "fields.unsubscribed: renders empty, which would clear the flag and so grant consent "
        "(re-subscribe the lead); mktsync only withdraws consent unless allow_protected_fields "
        "says grant_consent: true for unsubscribed"
    )


def test_a_campaign_without_protected_fields_pays_nothing_per_row(tmp_path: Path) -> None:
    config = load(tmp_path, '      webinarJoinLink: "x{{ row.email }}"')
    assert field_guard(config.campaigns["x"]) is None  # type: ignore[attr-defined]


def test_a_missing_reason_is_located(tmp_path: Path) -> None:
    (message,) = problems(
        tmp_path,
        '      unsubscribed: "{{ row.out }}"',
        "    allow_protected_fields:\n      - field: unsubscribed\n",
    )
    assert (
        message
        == "campaigns.yaml:12:9: campaigns.x.allow_protected_fields[0]: 'reason' is required"
    )


def test_a_protected_field_not_written_is_a_warning(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        '      webinarJoinLink: "x{{ row.email }}"',
        "    allow_protected_fields:\n      - {field: doNotCall, reason: calls}\n",
    )
    (warning,) = config.warnings  # type: ignore[attr-defined]
    assert "'doNotCall' is not written by this campaign" in str(warning)
