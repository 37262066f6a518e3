"""`mktsync ledger settle` and `mktsync ledger export --format sqlite`.

The logic lives in the library (``mktsync.settle``, ``Ledger.export_sqlite``); this
module builds the client from the config's credentials, as ``apply`` does, and prints.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mktsync.cli.ledger.target import (
    LedgerTarget,
    _reading,
    add_campaign_choice,
    campaign_id_of,
)
from mktsync.errors import MktsyncError, one_line
from mktsync.ledger import open_ledger

if TYPE_CHECKING:  # settling talks to Marketo: imported when it runs (issue 16)
    from mktsync.settle import SettleReport

_LISTED = 20  # unsettled items named per campaign before "... and N more"


def add_settle_parser(
    actions: argparse._SubParsersAction[Any], common: argparse.ArgumentParser
) -> None:
    s = actions.add_parser(
        "settle",
        parents=[common],
        help="settle unknown items from Marketo's activity log (needs credentials, like apply)",
    )
    add_campaign_choice(s)
    s.add_argument(
        "--min-age",
        type=float,
        default=10.0,
        metavar="MINUTES",
        help="leave calls younger than this unknown: the activity log may lag (10)",
    )
    s.add_argument("--lock-timeout", type=float, default=30.0, metavar="SECONDS")
    s.set_defaults(handler=_settle)


def export_sqlite(target: LedgerTarget, out: Path) -> int:
    """A consistent single-file copy of an SQLite ledger at ``out``; the records in it."""
    with _reading(target) as ledger:
        return ledger.export_sqlite(out)


def _settle(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mktsync.cli.options import environment_of, find_config
    from mktsync.cli.record_only import bound
    from mktsync.config import display_name, load_config
    from mktsync.marketo import MarketoClient
    from mktsync.settle import settle_unknown

    # settle needs the config's credentials, so the config is read even with --ledger;
    # found as every command finds it, for the environment named (as apply does).
    config = load_config(find_config(args.config, args), environment=environment_of(args))
    if config.environments and config.environment is None:
        raise MktsyncError(
            f"{display_name(config.path)} declares environments: name one with --env "
            "(settle reads that instance's activity log, and must never read another's)"
        )
    url = args.ledger or config.ledger.resolve()
    m = config.marketo
    if m.base_url is None or m.client_id is None or m.client_secret is None:
        raise MktsyncError(
            f"{display_name(config.path)}: settle reads Marketo's activity log, so it needs "
            "marketo.base_url, client_id and client_secret, as apply does"
        )
    base_url = m.base_url.resolve()
    with (
        open_ledger(url, config.base_dir) as ledger,
        # Another instance's activity log would settle every item as "not sent", and the
        # next apply would send them again: the ledger must belong to this instance.
        bound(ledger, base_url, config.environment),
        MarketoClient(
            base_url,
            m.client_id.resolve(),
            m.client_secret.resolve(),
            limits=m.limits,
        ) as client,
    ):
        report = settle_unknown(
            ledger,
            client,
            campaign_id=campaign_id_of(args),
            min_age=timedelta(minutes=args.min_age),
            lock_timeout=args.lock_timeout,
        )
    render_settle_text(report, out)
    return report.exit_code


def render_settle_text(report: SettleReport, out: TextIO) -> None:
    if report.run_id is None:
        out.write("no unknown items: nothing to settle\n")
        return
    for c in report.campaigns:
        unknown = c.unknown
        out.write(
            f"campaign {c.campaign_id}: settled as sent {c.sent}, settled as not sent "
            f"{c.not_sent}, still unknown {len(unknown)}\n"
        )
        for item in unknown[:_LISTED]:
            out.write(f"  still unknown: {one_line(repr(item.key))}: {item.reason}\n")
        if len(unknown) > _LISTED:
            out.write(f"  ... and {len(unknown) - _LISTED} more\n")
    total = sum(len(c.unknown) for c in report.campaigns)
    out.write(
        f"run #{report.run_id}: items settled as not sent go out again on the next apply; "
        + (f"{total} item(s) remain unknown\n" if total else "nothing remains unknown\n")
    )
