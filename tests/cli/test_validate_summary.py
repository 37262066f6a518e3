"""``mktsync validate`` words the result's counts; the contract's warnings count with the
config's own (no summary is re-read)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mktsync.cli import main
from mktsync.sources.contract import validate_all

CONFIG = """version: 1
marketo:
  base_url: https://123-ABC-456.mktorest.com
  client_id: x
  client_secret: abc123
sources:
  s: {type: csv, path: d.csv}
campaigns:
  c:
    campaign_id: 1
    source: s
    when: row.n == 3
    lead: {email: "{{ row.email }}"}
"""


def test_a_config_warning_and_a_contract_warning_make_two(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text("email,n\na@example.com,1\n", encoding="utf-8")
    (tmp_path / "campaigns.yaml").write_text(CONFIG, encoding="utf-8")
    result = validate_all(tmp_path / "campaigns.yaml")
    assert result.ok and (result.sources, result.campaigns, result.templates) == (1, 1, 2)
    assert result.warnings == 2  # the secret written in the file; row.n compared with 3
    out = io.StringIO()
    assert main(["validate"], stdout=out, stderr=io.StringIO()) == 0
    assert out.getvalue().splitlines()[-1] == (
        "ok: campaigns.yaml: 1 source, 1 campaign, 2 templates compiled, 2 warnings"
    )
