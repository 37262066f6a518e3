"""``mktsync ledger import FILE.csv --campaign NAME --why TEXT``: a baseline from an export.

The rule for keys and the CSV's columns are in ``mktsync.baseline`` and docs/ledger.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from mktsync.errors import EXIT_OK


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


def _import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mktsync.baseline import import_sent
    from mktsync.cli.ledger.repair import default_who
    from mktsync.cli.options import environment_of, find_config
    from mktsync.contract import load_checked
    from mktsync.ledger import open_ledger

    config = load_checked(find_config(args.config, args), environment=environment_of(args))
    url = args.ledger or config.ledger.resolve()
    with open_ledger(url, config.base_dir) as ledger:
        result = import_sent(
            config,
            ledger,
            args.campaign,
            args.file,
            why=args.why,
            who=default_who(),
            lock_timeout=args.lock_timeout,
        )
    out.write(
        f"Recorded {result.written} key(s) of campaign '{args.campaign}' as sent "
        f"(run {result.run_id}; {result.offered - result.written} already sent)\n"
    )
    return EXIT_OK
