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
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from typing import TextIO

from mktsync import __version__
from mktsync.cli import apply, emulator, ledger, plan, schema, validate
from mktsync.cli.options import Parser, Subparsers, UsageError, add_output_options_everywhere
from mktsync.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, MktsyncError

Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]

ADDERS: list[Callable[[Subparsers], None]] = [
    validate.add_parser,
    plan.add_parser,
    apply.add_parser,
    ledger.add_parser,
    schema.add_parser,
    emulator.add_parser,
]


def build_parser() -> Parser:
    parser = Parser(
        prog="mktsync",
        description="Trigger Marketo Engage smart campaigns from data declared in campaigns.yaml.",
    )
    parser.add_argument("--version", action="version", version=f"mktsync {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for add in ADDERS:
        add(sub)
    add_output_options_everywhere(parser)
    return parser


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "handler", None):
            build_parser().print_help(err)
            return EXIT_ERROR
        handler: Handler = args.handler
        return handler(args, out, err)
    except UsageError as exc:
        err.write(f"{exc}\n(see 'mktsync --help')\n")
        return EXIT_ERROR
    except MktsyncError as exc:
        for line in exc.lines():
            err.write(f"error: {line}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        err.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `mktsync plan | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception:  # never a traceback on the terminal: write it where it can be found
        fd, path = tempfile.mkstemp(prefix="mktsync-crash-", suffix=".log")
        with os.fdopen(fd, "w") as f:
            traceback.print_exc(file=f)
        err.write(f"internal error: a bug in mktsync; the traceback is in {path}\n")
        return EXIT_ERROR
