"""`mktsync ledger settle`.

The logic lives in the library (``mktsync.apply.settle``); this module builds the client
from the config's credentials, as ``apply`` does, and prints: one line per campaign, then
what is left to do (the ``mark-sent``/``forget`` command for each item only a person can
settle, ready to paste), then notes and the last line.
"""

from __future__ import annotations

import argparse
import json
import shlex
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TextIO

from mktsync.cli.ledger.target import add_campaign_choice, campaign_id_of
from mktsync.errors import MktsyncError, one_line
from mktsync.ledger.tools import config_target, opening

if TYPE_CHECKING:  # settling talks to Marketo: imported when it runs (issue 16)
    from mktsync.apply.settle import SettledItem, SettleReport

_LISTED = 20  # unsettled items named per campaign before "... and N more"
# ReadBudget's defaults (mktsync.marketo.activities; a test keeps them equal): importing
# that module here would load the HTTP client for every command (issue 16).
DEFAULT_MAX_PAGES, DEFAULT_MAX_SECONDS = 1000, 300.0


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
    s.add_argument(
        "--max-pages",
        type=_positive(int),
        default=DEFAULT_MAX_PAGES,
        metavar="N",
        help=f"read at most N activity pages, one API call each ({DEFAULT_MAX_PAGES})",
    )
    s.add_argument(
        "--max-seconds",
        type=_positive(float),
        default=DEFAULT_MAX_SECONDS,
        metavar="S",
        help=f"stop reading the activity log after S seconds ({DEFAULT_MAX_SECONDS:g})",
    )
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.add_argument("--lock-timeout", type=float, default=30.0, metavar="SECONDS")
    s.set_defaults(handler=_settle)


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
        return value

    return parse


def _settle(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mktsync.apply.instance import bound
    from mktsync.apply.settle import settle_unknown
    from mktsync.cli.options import environment_of, find_config
    from mktsync.config import display_name, load_config
    from mktsync.marketo import MarketoClient
    from mktsync.marketo.activities import ReadBudget
    from mktsync.marketo.shared_limits import open_limiter

    # settle needs the config's credentials, so the config is read even with --ledger;
    # found as every command finds it, for the environment named (as apply does).
    path = find_config(args.config, args)
    config = load_config(path, environment=environment_of(args))
    if config.environments and config.environment is None:
        raise MktsyncError(
            f"{display_name(config.path)} declares environments: name one with --env "
            "(settle reads that instance's activity log, and must never read another's)"
        )
    target = config_target(config, args.ledger)
    m = config.marketo
    if m.base_url is None or m.client_id is None or m.client_secret is None:
        raise MktsyncError(
            f"{display_name(config.path)}: settle reads Marketo's activity log, so it needs "
            "marketo.base_url, client_id and client_secret, as apply does"
        )
    base_url = m.base_url.resolve()
    with (
        opening(target) as ledger,
        # Another instance's activity log would settle every item as "not sent", and the
        # next apply would send them again: the ledger must belong to this instance.
        bound(ledger, base_url, config.environment),
        # Its reads spend the instance's limits as apply's calls do: the same shared window.
        open_limiter(
            m.limits,
            base_url=base_url,
            ledger_url=target.url,
            shared_url=m.limits.shared.resolve() if m.limits.shared is not None else None,
        ) as limiter,
        MarketoClient(
            base_url,
            m.client_id.resolve(),
            m.client_secret.resolve(),
            limits=m.limits,
            limiter=limiter,
        ) as client,
    ):
        report = settle_unknown(
            ledger,
            client,
            campaign_id=campaign_id_of(args),
            min_age=timedelta(minutes=args.min_age),
            budget=ReadBudget(max_pages=args.max_pages, max_seconds=args.max_seconds),
            lock_timeout=args.lock_timeout,
        )
    prefix = _ledger_prefix(display_name(path), config.environment, args.ledger)
    if args.format == "json":
        render_settle_json(report, out, prefix)
    else:
        render_settle_text(report, out, prefix)
    return report.exit_code


def _ledger_prefix(config: str, environment: str | None, ledger_url: str | None) -> list[str]:
    """``mktsync ledger`` with the options that reach the ledger this settle used."""
    from mktsync.config.dburl import redact

    words = ["mktsync", "ledger"]
    if config != "campaigns.yaml":
        words += ["--config", config]
    if environment:
        words += ["--env", environment]
    if ledger_url:
        # A password never appears in output: then the user gives the URL again.
        words += ["--ledger", ledger_url if redact(ledger_url) == ledger_url else "URL"]
    return words


def repair_commands(item: SettledItem, prefix: Sequence[str]) -> dict[str, str]:
    """The ``mark-sent`` and ``forget`` commands that settle ``item`` by hand, to paste.

    The key comes last, after ``--`` when it starts with ``-``; quoted for a POSIX shell.
    """
    if item.kind == "batch":
        sent = f"checked in Marketo: the batch run at {item.run_at} is scheduled (or ran)"
        forget = f"checked in Marketo: no batch run at {item.run_at}; schedule it again"
    else:
        sent = f"checked in Marketo: lead {item.lead_id}'s activity log shows the request"
        forget = f"checked in Marketo: no request in lead {item.lead_id}'s activity log; send again"
    out = {}
    for action, why in (("mark-sent", sent), ("forget", forget)):
        words = [*prefix, action, "--campaign-id", str(item.campaign_id), "--why", why]
        key = ["--", item.key] if item.key.startswith("-") else [item.key]
        out[action] = shlex.join([*words, *key])
    return out


def render_settle_text(
    report: SettleReport, out: TextIO, prefix: Sequence[str] = ("mktsync", "ledger")
) -> None:
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
            what = f" (batch run at {item.run_at})" if item.kind == "batch" else ""
            out.write(f"  still unknown: {one_line(repr(item.key))}{what}: {item.reason}\n")
            if item.check is None:
                continue
            out.write(f"    check: {one_line(item.check)}\n")
            if not item.key.isprintable():
                out.write("    its key has control characters: put it in a file and use "
                          "--keys-from FILE with the commands below\n")  # fmt: skip
            commands = repair_commands(item, prefix)
            out.write(f"    if Marketo acted on it: {one_line(commands['mark-sent'])}\n")
            out.write(f"    if not: {one_line(commands['forget'])}\n")
        if len(unknown) > _LISTED:
            out.write(f"  ... and {len(unknown) - _LISTED} more\n")
    for note in _notes(report):
        out.write(f"note: {note}\n")
    total = report.still_unknown
    out.write(
        f"run #{report.run_id}: items settled as not sent go out again on the next apply; "
        + (f"{total} item(s) remain unknown\n" if total else "nothing remains unknown\n")
    )


def _notes(report: SettleReport) -> list[str]:
    notes = []
    log = report.log
    if log is not None and log.stopped:
        b = log.budget
        notes.append(
            f"Marketo's activity log was not read to its end for {log.unread} of {log.leads} "
            f"lead(s): {log.stopped} ({log.pages} pages in {log.seconds:.0f} s; budget "
            f"--max-pages {b.max_pages} --max-seconds {b.max_seconds:g}). Their items stay "
            "unknown: no activity found means nothing until the log is read to its end. "
            "Settle again with a larger budget (each page is one API call against the daily "
            "quota), or later"
        )
    if any(i.kind == "batch" for c in report.campaigns for i in c.unknown):
        notes.append(
            "batch runs are settled by hand: check each in Marketo as shown, then run the "
            "mark-sent or the forget command given for it; until then apply never schedules "
            "them again"
        )
    return notes


def render_settle_json(
    report: SettleReport, out: TextIO, prefix: Sequence[str] = ("mktsync", "ledger")
) -> None:
    """The facts of the text output, every item included, as one JSON object."""

    def item(i: SettledItem) -> dict[str, Any]:
        data: dict[str, Any] = {"key": i.key, "kind": i.kind, "verdict": i.verdict,
                                "reason": i.reason, "lead_id": i.lead_id}  # fmt: skip
        if i.run_at is not None:
            data["run_at"] = i.run_at
        if i.check is not None:
            data["check"] = i.check
            data["commands"] = repair_commands(i, prefix)
        return data

    log = report.log
    doc = {
        "run_id": report.run_id,
        "campaigns": [
            {
                "campaign_id": c.campaign_id,
                "settled_sent": c.sent,
                "settled_not_sent": c.not_sent,
                "still_unknown": len(c.unknown),
                "items": [item(i) for i in c.items],
            }
            for c in report.campaigns
        ],
        "activity_log": None
        if log is None
        else {
            "complete": log.stopped is None,
            "stopped": log.stopped,
            "pages": log.pages,
            "seconds": round(log.seconds, 3),
            "leads": log.leads,
            "leads_not_read_to_end": log.unread,
            "max_pages": log.budget.max_pages,
            "max_seconds": log.budget.max_seconds,
        },
        "notes": _notes(report),
        "still_unknown": report.still_unknown,
        "exit_code": report.exit_code,
    }
    json.dump(doc, out, indent=2, ensure_ascii=False)
    out.write("\n")
