"""``mktsync plan``: the dry-run diff against the ledger, as text, Markdown or JSON."""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mktsync.cli.annotate import add_annotation_options, emit
from mktsync.cli.options import (
    Subparsers,
    UsageError,
    add_base,
    add_campaign,
    add_campaign_id,
    add_config_file,
    add_environment,
    add_ledger,
    add_now,
    add_policy,
    add_retry_unknown,
    environment_of,
    find_config,
    now_of,
    output_of,
    policy_from,
    selected_campaigns,
)
from mktsync.errors import EXIT_CHANGES, EXIT_OK

if TYPE_CHECKING:  # the report is imported when plan runs (issue 16: fast start)
    from mktsync.config import Config
    from mktsync.plan import Plan
    from mktsync.report.markdown import Context

UNTRUSTED_SAMPLE_ROWS = 5  # rows per campaign a fork's pull-request plan shows


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("plan", help="show what apply would trigger (dry run; no credentials)")
    add_config_file(p)
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p.add_argument("--out", type=Path, help="save the plan (JSON) for a later 'mktsync apply PLAN'")
    p.add_argument(
        "--out-markdown",
        type=Path,
        metavar="FILE",
        help="also write the Markdown plan to FILE without the comment's size limit "
        "(every campaign: the artifact a cut comment points to)",
    )
    p.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 2 when an apply would change Marketo or not end with 0 (docs/exit-codes.md), "
        "0 when it would change nothing",
    )
    p.add_argument(
        "--ref",
        metavar="COMMIT",
        help="the commit the Markdown plan describes (default: $GITHUB_SHA or $CI_COMMIT_SHA)",
    )
    add_ledger(p)
    add_base(p)
    add_environment(p)
    add_now(p)
    add_campaign(p)
    add_campaign_id(p)
    add_retry_unknown(p)
    p.add_argument(
        "--show-pii",
        action="store_true",
        help="do not mask email addresses and personal lead field values (text and Markdown)",
    )
    p.add_argument(
        "--usage",
        action="store_true",
        help="also read today's API usage of the instance (one read-only call to Marketo with "
        "the config's credentials) and show it in the budget line; not with --untrusted",
    )
    add_annotation_options(p)
    add_policy(p, untrusted=True)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from mktsync.errors import MktsyncError
    from mktsync.report.annotations import error_problems

    path = None
    try:
        path = find_config(args.file, args)
        return _run(args, path, out, err)
    except MktsyncError as exc:
        # The plan's stdout is the plan (Markdown, JSON): annotations go with the errors.
        config = _failed_config(exc, args, path)
        problems = error_problems(exc, config, show_pii=args.show_pii)
        # The Code Quality report replaces validate's (the GitLab example writes both to
        # one file): a failed plan's keeps the config's warnings as a made plan's does.
        # GitHub's annotations leave them to validate (shown twice otherwise).
        warnings = list(config.warnings) if config is not None else []
        emit(args, problems, err, config=path, report=[*warnings, *problems])
        raise


def _run(args: argparse.Namespace, path: Path, out: TextIO, err: TextIO) -> int:
    from mktsync import plan_config
    from mktsync.plan import check_budget
    from mktsync.plan.file import write_plan
    from mktsync.plan.qualify import plan_warnings
    from mktsync.report import REPORTERS, ReportOptions
    from mktsync.report.annotations import plan_problems
    from mktsync.report.text import render_text_summary

    output = output_of(args)
    if args.usage and args.untrusted:
        raise UsageError(
            "mktsync plan: --usage cannot be used with --untrusted: an unreviewed config must "
            "not choose where Marketo's credentials are sent"
        )
    pinned = now_of(args)  # a bad --now fails before anything is read
    campaigns = args.campaign
    if args.campaign_id:
        from mktsync.config import load_config

        campaigns = selected_campaigns(
            load_config(path, policy=policy_from(args)).campaigns, args.campaign, args.campaign_id
        )
    config, plan = plan_config(
        path,
        ledger_url=args.ledger,
        campaigns=campaigns,
        retry_unknown=args.retry_unknown,
        policy=policy_from(args),
        environment=environment_of(args),
        base=args.base,
        now=pinned[1] if pinned else None,
        usage=args.usage,
    )
    for warning in config.warnings:
        err.write(f"{warning}\n")
    notes = plan_warnings(config, plan, args.ledger)
    for line in notes:
        err.write(f"{line}\n")
    context = comment_context(args.ref, args.ledger or config.ledger.raw, plan)
    options = ReportOptions(
        color=output.use_color(out),
        show_pii=args.show_pii,
        verbose=output.verbose,
        context=context,
        notes=tuple(notes),  # the comment shows them at its top, as stderr does
        limit=output.rows(),
        # A fork's pull request: counts and a few sample rows, so the comment cannot be
        # used to publish the data wholesale (docs/security.md).
        sample_rows=UNTRUSTED_SAMPLE_ROWS if args.untrusted else None,
    )
    if output.quiet and args.format == "text":
        out.write(render_text_summary(plan, color=options.color, show_pii=args.show_pii))
    else:
        REPORTERS[args.format](plan, out, options)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as f:
            REPORTERS["markdown"](plan, f, dataclasses.replace(options, show_pii=False))
    if args.out_markdown:
        from mktsync.report.markdown import FILE

        args.out_markdown.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out_markdown, "w", encoding="utf-8") as f:
            REPORTERS["markdown"](plan, f, dataclasses.replace(options, budget=FILE))
    # The config's own warnings are validate's to annotate (both examples run it first):
    # GitHub shows an annotation twice when two steps write it (actions/runner#504).  The
    # Code Quality report keeps them: plan writes it over validate's in the same job.
    emit(
        args,
        plan_problems(config, plan, notes, config_warnings=False, show_pii=args.show_pii),
        err,
        config=path,
        report=plan_problems(config, plan, notes, show_pii=args.show_pii),
    )
    # After the plan is shown (what is so big?), before it is saved: a plan apply would
    # refuse (max_calls, the daily quota) is an error here too, and no plan file.
    check_budget(plan, config)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as f:
            write_plan(plan, f)
        if not output.quiet:
            err.write(f"plan saved to {args.out}; apply it with 'mktsync apply {args.out}'\n")
    # A new ledger with evidence of earlier sends is for a reviewer to see (issue 25).
    review = plan.summary.needs_review or bool(plan.new_ledger and plan.new_ledger.warns)
    return EXIT_CHANGES if args.detailed_exitcode and review else EXIT_OK


def _failed_config(exc: Exception, args: argparse.Namespace, path: Path | None) -> Config | None:
    """The config behind a failed plan, read again (only on this path) when the report
    needs it: too many invalid rows are located in their data files, and the Code Quality
    report holds the config's warnings.  None when the config is what failed."""
    from mktsync.errors import ConfigError, PlanError

    wanted = (isinstance(exc, PlanError) and exc.invalid) or getattr(args, "code_quality", None)
    if not wanted or path is None or isinstance(exc, ConfigError):
        return None
    from mktsync.sources.contract import load_checked  # the contract's warnings too

    try:
        return load_checked(path, policy=policy_from(args), environment=environment_of(args))
    except Exception:  # the error being reported is the one that matters
        return None


def comment_context(ref: str | None, ledger: str, plan: Plan | None = None) -> Context:
    """What a Markdown plan says it describes: commit, ledger (credentials redacted), and
    the plan's instant (what ``now`` and ``today`` were; ``apply --reviewed`` reuses it)."""
    from mktsync.config.dburl import redact
    from mktsync.report.markdown import Context
    from mktsync.report.words import instant_text

    commit = ref or os.environ.get("GITHUB_SHA") or os.environ.get("CI_COMMIT_SHA")
    instant = instant_text(plan) if plan is not None else None
    return Context(ref=commit, ledger=redact(ledger), generated_at=instant)
