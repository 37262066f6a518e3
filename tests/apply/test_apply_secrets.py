"""Every byte printed or logged by apply runs holds neither the client secret nor a token."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from apply_helpers import cli, emulator, rows, write_project

SECRET = "s3cret-Value-That-Must-Not-Leak"


def live_token(base_url: str) -> str:
    """The token the runs used: identity hands back the live token while it is valid."""
    reply = httpx.post(
        f"{base_url}/identity/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "ci-client",
            "client_secret": SECRET,
        },
    )
    return str(reply.json()["access_token"])


def test_no_secret_or_token_in_output_logs_ledger_or_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_project(tmp_path, rows(5, shared_code=False))
    clients = [{"client_id": "ci-client", "client_secret": SECRET}]
    captured: list[str] = []
    caplog.set_level(logging.DEBUG)  # httpx and httpcore log URLs and headers at DEBUG
    with emulator(path, clients=clients) as emu:
        monkeypatch.setenv("MARKETO_BASE_URL", emu.base_url)
        monkeypatch.setenv("MARKETO_CLIENT_ID", "ci-client")
        monkeypatch.setenv("MARKETO_CLIENT_SECRET", SECRET)
        emu.script_fault("trigger", 2, "lost")
        for argv in (
            ["apply", str(path), "--yes"],
            ["apply", str(path), "--yes", "--format", "json", "--log-format", "json"],
            ["plan", str(path), "--format", "json", "--out", str(tmp_path / "plan.json")],
        ):
            code, out, err = cli(argv, None, monkeypatch)
            captured += [out, err]
        tokens = [live_token(emu.base_url)]
        emu.revoke_tokens()  # a revoked token forces a renewal on the next run
        captured += list(
            cli(["apply", str(path), "--yes", "--retry-unknown"], None, monkeypatch)[1:]
        )
        tokens.append(live_token(emu.base_url))
        journal = str(emu.journal())
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert logs, "the test must really have captured log records"
    ledger = b"".join(p.read_bytes() for p in (tmp_path / ".mktsync").glob("ledger.db*"))
    plan = (tmp_path / "plan.json").read_text(encoding="utf-8")
    everything = "\n".join([*captured, logs, plan, journal])
    assert SECRET not in everything
    assert tokens[0] != tokens[1]
    for token in tokens:
        assert token.split(":")[0] not in everything
        assert token.encode() not in ledger
    assert SECRET.encode() not in ledger
