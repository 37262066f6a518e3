"""The ``mktsync`` command line: parse, call one library function, print, return an exit code.

Nothing else imports this module.  Exit codes follow DESIGN.md (Terraform's where they
overlap): argparse's own usage error (2) becomes 1, so that ``plan --detailed-exitcode``'s
2 always means "there are changes".
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from mktsync import __version__
from mktsync.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, MktsyncError

Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _add_validate(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("validate", help="check campaigns.yaml: schema, templates, references")
    p.add_argument("file", nargs="?", default="campaigns.yaml", type=Path)
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=_validate)


def _validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mktsync.config import validate

    result = validate(args.file)
    if args.format == "json":
        json.dump([p.as_dict() for p in result.problems], out, indent=2)
        out.write("\n")
    else:
        for problem in result.problems:
            out.write(f"{problem}\n")
        if result.ok:
            out.write(f"ok: {result.summary}\n")
    return EXIT_OK if result.ok else EXIT_ERROR


def _add_schema(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of campaigns.yaml")
    p.set_defaults(handler=_schema)


def _schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mktsync.config import schema_text

    out.write(schema_text())
    return EXIT_OK


def _add_emulator(sub: argparse._SubParsersAction[_Parser]) -> None:
    from mktsync.emulator import cli as emulator_cli

    p = sub.add_parser("emulator", help="run a Marketo emulator on a local port")
    emulator_cli.add_arguments(p)
    p.set_defaults(handler=lambda args, out, err: emulator_cli.run(args))


def build_parser() -> _Parser:
    parser = _Parser(
        prog="mktsync",
        description="Trigger Marketo Engage smart campaigns from data declared in campaigns.yaml.",
    )
    parser.add_argument("--version", action="version", version=f"mktsync {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for add in ADDERS:
        add(sub)
    return parser


ADDERS: list[Callable[[argparse._SubParsersAction[_Parser]], None]] = [
    _add_validate,
    _add_schema,
    # _add_emulator,
]


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
