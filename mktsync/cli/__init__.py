"""The ``mktsync`` command line: parse, call one library function, print, return an exit code.

One module per command (``validate``, ``plan``, ``apply``, ``ledger``, ``emulator``,
``schema``), each a thin shell over the library with ``add_parser(sub)`` and a handler;
shared option definitions live once in ``options``.  Nothing outside this package
imports it.  Exit codes follow DESIGN.md (Terraform's where they overlap): argparse's own
usage error (2) becomes 1, so that ``plan --detailed-exitcode``'s 2 always means "there
are changes".
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from importlib import import_module
from typing import TextIO

from mktsync import __version__
from mktsync.cli.options import Commands, Parser, UsageError, add_output_options

Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]

# Each command's module (``mktsync.cli.NAME``) is imported only when that command is
# chosen: ``mktsync --help`` and ``mktsync plan`` never load apply's client, the
# emulator or the ledger command (issue 16).  The one-line help shown by
# ``mktsync --help`` is kept here for that reason; a test holds it equal to the
# module's own.
COMMANDS = {
    "validate": "check campaigns.yaml: schema, templates, references",
    "plan": "show what apply would trigger (dry run; no credentials)",
    "apply": "trigger what the plan shows, within Marketo's limits",
    "ledger": "look at, export and repair the ledger",
    "schema": "print the JSON Schema of campaigns.yaml",
    "emulator": "run a Marketo emulator on a local port",
}


def build_parser() -> Parser:
    parser = Parser(
        prog="mktsync",
        description="Trigger Marketo Engage smart campaigns from data declared in campaigns.yaml.",
    )
    parser.add_argument("--version", action="version", version=f"mktsync {__version__}")
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=Parser, action=Commands
    )
    assert isinstance(sub, Commands)
    for name, help_ in COMMANDS.items():
        sub.add_lazy(name, help_, _adder(name))
    add_output_options(parser)  # each command gets them when it is built (Commands.load)
    return parser


def _adder(name: str) -> Callable[[Commands], None]:
    def add(sub: Commands) -> None:
        import_module(f"mktsync.cli.{name}").add_parser(sub)

    return add


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    # ``mktsync.errors`` is imported where it is needed, not at the top: it loads
    # dataclasses, which alone costs a quarter of a bare start (issue 16).
    args: argparse.Namespace | None = None
    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "handler", None):
            from mktsync.errors import EXIT_ERROR

            build_parser().print_help(err)
            return EXIT_ERROR
        handler: Handler = args.handler
        return handler(args, out, err)
    except UsageError as exc:
        from mktsync.errors import EXIT_ERROR

        err.write(f"{exc}\n(see 'mktsync --help')\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        from mktsync.errors import EXIT_INTERRUPTED

        err.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `mktsync plan | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        from mktsync.errors import EXIT_OK

        return EXIT_OK
    except Exception as exc:
        from mktsync.errors import EXIT_ERROR, MktsyncError, one_line, shown_personal

        if isinstance(exc, MktsyncError):
            # A message may quote data (a key, a run_at): nothing hidden reaches the terminal;
            # a personal value it quotes (an invalid row's) is masked unless --show-pii.
            pii = bool(getattr(args, "show_pii", False))
            masked = False
            for line in exc.lines():
                shown = shown_personal(line, show_pii=pii)
                masked = masked or (shown != line and not pii)
                err.writelines(f"{one_line(part)}\n" for part in shown.split("\n"))
            if masked:
                err.write("(personal values are masked; 'mktsync plan --show-pii' shows them)\n")
            return exc.exit_code
        # Never a traceback on the terminal: write it where it can be found.
        import tempfile
        import traceback

        fd, path = tempfile.mkstemp(prefix="mktsync-crash-", suffix=".log")
        with os.fdopen(fd, "w") as f:
            f.write(_without_secrets(traceback.format_exc()))
        err.write(f"internal error: a bug in mktsync; the traceback is in {path}\n")
        return EXIT_ERROR


# A URL's password (``scheme://user:password@``), however broken the rest of the URL is.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]+@")
# Shorter values are no credential, and hiding them would garble the traceback's numbers.
_SHORTEST_SECRET = 4


def _without_secrets(text: str) -> str:
    """A crash log's text without the secrets a bug may have put into it: every value a
    ``${VAR}`` of the config resolved to, the client secret, and every URL password.

    >>> _without_secrets('ProgrammingError: in URI: "postgresql://ci:S3cret@[::1/db"')
    'ProgrammingError: in URI: "postgresql://ci:***@[::1/db"'
    """
    from mktsync.config.dburl import url_secrets
    from mktsync.config.model import resolved_values

    values = set(resolved_values())
    for value in list(values):
        values |= url_secrets(value)  # a password percent-decoded, a query's credential
    values.add(os.environ.get("MARKETO_CLIENT_SECRET", ""))
    for value in sorted(values, key=len, reverse=True):
        if len(value) >= _SHORTEST_SECRET:
            text = text.replace(value, "***")
    return _URL_PASSWORD.sub(r"\1***@", text)
