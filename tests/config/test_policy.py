"""The command line's policy: which ${VAR} resolve, where sources may be, --untrusted."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest

from mktsync.cli import main
from mktsync.config import EnvString, Policy, load_config
from mktsync.errors import EnvironmentVariableError
from mktsync.sources import iter_rows

CONFIG = """\
version: 1
ledger: "${LEDGER_URL:-sqlite:///.mktsync/ledger.db}"
sources:
  people: {type: csv, path: PATH}
campaigns:
  welcome: {campaign_id: 1, source: people, lead: {email: "{{ row.email }}"}}
"""


def run(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue() + err.getvalue()


def layout(tmp_path: Path, path: str = "data/people.csv", config_dir: str = ".") -> Path:
    for folder in ("data", "other"):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / "people.csv").write_text("email\nada@example.com\n")
    config = tmp_path / config_dir / "campaigns.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(textwrap.dedent(CONFIG).replace("PATH", path))
    return config


def test_a_variable_needs_its_prefix_or_allow_env(tmp_path: Path) -> None:
    config = layout(tmp_path)
    code, text = run("validate", str(config))
    assert code == 1
    assert "ledger: environment variable LEDGER_URL is not allowed" in text
    code, text = run("validate", "--allow-env", "LEDGER_URL", str(config))
    assert (code, text.startswith("ok: ")) == (0, True), text


def test_an_env_string_built_in_code_obeys_the_default_policy() -> None:
    with pytest.raises(EnvironmentVariableError, match="HOME is not allowed"):
        EnvString(raw="${HOME}", field="x").resolve({"HOME": "/root"})
    allowed = EnvString(raw="${HOME}", policy=Policy(allow_env=frozenset({"HOME"})))
    assert allowed.resolve({"HOME": "/root"}) == "/root"
    assert EnvString(raw="${MKTSYNC_X}").resolve({"MKTSYNC_X": "1"}) == "1"


def test_the_loaded_config_carries_the_policy_to_every_resolve(tmp_path: Path) -> None:
    config = load_config(layout(tmp_path), policy=Policy(allow_env=frozenset({"LEDGER_URL"})))
    assert config.ledger.resolve({"LEDGER_URL": "sqlite:///x.db"}) == "sqlite:///x.db"
    assert config.sources["people"].policy.allow_env == frozenset({"LEDGER_URL"})


def test_data_root_lets_a_config_in_a_subfolder_read_data_beside_it(tmp_path: Path) -> None:
    config = layout(tmp_path, path="../data/people.csv", config_dir="config")
    allow = ("--allow-env", "LEDGER_URL")
    code, text = run("validate", *allow, str(config))
    assert "'../data/people.csv' leads outside the config file's folder with '..'" in text
    code, text = run("validate", *allow, "--data-root", str(tmp_path), str(config))
    assert code == 0, text
    policy = Policy(allow_env=frozenset({"LEDGER_URL"}), data_root=tmp_path)
    rows = list(iter_rows(load_config(config, policy=policy).sources["people"]))
    assert rows == [(2, {"email": "ada@example.com"})]


def test_untrusted_reads_only_the_allowed_folders(tmp_path: Path) -> None:
    config = layout(tmp_path, path="other/people.csv")
    allow = ("--allow-env", "LEDGER_URL")
    assert run("validate", *allow, str(config))[0] == 0
    code, text = run("validate", *allow, "--untrusted", str(config))
    assert "'other/people.csv' is outside the folders an untrusted run may read (data/" in text
    code, text = run("validate", *allow, "--untrusted", "--allow-path", "other", str(config))
    assert code == 0, text
