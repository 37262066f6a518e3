"""A ledger URL's password never shows, whatever command fails on it (QA of issue 25).

The workflow's ``${MKTSYNC_LEDGER_URL}`` secret is a URL with a password.  A driver's
parse or connection error may quote it ("invalid percent-encoded token: \"s3cr%et\"") or
name its host; every command names the ledger as written instead (``${MKTSYNC_LEDGER_URL}``,
never its value), and a URL given with ``--ledger`` as given, its password as ``***``.
Real subprocesses; every URL is malformed or points at a closed port on loopback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from testing.project import LEAD_BY_EMAIL, MARKETO_FROM_ENV, csv_source, write_file, write_project

SECRET = "Zq9s3cr"  # in each URL's password; no output may hold it, encoded or not
USER, DB = "ledgeruser", "ledgerdb"  # parts of the variable's value: not shown either

URLS = {
    "bad-percent": f"postgresql://{USER}:{SECRET}%et-Pw@127.0.0.1:1/{DB}",
    "bad-host": f"postgresql://{USER}:{SECRET}%et@[::1/{DB}",
    "bad-host-encoded": f"postgresql://{USER}:{SECRET}%40x@[::1/{DB}",
    "refused": f"postgresql://{USER}:{SECRET}-Pw@127.0.0.1:1/{DB}?sslpassword={SECRET}k",
}

COMMANDS = {
    "validate": ["validate"],
    "plan": ["plan"],
    "plan-json": ["plan", "--format", "json"],
    "apply": ["apply", "--yes"],
    "ledger-status": ["ledger", "status"],
    "ledger-show": ["ledger", "show", "ann@example.com"],
    "ledger-export": ["ledger", "export"],
    "ledger-export-sqlite": ["ledger", "export", "--format", "sqlite", "--out", "copy.db"],
    "ledger-forget": ["ledger", "forget", "k", "--campaign-id", "1234", "--why", "x"],
    "ledger-mark-sent": ["ledger", "mark-sent", "k", "--campaign-id", "1234", "--why", "x"],
    "ledger-settle": ["ledger", "settle"],
    "ledger-import": ["ledger", "import", "--campaign", "reminder", "--why", "x", "keys.csv"],
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("leak")
    write_file(root / "data" / "regs.csv", "email\nann@example.com\n")
    write_file(root / "keys.csv", "key\nann@example.com\n")
    write_project(
        root,
        marketo=MARKETO_FROM_ENV,
        ledger="${MKTSYNC_LEDGER_URL}",
        sources={"regs": csv_source("data/regs.csv")},
        campaigns={"reminder": {"campaign_id": 1234, "source": "regs", "lead": LEAD_BY_EMAIL}},
    )
    return root


def run(repo: Path, argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MARKETO_", "MKTSYNC_"))}
    clean |= {
        "MARKETO_BASE_URL": "http://127.0.0.1:1",
        "MARKETO_CLIENT_ID": "id",
        "MARKETO_CLIENT_SECRET": "not-the-ledger-secret",
    }
    return subprocess.run(
        [sys.executable, "-m", "mktsync", *argv],
        cwd=repo,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("shape", URLS)
def test_no_command_prints_the_ledger_urls_password_or_value(
    repo: Path, shape: str, command: str
) -> None:
    url = URLS[shape]
    out = run(repo, COMMANDS[command], MKTSYNC_LEDGER_URL=url)
    printed = out.stdout + out.stderr
    assert "internal error" not in printed and "Traceback" not in printed, printed
    if command != "validate":  # validate reads no ledger
        assert out.returncode == 1, printed
        assert "${MKTSYNC_LEDGER_URL}" in out.stderr, printed
        assert out.stdout == "", "nothing is written before the ledger is known to open"
    for piece in (SECRET, USER, DB, "127.0.0.1", "::1"):
        assert piece not in printed, (piece, printed)


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.startswith("ledger")])
@pytest.mark.parametrize("shape", URLS)
def test_a_url_given_with_ledger_is_shown_as_given_but_never_its_password(
    repo: Path, shape: str, command: str
) -> None:
    url = URLS[shape]
    out = run(repo, [*COMMANDS[command], "--ledger", url], MKTSYNC_LEDGER_URL=url)
    printed = out.stdout + out.stderr
    assert out.returncode == 1 and "internal error" not in printed, printed
    assert SECRET not in printed, printed
