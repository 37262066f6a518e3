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
    p.add_argument(
        "files", nargs="*", type=Path, metavar="FILE", help="config files (default: campaigns.yaml)"
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=_validate)


def _validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mktsync.config import validate

    results = [validate(path) for path in args.files or [Path("campaigns.yaml")]]
    if args.format == "json":
        problems = [p.as_dict() for r in results for p in r.problems]
        json.dump(problems, out, indent=2)
        out.write("\n")
    else:
        for result in results:
            for problem in result.problems:
                out.write(f"{problem}\n")
            if result.ok:
                out.write(f"ok: {result.summary}\n")
    return EXIT_OK if all(r.ok for r in results) else EXIT_ERROR


def _add_plan(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("plan", help="show what apply would trigger (dry run; no credentials)")
    p.add_argument("file", nargs="?", default="campaigns.yaml", type=Path)
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p.add_argument("--out", type=Path, help="save the plan (JSON) for a later 'mktsync apply PLAN'")
    p.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 2 when there are changes, 0 when there are none",
    )
    p.add_argument("--ledger", metavar="URL", help="ledger URL (default: the config's 'ledger')")
    p.add_argument(
        "--campaign", action="append", metavar="NAME", help="plan only this campaign (repeatable)"
    )
    p.add_argument(
        "--retry-unknown", action="store_true", help="send again items whose outcome is unknown"
    )
    p.add_argument("--show-pii", action="store_true", help="do not mask email addresses (Markdown)")
    p.set_defaults(handler=_plan)


def _plan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mktsync import plan_config
    from mktsync.errors import EXIT_CHANGES
    from mktsync.planfile import write_plan
    from mktsync.report import REPORTERS, ReportOptions, render_markdown

    config, plan = plan_config(
        args.file,
        ledger_url=args.ledger,
        campaigns=args.campaign,
        retry_unknown=args.retry_unknown,
    )
    for warning in config.warnings:
        err.write(f"{warning}\n")
    color = out.isatty() and "NO_COLOR" not in os.environ
    REPORTERS[args.format](plan, out, ReportOptions(color=color, show_pii=args.show_pii))
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as f:
            f.write(render_markdown(plan, show_pii=False))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            write_plan(plan, f)
        err.write(f"plan saved to {args.out}; apply it with 'mktsync apply {args.out}'\n")
    from mktsync.plan import check_budget

    check_budget(plan, config)
    return EXIT_CHANGES if args.detailed_exitcode and plan.summary.changes else EXIT_OK


def _add_apply(sub: argparse._SubParsersAction[_Parser]) -> None:
    p = sub.add_parser("apply", help="trigger what the plan shows, within Marketo's limits")
    p.add_argument(
        "file",
        nargs="?",
        default="campaigns.yaml",
        type=Path,
        help="campaigns.yaml, or a plan saved with 'mktsync plan --out'",
    )
    p.add_argument("--config", type=Path, help="the config of a saved plan (default: as recorded)")
    p.add_argument(
        "--emulator",
        action="store_true",
        help="apply against an in-process Marketo emulator seeded from the config",
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    p.add_argument("--ledger", metavar="URL", help="ledger URL (default: the config's 'ledger')")
    p.add_argument("--campaign", action="append", metavar="NAME", help="only this campaign")
    p.add_argument("--retry-unknown", action="store_true", help="resend unknown-outcome items")
    p.add_argument("--fail-fast", action="store_true", help="stop everything if preflight fails")
    p.add_argument("--lock-timeout", type=float, default=30.0, metavar="SECONDS")
    p.add_argument("--format", choices=("text", "json"), default="text", help="the final report")
    p.add_argument("--log-format", choices=("text", "json"), default="text", help="progress lines")
    p.set_defaults(handler=_apply)


def _apply(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mktsync.applycmd import ApplyRequest, run_apply

    request = ApplyRequest(
        target=args.file,
        config=args.config,
        emulator=args.emulator,
        assume_yes=args.yes,
        ledger_url=args.ledger,
        campaigns=tuple(args.campaign) if args.campaign else None,
        retry_unknown=args.retry_unknown,
        fail_fast=args.fail_fast,
        lock_timeout=args.lock_timeout,
        report_format=args.format,
        log_format=args.log_format,
    )
    return run_apply(request, out, err)


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


def _add_ledger(sub: argparse._SubParsersAction[_Parser]) -> None:
    from mktsync.ledgercmd import add_parser

    add_parser(sub)


ADDERS: list[Callable[[argparse._SubParsersAction[_Parser]], None]] = [
    _add_validate,
    _add_plan,
    _add_apply,
    _add_ledger,
    _add_schema,
    _add_emulator,
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
