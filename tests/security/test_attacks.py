"""A pull request's attack corpus: each config is refused, quickly, and leaks nothing.

Every case runs ``mktsync validate`` in-process on a checkout with a secret planted
outside the repository (a file, the environment) and in ``.git/config``, and checks
what a reviewer would see: exit 1, the located reason, no trace of the secret in any
output, and the refusal within a few seconds (no hang, no gigabyte).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from attack import BUDGET_SECONDS, SECRET, SECRET_ENV, Checkout, csv_config, sql_config

Case = Callable[[Checkout], tuple[str | None, list[str]]]  # -> (config text, extra argv)


def _symlink_out(c: Checkout) -> tuple[str | None, list[str]]:
    (c.repo / "data" / "link.csv").symlink_to(c.secret_file)
    return csv_config("data/link.csv"), []


def _symlinked_folder(c: Checkout) -> tuple[str | None, list[str]]:
    (c.repo / "data" / "shared").symlink_to(c.outside, target_is_directory=True)
    return csv_config("data/shared/credentials.csv"), []


def _fifo(c: Checkout) -> tuple[str | None, list[str]]:
    os.mkfifo(c.repo / "data" / "pipe.csv")
    return csv_config("data/pipe.csv"), []


def _socket(c: Checkout) -> tuple[str | None, list[str]]:
    path = c.repo / "data" / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(os.path.relpath(path))  # relative: AF_UNIX paths are short
    finally:
        server.close()
    return csv_config("data/s.sock"), []


def _sqlite_symlink(c: Checkout) -> tuple[str | None, list[str]]:
    (c.repo / "data" / "app.db").symlink_to(c.secret_file)
    return sql_config("sqlite:///data/app.db"), []


def _ledger_fifo(c: Checkout) -> tuple[str | None, list[str]]:
    os.mkfifo(c.repo / "ledger.db")
    return csv_config("data/people.csv", extra="ledger: sqlite:///ledger.db"), []


def _config_linked_out(c: Checkout) -> tuple[str | None, list[str]]:
    secret = c.outside / "settings.yaml"
    secret.write_text(f"version: {SECRET}\n")  # a schema error would quote the value
    c.config.symlink_to(secret)
    return None, ["--untrusted"]


def _config_fifo(c: Checkout) -> tuple[str | None, list[str]]:
    os.mkfifo(c.config)
    return None, ["--untrusted"]


def _plain(text: str, *argv: str) -> Case:
    return lambda c: (text, list(argv))


CASES: dict[str, tuple[Case, str]] = {
    "absolute path": (
        lambda c: (csv_config(str(c.secret_file)), []),
        "sources.people.path: '{secret_file}' is an absolute path",
    ),
    "dot-dot escape": (
        _plain(csv_config("../outside/credentials.csv")),
        "sources.people.path: '../outside/credentials.csv' leads outside the config file's "
        "folder with '..'",
    ),
    "symlink out": (
        _symlink_out,
        "'data/link.csv' leads outside the config file's folder through a symbolic link",
    ),
    "symlinked folder": (_symlinked_folder, "through a symbolic link"),
    "proc environ": (
        _plain(csv_config("/proc/self/environ")),
        "sources.people.path: '/proc/self/environ' is an absolute path",
    ),
    "proc via dot-dot": (
        _plain(csv_config("../../../../../../../../../../proc/self/environ")),
        "leads outside the config file's folder with '..'",
    ),
    "git config": (
        _plain(csv_config(".git/config")),
        "sources.people.path: '.git/config' is inside .git, which holds the repository's credentials",
    ),
    "dev zero": (_plain(csv_config("/dev/zero")), "'/dev/zero' is an absolute path"),
    "home credentials": (
        _plain(csv_config("~/.aws/credentials")),
        "'~/.aws/credentials' is an absolute path",
    ),
    "fifo": (
        _fifo,
        "sources.people.path: 'data/pipe.csv' is a FIFO (named pipe), not a regular file",
    ),
    "socket": (_socket, "'data/s.sock' is a socket, not a regular file"),
    "directory": (
        _plain(csv_config("data")),
        "sources.people.path: 'data' is a directory, not a regular file",
    ),
    "json absolute": (
        _plain(csv_config("/etc/passwd", kind="json")),
        "'/etc/passwd' is an absolute path",
    ),
    "jsonl dot-dot": (
        _plain(csv_config("data/../../outside/credentials.csv", kind="jsonl")),
        "with '..'",
    ),
    "nul in path": (_plain(csv_config('"data/people.csv\\0x"')), "contains a NUL character"),
    "sqlite absolute": (
        lambda c: (sql_config(f"sqlite:///{c.outside}/app.db"), []),
        "sources.people.url: '{outside}/app.db' is an absolute path",
    ),
    "sqlite dot-dot": (
        _plain(sql_config("sqlite:///../outside/app.db")),
        "sources.people.url: '../outside/app.db' leads outside the config file's folder",
    ),
    "sqlite symlink": (
        _sqlite_symlink,
        "'data/app.db' leads outside the config file's folder through a symbolic link",
    ),
    "sql literal host": (
        _plain(sql_config("postgresql://reader@attacker.example/db")),
        "sources.people.url: a database URL other than sqlite:/// must come from the environment",
    ),
    "sql url of a non-allowed variable": (
        _plain(sql_config("${" + SECRET_ENV + "}")),
        f"sources.people.url: environment variable {SECRET_ENV} is not allowed",
    ),
    "ledger url with a non-allowed variable": (
        _plain(
            csv_config(
                "data/people.csv",
                extra=f'ledger: "postgresql://u@x-${{{SECRET_ENV}}}.invalid/db"',
            )
        ),
        f"ledger: environment variable {SECRET_ENV} is not allowed",
    ),
    "allowed variable inside a host name": (
        _plain(
            csv_config(
                "data/people.csv",
                extra='ledger: "postgresql://u@${MKTSYNC_LEDGER_URL}.attacker.example/db"',
            )
        ),
        "ledger: a ${{VAR}} must be the whole value (or part of a sqlite:/// path)",
    ),
    "untrusted literal ledger host": (
        _plain(
            csv_config("data/people.csv", extra="ledger: postgresql://attacker.example/db"),
            "--untrusted",
        ),
        "ledger: a database URL other than sqlite:/// must come from the environment",
    ),
    "ledger path from HOME": (
        _plain(csv_config("data/people.csv", extra="ledger: sqlite:///${HOME}/.ledger.db")),
        "ledger: environment variable HOME is not allowed",
    ),
    "marketo secret from another variable": (
        _plain(
            csv_config(
                "data/people.csv",
                extra="marketo: {base_url: '${MARKETO_BASE_URL}', client_id: x, "
                "client_secret: '${AWS_SECRET_ACCESS_KEY}'}",
            )
        ),
        "marketo.client_secret: environment variable AWS_SECRET_ACCESS_KEY is not allowed",
    ),
    "ledger fifo": (
        _ledger_fifo,
        "ledger: 'ledger.db' is a FIFO (named pipe), not a regular file (the ledger)",
    ),
    "untrusted sql source": (
        _plain(sql_config("sqlite:///data/app.db"), "--untrusted"),
        "sources.people.url: an untrusted run (--untrusted) reads no SQL source",
    ),
    "untrusted file outside data/": (
        _plain(csv_config("campaigns.yaml"), "--untrusted"),
        "'campaigns.yaml' is outside the folders an untrusted run may read (data/",
    ),
    "untrusted ledger outside the repository": (
        lambda c: (
            csv_config("data/people.csv", extra=f"ledger: sqlite:///{c.outside}/ledger.db"),
            ["--untrusted"],
        ),
        "ledger: '{outside}/ledger.db' is an absolute path",
    ),
    "untrusted config linked out": (
        _config_linked_out,
        "campaigns.yaml: the config file leads outside the repository through a symbolic link",
    ),
    "untrusted config fifo": (
        _config_fifo,
        "campaigns.yaml: 'campaigns.yaml' is a FIFO (named pipe), not a regular file",
    ),
    "unknown filter": (
        _plain(csv_config("data/people.csv").replace("row.email }}", "row.email | upcase }}")),
        "campaigns.welcome.lead.email: unknown filter 'upcase'",
    ),
    "campaign id over 32 bits": (
        _plain(
            csv_config("data/people.csv").replace(
                "campaign_id: 1", "campaign_id: 99999999999999999999999"
            )
        ),
        "campaigns.welcome.campaign_id:",
    ),
}


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Checkout:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.chdir(tmp_path)
    return Checkout(tmp_path)


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_refuses_the_attack(checkout: Checkout, name: str) -> None:
    make, expected = CASES[name]
    text, argv = make(checkout)
    config = checkout.write(text) if text is not None else checkout.config
    run = checkout.run("validate", *argv, str(config))
    expected = expected.format(secret_file=checkout.secret_file, outside=checkout.outside)
    assert run.code == 1, run.text
    assert expected in run.out, run.text
    line = next(line for line in run.out.splitlines() if expected in line)
    assert line.startswith("repo/campaigns.yaml:"), line  # located: file:line:col
    assert SECRET not in run.text
    assert "internal error" not in run.text
    assert run.seconds < BUDGET_SECONDS


@pytest.mark.parametrize("name", sorted(CASES))
def test_plan_refuses_it_too(checkout: Checkout, name: str) -> None:
    make, _ = CASES[name]
    text, argv = make(checkout)
    config = checkout.write(text) if text is not None else checkout.config
    run = checkout.run("plan", *argv, str(config))
    assert run.code == 1, run.text
    assert SECRET not in run.text
    assert "internal error" not in run.text
    assert run.seconds < BUDGET_SECONDS


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"not-a-url-{SECRET}", "ledger URL '${MKTSYNC_LEDGER_URL}'"),
        (f"mysql://reader:{SECRET}@db.internal/x", "ledger URL 'mysql'...: unsupported"),
    ],
)
def test_a_ledger_error_shows_the_url_as_written_not_its_value(
    checkout: Checkout, monkeypatch: pytest.MonkeyPatch, url: str, shown: str
) -> None:
    monkeypatch.setenv("MKTSYNC_LEDGER_URL", url)
    config = checkout.write(csv_config("data/people.csv", extra='ledger: "${MKTSYNC_LEDGER_URL}"'))
    run = checkout.run("plan", "--untrusted", str(config))
    assert run.code == 1
    assert shown in run.err
    assert SECRET not in run.text and "db.internal" not in run.text
