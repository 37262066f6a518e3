"""Option definitions shared by the commands, written once so the same thing has the same name.

Every command that reads a config takes ``FILE`` the same way; every command that narrows
to campaigns says ``--campaign NAME``; every command that reads a ledger says ``--ledger URL``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeAlias


class UsageError(Exception):
    """A command line argparse refused; ``main`` prints it and exits 1 (never argparse's 2)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


if TYPE_CHECKING:
    from mktsync.config.model import Policy

    Subparsers: TypeAlias = argparse._SubParsersAction[Parser]
else:  # not subscriptable at run time
    Subparsers: TypeAlias = argparse._SubParsersAction

DEFAULT_CONFIG = Path("campaigns.yaml")


def add_config_file(p: argparse.ArgumentParser, *, help: str = "the config file") -> None:
    p.add_argument(
        "file",
        nargs="?",
        default=DEFAULT_CONFIG,
        type=Path,
        help=f"{help} (default: campaigns.yaml)",
    )


def add_ledger(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ledger", metavar="URL", help="ledger URL (default: the config's 'ledger')")


def add_campaign(p: argparse.ArgumentParser, *, verb: str = "plan") -> None:
    p.add_argument(
        "--campaign",
        action="append",
        metavar="NAME",
        help=f"{verb} only this campaign (repeatable)",
    )


def add_retry_unknown(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--retry-unknown", action="store_true", help="send again items whose outcome is unknown"
    )


def add_policy(p: argparse.ArgumentParser, *, untrusted: bool = False) -> None:
    """What the config may reach: ``--allow-env``, ``--data-root`` (and ``--untrusted``).

    Set by the workflow, never by the config file, so a pull request cannot widen them
    (docs/security.md).  ``untrusted`` adds ``--untrusted`` and ``--allow-path`` (validate, plan).
    """
    p.add_argument(
        "--allow-env",
        action="append",
        default=[],
        metavar="NAME",
        help="let ${NAME} be read besides MARKETO_* and MKTSYNC_* (repeatable)",
    )
    p.add_argument(
        "--data-root",
        type=Path,
        metavar="DIR",
        help="source files must be inside DIR (default: the config file's folder)",
    )
    if untrusted:
        p.add_argument(
            "--untrusted",
            action="store_true",
            help="the config comes from an untrusted pull request: no SQL sources, files "
            "only under --allow-path folders, counts and a few sample rows in the plan",
        )
        p.add_argument(
            "--allow-path",
            action="append",
            metavar="DIR",
            help="with --untrusted: a folder (relative to the data root) sources may read "
            "(repeatable; default: data)",
        )


def policy_from(args: argparse.Namespace) -> Policy:
    """The ``Policy`` the options of ``add_policy`` describe."""
    from mktsync.config.model import Policy

    allow_paths = getattr(args, "allow_path", None) or ["data"]
    return Policy(
        allow_env=frozenset(args.allow_env),
        data_root=args.data_root.absolute() if args.data_root else None,
        untrusted=bool(getattr(args, "untrusted", False)),
        allow_paths=tuple(allow_paths),
    )
