"""The `ledger` command's arguments and handlers, registered by ``cli``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from mktsync.cli.ledger.importcmd import add_import_parser
from mktsync.cli.ledger.query import render_records_text, render_status_json, render_status_text
from mktsync.cli.ledger.repair import render_repair_text
from mktsync.cli.ledger.settlecmd import add_settle_parser
from mktsync.cli.ledger.target import add_campaign_choice, campaign_id_of
from mktsync.cli.options import add_environment
from mktsync.errors import EXIT_OK, MktsyncError
from mktsync.ledger.tools import (
    LedgerTarget,
    default_who,
    export,
    export_sqlite,
    export_to_file,
    ledger_status,
    ledger_target,
    read_keys,
    record_dict,
    repair,
    show,
)


# -- the command line -------------------------------------------------------------------------
def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register ``mktsync ledger`` and its actions on ``cli``'s subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    _target_options(common, default=argparse.SUPPRESS)  # also accepted after the action
    p = sub.add_parser("ledger", help="look at, export and repair the ledger")
    _target_options(p, default=None)
    actions = p.add_subparsers(dest="ledger_action", metavar="ACTION", required=True)

    s = actions.add_parser("status", parents=[common], help="records per campaign and status")
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.add_argument("--runs", type=int, default=5, metavar="N", help="latest runs shown (5)")
    s.set_defaults(handler=_status)

    s = actions.add_parser("show", parents=[common], help="every record with a key")
    s.add_argument("key", metavar="KEY")
    add_campaign_choice(s)
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.set_defaults(handler=_show)

    s = actions.add_parser(
        "export", parents=[common], help="every record as CSV or JSON lines, or an SQLite copy"
    )
    s.add_argument("--format", choices=("csv", "jsonl", "sqlite"), default="csv")
    add_campaign_choice(s)
    s.add_argument("--out", type=Path, metavar="FILE", help="write here (default: stdout)")
    s.set_defaults(handler=_export)

    for action, help_ in (
        ("mark-sent", "record items as sent, after checking in Marketo"),
        ("forget", "forget items, so that the next apply triggers them again"),
    ):
        s = actions.add_parser(action, parents=[common], help=help_)
        s.add_argument("keys", nargs="*", metavar="KEY")
        s.add_argument("--keys-from", type=Path, metavar="FILE", help="more keys, one a line")
        add_campaign_choice(s, verb="in")  # one of the two is required
        s.add_argument("--why", required=True, help='e.g. "checked in Marketo: ..."')
        s.add_argument("--lock-timeout", type=float, default=30.0, metavar="SECONDS")
        s.set_defaults(handler=_repair, repair_action=action)

    add_settle_parser(actions, common)
    add_import_parser(actions, common)


def _target_options(p: argparse.ArgumentParser, *, default: Any) -> None:
    p.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        default=default,
        help="the config naming the ledger (default: found as 'mktsync plan' finds it)",
    )
    p.add_argument(
        "--ledger", metavar="URL", default=default, help="ledger URL (default: the config's)"
    )
    add_environment(p, default=default)


def _target(args: argparse.Namespace) -> LedgerTarget:
    from mktsync.cli.options import environment_of, find_config

    return ledger_target(find_config(args.config, args), args.ledger, environment_of(args))


def _status(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    status = ledger_status(_target(args), runs=args.runs)
    (render_status_json if args.format == "json" else render_status_text)(status, out)
    return EXIT_OK


def _show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    records = show(_target(args), args.key, campaign_id_of(args))
    if args.format == "json":
        json.dump([record_dict(r) for r in records], out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        render_records_text(records, out)
    return EXIT_OK


def _export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    target = _target(args)
    if args.format == "sqlite":
        if args.out is None:
            raise MktsyncError("--format sqlite writes a file: give --out FILE")
        written = export_sqlite(target, args.out)
        err.write(f"copied the ledger ({written} record(s)) to {args.out}\n")
        return EXIT_OK
    if args.out is None:
        export(target, out, fmt=args.format, campaign_id=campaign_id_of(args))
        return EXIT_OK
    written = export_to_file(target, args.out, fmt=args.format, campaign_id=campaign_id_of(args))
    err.write(f"exported {written} record(s) to {args.out}\n")
    return EXIT_OK


def _repair(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    keys = read_keys(args.keys, args.keys_from)
    campaign_id = campaign_id_of(args)
    if campaign_id is None:
        raise MktsyncError(
            f"{args.repair_action} needs the campaign: --campaign NAME or --campaign-id N"
        )
    result = repair(
        _target(args),
        campaign_id,
        keys,
        action=args.repair_action,
        who=default_who(),
        why=args.why,
        lock_timeout=args.lock_timeout,
    )
    render_repair_text(result, out)
    return EXIT_OK
