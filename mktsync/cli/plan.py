"""``mktsync plan``: the dry-run diff against the ledger, as text, Markdown or JSON."""

from __future__ import annotations

import argparse
import inspect
import os
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mktsync.cli.options import (
    Subparsers,
    add_campaign,
    add_config_file,
    add_ledger,
    add_policy,
    add_retry_unknown,
    policy_from,
)
from mktsync.errors import EXIT_CHANGES, EXIT_OK

if TYPE_CHECKING:
    from mktsync.report import ReportOptions


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("plan", help="show what apply would trigger (dry run; no credentials)")
    add_config_file(p)
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p.add_argument("--out", type=Path, help="save the plan (JSON) for a later 'mktsync apply PLAN'")
    p.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 2 when there are changes, 0 when there are none",
    )
    add_ledger(p)
    add_campaign(p)
    add_retry_unknown(p)
    p.add_argument("--show-pii", action="store_true", help="do not mask email addresses (Markdown)")
    add_policy(p, untrusted=True)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mktsync import plan_config
    from mktsync.plan import check_budget
    from mktsync.planfile import write_plan
    from mktsync.qualify import plan_warnings
    from mktsync.report import REPORTERS, ReportOptions, render_markdown

    config, plan = plan_config(
        args.file,
        ledger_url=args.ledger,
        campaigns=args.campaign,
        retry_unknown=args.retry_unknown,
        policy=policy_from(args),
    )
    for warning in config.warnings:
        err.write(f"{warning}\n")
    for line in plan_warnings(config, plan, args.ledger):
        err.write(f"{line}\n")
    color = out.isatty() and "NO_COLOR" not in os.environ
    options = _report_options(ReportOptions, color=color, show_pii=args.show_pii)
    if args.untrusted:
        options = _report_options(
            ReportOptions, color=color, show_pii=args.show_pii, untrusted=True
        )
    REPORTERS[args.format](plan, out, options)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as f:
            f.write(render_markdown(plan, show_pii=False))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            write_plan(plan, f)
        err.write(f"plan saved to {args.out}; apply it with 'mktsync apply {args.out}'\n")
    check_budget(plan, config)
    # Invalid rows (allowed by max_invalid) are never "no changes": someone must look.
    changes = plan.summary.changes or plan.summary.invalid > 0
    return EXIT_CHANGES if args.detailed_exitcode and changes else EXIT_OK


def _report_options(cls: type[ReportOptions], **values: bool) -> ReportOptions:
    # `untrusted` (counts and a few sample rows per campaign) is a ReportOptions field
    # added with the Markdown rewrite of issue 13; until then it is passed only if known.
    known = inspect.signature(cls).parameters
    return cls(**{k: v for k, v in values.items() if k in known})
