"""Option definitions shared by the commands, written once so the same thing has the same name.

Every command that reads a config takes ``FILE`` the same way; every command that narrows
to campaigns says ``--campaign NAME``; every command that reads a ledger says ``--ledger URL``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias


class UsageError(Exception):
    """A command line argparse refused; ``main`` prints it and exits 1 (never argparse's 2)."""


class Formatter(argparse.HelpFormatter):
    """argparse's formatter, sized from ``os`` rather than ``shutil`` (which loads the
    compression modules: a tenth of ``mktsync --help``'s time, issue 16)."""

    def __init__(self, prog: str, **kwargs: Any) -> None:
        if kwargs.get("width") is None:
            kwargs["width"] = _columns() - 2  # argparse leaves 2 columns free too
        super().__init__(prog, **kwargs)


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` finds it: $COLUMNS, else the
    terminal on stdout, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)

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


class Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands whose parsers are built only when chosen.

    ``add_lazy(name, help, add)`` lists a command for ``mktsync --help`` without building
    it; when the command line names it, ``add(self)`` runs first (it imports the command's
    module and calls its ``add_parser``), then parsing goes on as argparse's own.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._adders: dict[str, Callable[[Commands], None]] = {}

    def add_lazy(self, name: str, help: str, add: Callable[[Commands], None]) -> None:
        self._adders[name] = add
        self._name_parser_map[name] = None  # a valid choice already, built on demand
        self._choices_actions.append(self._ChoicesPseudoAction(name, (), help))

    def load(self, name: str) -> argparse.ArgumentParser:
        """The command's parser, built now if it was not yet (its module's ``add_parser``)."""
        add = self._adders.pop(name, None)
        if add is not None:
            del self._name_parser_map[name]
            listed = len(self._choices_actions)
            add(self)
            # The module listed itself again: keep one line per command, in COMMANDS order.
            if len(self._choices_actions) > listed:
                real = self._choices_actions.pop()
                place = next(i for i, a in enumerate(self._choices_actions) if a.dest == name)
                self._choices_actions[place] = real
        built: argparse.ArgumentParser = self._name_parser_map[name]
        return built

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if values and values[0] in self._adders:
            self.load(values[0])
        super().__call__(parser, namespace, values, option_string)
