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
