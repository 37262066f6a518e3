"""Option definitions shared by the commands, written once so the same thing has the same name.

Every command that reads a config takes ``FILE`` the same way; every command that narrows
to campaigns says ``--campaign NAME``; every command that reads a ledger says ``--ledger URL``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, TextIO, TypeAlias


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
    from datetime import datetime

    from mktsync.config.model import Campaign
    from mktsync.config.policy import Policy

    Subparsers: TypeAlias = argparse._SubParsersAction[Parser]
else:  # not subscriptable at run time
    Subparsers: TypeAlias = argparse._SubParsersAction


def add_config_file(p: argparse.ArgumentParser, *, help: str = "the config file") -> None:
    p.add_argument(
        "file",
        nargs="?",
        default=None,
        type=Path,
        help=f"{help} (default: $MKTSYNC_CONFIG, else campaigns.yaml, else campaigns.yml)",
    )


def add_ledger(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ledger", metavar="URL", help="ledger URL (default: the config's 'ledger')")


def add_base(p: argparse.ArgumentParser) -> None:
    """``--base REF``: the base branch whose config the ledger is compared with (issue 25)."""
    p.add_argument(
        "--base",
        metavar="REF",
        help="the git ref of the base branch (default: $GITHUB_BASE_REF or "
        "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME): a new ledger is compared with the ledger its "
        "config names; without one, with the config's earlier versions in git",
    )


ENV_VARIABLE = "MKTSYNC_ENV"


def add_environment(
    p: argparse.ArgumentParser, *, default: object = None, repeatable: bool = False
) -> None:
    """``--env NAME``: which of the config's ``environments:`` (default: ``$MKTSYNC_ENV``).
    ``repeatable`` (``apply``): ``--env A --env B`` gives a list."""
    p.add_argument(
        "--env",
        metavar="NAME",
        default=default,
        action="append" if repeatable else "store",
        help="the environment (Marketo instance and ledger) from 'environments:' "
        f"(default: ${ENV_VARIABLE}; without either, the top-level marketo and ledger)"
        + ("; give it again to apply to several environments at once" if repeatable else ""),
    )


def environment_of(args: argparse.Namespace) -> str | None:
    """``--env``, else ``$MKTSYNC_ENV``, else None."""
    return getattr(args, "env", None) or os.environ.get(ENV_VARIABLE) or None


NOW_VARIABLE = "MKTSYNC_NOW"


def add_now(p: argparse.ArgumentParser) -> None:
    """``--now TIME``: the instant to plan at, instead of the wall clock (issue 21)."""
    p.add_argument(
        "--now",
        metavar="TIME",
        help="plan as of this instant: ISO 8601 with an offset (2026-12-05T09:00:00Z), a time "
        "in the config's timezone (2026-12-05T09:00) or a date (its midnight); templates see "
        f"it as now and today (default: ${NOW_VARIABLE}, else the clock)",
    )


def now_of(args: argparse.Namespace) -> tuple[str, datetime] | None:
    """``--now``, else ``$MKTSYNC_NOW``, parsed (``dates.parse_now``): (as given, the time),
    or None for the wall clock.  A value that is not a time is an error (exit 1)."""
    from mktsync.dates import parse_now
    from mktsync.errors import MktsyncError

    given = getattr(args, "now", None)
    text = given or os.environ.get(NOW_VARIABLE) or None
    if text is None:
        return None
    try:
        return text, parse_now(text)
    except ValueError as exc:
        where = "--now" if given else NOW_VARIABLE
        raise MktsyncError(f"{where}: {exc}") from None


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
    from mktsync.config.policy import Policy

    allow_paths = getattr(args, "allow_path", None) or ["data"]
    return Policy(
        allow_env=frozenset(args.allow_env),
        data_root=args.data_root.absolute() if args.data_root else None,
        untrusted=bool(getattr(args, "untrusted", False)),
        allow_paths=tuple(allow_paths),
    )


class Commands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands whose parsers are built only when needed.

    ``add_lazy(name, help, add)`` lists a command for ``mktsync --help`` without building
    it; the first time its parser is looked up (argparse does when the command line names
    it), ``add(self)`` runs: it imports the command's module and calls its ``add_parser``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._adders: dict[str, Callable[[Commands], None]] = {}
        self._name_parser_map = self.choices = _Parsers(self)

    def add_lazy(self, name: str, help: str, add: Callable[[Commands], None]) -> None:
        self._adders[name] = add
        dict.__setitem__(self._name_parser_map, name, None)  # a valid choice already
        self._choices_actions.append(self._ChoicesPseudoAction(name, (), help))

    def load(self, name: str) -> argparse.ArgumentParser:
        """The command's parser, built now if it was not yet (its module's ``add_parser``)."""
        add = self._adders.pop(name, None)
        if add is not None:
            dict.__delitem__(self._name_parser_map, name)
            listed = len(self._choices_actions)
            add(self)
            add_output_options_everywhere(self._name_parser_map[name])
            # The module listed itself again: keep one line per command, in COMMANDS order.
            if len(self._choices_actions) > listed:
                real = self._choices_actions.pop()
                place = next(i for i, a in enumerate(self._choices_actions) if a.dest == name)
                self._choices_actions[place] = real
        built: argparse.ArgumentParser = self._name_parser_map[name]
        return built


class _Parsers(dict[str, Any]):
    """A command's name -> its parser, built on first look-up (see ``Commands``)."""

    def __init__(self, commands: Commands) -> None:
        super().__init__()
        self._commands = commands

    def __getitem__(self, name: str) -> Any:
        parser = super().__getitem__(name)
        return self._commands.load(name) if parser is None else parser

    def values(self) -> list[Any]:  # type: ignore[override]
        return [self[name] for name in list(self)]

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return [(name, self[name]) for name in list(self)]


# -- conventions every command shares: output, colour, where the config is ----------------------
# Added to every parser (the top level, each command, each ledger action) with SUPPRESS
# defaults, so `mktsync -q plan` and `mktsync plan -q` both work and a nested parser never
# overwrites a value given before it; read them with ``output_of(args)``.

CONFIG_NAMES = ("campaigns.yaml", "campaigns.yml")
CONFIG_ENV = "MKTSYNC_CONFIG"


def add_output_options(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("output and config discovery (every command)")
    group.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
        help="print only results, warnings and errors: no progress, no details",
    )  # fmt: skip
    group.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
        help="print more: every row of the lists, a line per call",
    )  # fmt: skip
    group.add_argument(
        "--color", choices=("auto", "always", "never"), default=argparse.SUPPRESS,
        help="colour the output: auto (a terminal, unless NO_COLOR is set), always, never",
    )  # fmt: skip
    group.add_argument(
        "-C", dest="directory", type=Path, metavar="DIR", default=argparse.SUPPRESS,
        help="work as if started in DIR (config discovery and relative paths)",
    )  # fmt: skip


def add_output_options_everywhere(parser: argparse.ArgumentParser) -> None:
    """``add_output_options`` on ``parser`` and on every subcommand below it."""
    add_output_options(parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                add_output_options_everywhere(child)


class Output(NamedTuple):
    """The shared conventions as given on the command line.

    A ``NamedTuple`` (immutable, like a frozen dataclass) because this module is imported
    to build every command line, and ``dataclasses`` alone costs a quarter of a bare
    start (issue 16: ``mktsync --help`` within 1.3x of ``import mktsync``).
    """

    quiet: bool = False
    verbose: bool = False
    color: str = "auto"
    directory: Path | None = None

    def use_color(self, stream: TextIO) -> bool:
        """``--color`` wins; else colour on a terminal unless ``NO_COLOR`` is set (no-color.org)."""
        if self.color != "auto":
            return self.color == "always"
        if os.environ.get("NO_COLOR"):
            return False
        isatty = getattr(stream, "isatty", None)
        return bool(isatty and isatty())

    def rows(self, default: int = 20) -> int:
        """How many rows a list shows: all with ``-v``."""
        return 10**9 if self.verbose else default


def output_of(args: argparse.Namespace) -> Output:
    quiet, verbose = getattr(args, "quiet", False), getattr(args, "verbose", False)
    if quiet and verbose:
        raise UsageError("mktsync: -q/--quiet and -v/--verbose cannot be used together")
    return Output(
        quiet=quiet,
        verbose=verbose,
        color=getattr(args, "color", "auto"),
        directory=getattr(args, "directory", None),
    )


def find_config(file: Path | None, args: argparse.Namespace) -> Path:
    """The config to read: ``FILE`` if given, else ``$MKTSYNC_CONFIG``, else ``campaigns.yaml``
    then ``campaigns.yml`` -- all relative to ``-C DIR`` when given."""
    base = output_of(args).directory or Path()
    if file is not None:
        return base / file
    named = os.environ.get(CONFIG_ENV)
    if named:
        return base / named
    for name in CONFIG_NAMES:
        if (base / name).is_file():
            return base / name
    return base / CONFIG_NAMES[0]  # absent: the error names the usual file


def add_campaign_id(p: argparse.ArgumentParser, *, verb: str = "plan") -> None:
    p.add_argument(
        "--campaign-id",
        action="append",
        type=int,
        metavar="N",
        help=f"{verb} only the campaigns with this Marketo campaign id (repeatable)",
    )


def selected_campaigns(
    campaigns: Mapping[str, Campaign], names: list[str] | None, ids: list[int] | None
) -> list[str] | None:
    """The campaign names ``--campaign`` and ``--campaign-id`` select (None: all)."""
    if not names and not ids:
        return None
    chosen = list(names or [])
    for campaign_id in ids or []:
        matching = [n for n, c in campaigns.items() if c.campaign_id == campaign_id]
        if not matching:
            raise UsageError(f"mktsync: no campaign with campaign_id {campaign_id} in the config")
        chosen += [n for n in matching if n not in chosen]
    return chosen
