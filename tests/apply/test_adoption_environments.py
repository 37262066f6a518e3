"""Environments: one file, a sandbox and a production instance, each with its own ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apply_helpers import cli, emulator, rows, write_project

from mktsync.config import load_config
from mktsync.ledger import open_ledger
from mktsync.ledger.instance import bind_instance, instance_of

SECRET = "sandbox-Secret-Must-Not-Leak"
ENVIRONMENTS = {
    "sandbox": {
        "marketo": {
            "base_url": "${MARKETO_SANDBOX_URL}",
            "client_id": "${MARKETO_SANDBOX_CLIENT_ID}",
            "client_secret": "${MARKETO_SANDBOX_CLIENT_SECRET}",
        },
        "ledger": "sqlite:///.mktsync/sandbox.db",
    },
    "production": {"ledger": "sqlite:///.mktsync/production.db"},
}


def project(tmp_path: Path) -> Path:
    return write_project(tmp_path, rows(3), environments=ENVIRONMENTS)


def sandbox_env(monkeypatch: pytest.MonkeyPatch, emu: object) -> None:
    monkeypatch.setenv("MARKETO_SANDBOX_URL", emu.base_url)  # type: ignore[attr-defined]
    monkeypatch.setenv("MARKETO_SANDBOX_CLIENT_ID", "sandbox-client")
    monkeypatch.setenv("MARKETO_SANDBOX_CLIENT_SECRET", SECRET)


def test_apply_refuses_without_env_and_uses_the_chosen_instance_and_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project(tmp_path)
    clients = [{"client_id": "sandbox-client", "client_secret": SECRET}]
    with emulator(path, clients=clients) as emu:
        sandbox_env(monkeypatch, emu)
        code, out, err = cli(["apply", str(path), "--yes"], None, monkeypatch)
        assert code == 1
        assert "declares environments (sandbox, production): name one with --env" in err
        assert emu.journal() == []
        code, out, err = cli(["plan", str(path), "--env", "sandbox"], None, monkeypatch)
        assert out.splitlines()[0] == "Environment: sandbox"
        code, out, err = cli(
            ["plan", str(path), "--env", "sandbox", "--format", "markdown"], None, monkeypatch
        )
        assert out.splitlines()[1] == "### mktsync plan: environment `sandbox`"
        code, out, err = cli(
            ["plan", str(path), "--env", "sandbox", "--format", "json"], None, monkeypatch
        )
        assert json.loads(out)["environment"] == "sandbox"
        monkeypatch.setenv("MKTSYNC_ENV", "sandbox")  # the variable works as --env does
        code, out, err = cli(["apply", str(path), "--yes"], None, monkeypatch)
        assert code == 0, out + err
        assert sum(len(t["lead_ids"]) for t in emu.triggers()) == 3
        logged = out + err + json.dumps(emu.journal())
    assert SECRET not in logged
    assert (tmp_path / ".mktsync" / "sandbox.db").exists()
    assert not (tmp_path / ".mktsync" / "production.db").exists()
    assert not (tmp_path / ".mktsync" / "ledger.db").exists()
    config = load_config(path, environment="sandbox")
    with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
        assert instance_of(ledger) == "localhost"  # an emulator, whatever its port
        assert SECRET.encode() not in (tmp_path / ".mktsync" / "sandbox.db").read_bytes()
    # production reads the top-level marketo (MARKETO_*): its ledger is empty, all is new.
    code, out, err = cli(["plan", str(path), "--env", "production"], None, monkeypatch)
    assert code == 0 and "+ trigger           3" in out


def test_a_ledger_refuses_another_marketo_instance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project(tmp_path)
    config = load_config(path, environment="sandbox")
    with open_ledger(config.ledger.resolve(), config.base_dir) as ledger:
        bind_instance(ledger, "123-ABC-456.mktorest.com")  # a production ledger copied over
    with emulator(path, clients=[{"client_id": "sandbox-client", "client_secret": SECRET}]) as emu:
        sandbox_env(monkeypatch, emu)
        code, out, err = cli(["apply", str(path), "--yes", "--env", "sandbox"], None, monkeypatch)
        assert code == 1
        assert "belongs to Marketo instance 123-abc-456.mktorest.com" in err
        assert "this run is for localhost (environment 'sandbox')" in err
        assert emu.triggers() == []
        assert SECRET not in out + err


def test_unknown_environment_and_validation_of_environments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project(tmp_path)
    code, out, err = cli(["plan", str(path), "--env", "sandbx"], None, monkeypatch)
    assert code == 1
    assert "no environment named 'sandbx' (declared: sandbox, production)" in err
    assert "did you mean 'sandbox'" in err
    text = path.read_text(encoding="utf-8")
    shared = text.replace(
        "  production:\n",
        "  production:\n    marketo:\n      client_secret: ${MARKETO_SANDBOX_CLIENT_SECRET}\n",
    )
    path.write_text(shared, encoding="utf-8")
    code, out, err = cli(["validate", str(path)], None, monkeypatch)
    assert code == 0, out
    assert "warning: environments 'sandbox', 'production' read the same credential variable" in out
    # Without a top-level client_id, production has nothing to authenticate with.
    path.write_text(text.replace("  client_id: ${MARKETO_CLIENT_ID}\n", ""), encoding="utf-8")
    code, out, err = cli(["validate", str(path)], None, monkeypatch)
    assert code == 1
    assert "environments.production: environment 'production' has no marketo.client_id" in out
    assert "sandbox" not in out
