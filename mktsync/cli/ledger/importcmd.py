"""``mktsync ledger import FILE.csv --campaign NAME --why TEXT``: a baseline from an export.

The rule for keys and the CSV's columns are in ``mktsync.apply.baseline`` and docs/ledger.md.
The file is read and every key checked before the ledger is opened: a refused file
never creates or locks one.  On a terminal, stderr shows where the import is, rewritten
in place; a count line ends the import on stderr either way.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mktsync.errors import EXIT_OK

if TYPE_CHECKING:
    from mktsync.apply.baseline import ImportProgress


def add_import_parser(
    actions: argparse._SubParsersAction[Any], common: argparse.ArgumentParser
) -> None:
    s = actions.add_parser(
        "import",
        parents=[common],
        help="record sends made before mktsync, from a CSV export (key, sent_at, my.Tokens)",
    )
    s.add_argument("file", type=Path, metavar="FILE.csv")
    s.add_argument("--campaign", required=True, metavar="NAME", help="the campaign they belong to")
    s.add_argument("--why", required=True, help='e.g. "export of the old script\'s send log"')
    s.add_argument("--lock-timeout", type=float, default=30.0, metavar="SECONDS")
    s.set_defaults(handler=_import)


class ProgressLine:
    """One line on a terminal, rewritten in place as the import goes; nothing elsewhere."""

    def __init__(self, stream: TextIO, *, name: str) -> None:
        isatty = getattr(stream, "isatty", None)
        self.stream, self.name = stream, name
        self.tty = bool(isatty and isatty())
        self.width = 0  # of the line shown now: 0 when none is

    def __call__(self, event: ImportProgress) -> None:
        if not self.tty:
            return
        if event.phase == "read":
            text = f"reading {self.name}: {event.done:,} rows"
        elif event.phase == "check":
            text = f"checking the keys: {event.done:,} source rows rendered, {event.matched:,} keys found"
        else:
            text = f"recording: {event.done:,} of {event.total or 0:,} records"
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = len(text)

    def end(self) -> None:
        """Clear the line, so what is written next starts on a clean one."""
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0


def _import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mktsync.apply.baseline import check_import
    from mktsync.cli.options import environment_of, find_config
    from mktsync.ledger.tools import config_target, default_who, opening
    from mktsync.sources.contract import load_checked

    config = load_checked(find_config(args.config, args), environment=environment_of(args))
    target = config_target(config, args.ledger)
    name = args.file.name
    progress = ProgressLine(err, name=name)
    try:
        with (
            check_import(
                config, args.campaign, args.file, why=args.why, progress=progress
            ) as checked,
            opening(target) as ledger,
        ):
            result = checked.record(ledger, who=default_who(), lock_timeout=args.lock_timeout)
    finally:
        progress.end()
    skipped = ", ".join(f"{status} {n:,}" for status, n in sorted(result.skipped.items()))
    err.write(
        f"{name}: {result.rows:,} row(s) read, {result.offered:,} key(s) found among "
        f"{result.rendered:,} rendered source row(s), {result.written:,} record(s) written"
        + (f"; skipped records not sent: {skipped}" if skipped else "")
        + "\n"
    )
    out.write(
        f"Recorded {result.written} key(s) of campaign '{args.campaign}' as sent "
        f"(run {result.run_id}; {result.offered - result.written} already sent)\n"
    )
    return EXIT_OK
