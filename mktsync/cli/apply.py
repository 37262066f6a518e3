"""``mktsync apply``: build the config, ledger, client and reporter, run, and report.

Kept apart from ``mktsync.apply`` (the executor, which never prints): this is where
credentials are read from the environment, the emulator is started for ``--emulator``,
and a person at a terminal is asked to confirm.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mktsync.cli.options import (
    Output,
    Subparsers,
    add_base,
    add_campaign,
    add_campaign_id,
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
from mktsync.errors import EXIT_ERROR, MktsyncError

if TYPE_CHECKING:
    # Types only: the machinery is imported when apply runs, so building the command
    # line (``mktsync --help``, ``mktsync plan``) does not load it (issue 16).
    from datetime import datetime

    from mktsync.apply import ApplyReport
    from mktsync.config.model import Config, EnvString
    from mktsync.config.policy import Policy
    from mktsync.emulator import Emulator
    from mktsync.plan import Plan


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("apply", help="trigger what the plan shows, within Marketo's limits")
    p.add_argument(
        "file",
        nargs="?",
        default=None,
        type=Path,
        help="campaigns.yaml (found as 'mktsync plan' finds it), or a plan saved with "
        "'mktsync plan --out'",
    )
    p.add_argument("--config", type=Path, help="the config of a saved plan (default: as recorded)")
    p.add_argument(
        "--emulator",
        action="store_true",
        help="apply against an in-process Marketo emulator seeded from the config",
    )
    p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    add_ledger(p)
    add_environment(p)
    p.add_argument(
        "--record-only",
        action="store_true",
        help="record what the plan would send as sent, without calling Marketo (a baseline "
        "of what was sent before mktsync; needs --why)",
    )
    p.add_argument(
        "--why",
        metavar="TEXT",
        help="with --record-only or --new-ledger: the reason, kept in the ledger",
    )
    p.add_argument(
        "--new-ledger",
        action="store_true",
        help="start a new, empty ledger even though the ledger the config named before holds "
        "sends (everything is triggered again); recorded in the ledger's runs (docs/ledger.md)",
    )
    add_base(p)
    add_campaign(p, verb="apply")
    add_campaign_id(p, verb="apply")
    add_retry_unknown(p)
    add_now(p)
    p.add_argument(
        "--reviewed",
        type=Path,
        metavar="PLAN",
        help="send only what this reviewed plan (a pull request's 'plan --out') also sends: "
        "plan again at its instant and hold what appeared or changed since, for the next "
        "review (FILE is then the config)",
    )
    p.add_argument("--fail-fast", action="store_true", help="stop everything if preflight fails")
    p.add_argument("--lock-timeout", type=float, default=30.0, metavar="SECONDS")
    p.add_argument("--format", choices=("text", "json"), default="text", help="the final report")
    p.add_argument("--log-format", choices=("text", "json"), default="text", help="progress lines")
    add_policy(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    output = output_of(args)
    request = ApplyRequest(
        target=find_config(args.file, args),
        config=args.config,
        emulator=args.emulator,
        assume_yes=args.yes,
        ledger_url=args.ledger,
        campaigns=tuple(args.campaign) if args.campaign else None,
        campaign_ids=tuple(args.campaign_id) if args.campaign_id else None,
        retry_unknown=args.retry_unknown,
        fail_fast=args.fail_fast,
        lock_timeout=args.lock_timeout,
        report_format=args.format,
        log_format=args.log_format,
        policy=policy_from(args),
        output=output,
        environment=environment_of(args),
        record_only=args.record_only,
        why=args.why,
        new_ledger=args.new_ledger,
        base=args.base,
        now=now_of(args),
        reviewed=args.reviewed if args.reviewed is None else find_config(args.reviewed, args),
    )
    return run_apply(request, out, err)


@dataclass(frozen=True, kw_only=True)
class ApplyRequest:
    target: Path
    config: Path | None = None
    emulator: bool = False
    assume_yes: bool = False
    ledger_url: str | None = None
    campaigns: tuple[str, ...] | None = None
    campaign_ids: tuple[int, ...] | None = None
    retry_unknown: bool = False
    fail_fast: bool = False
    lock_timeout: float = 30.0
    report_format: str = "text"
    log_format: str = "text"
    policy: Policy | None = None  # --allow-env, --data-root: what ${VAR} and sources may reach
    output: Output = dataclasses.field(default_factory=Output)
    environment: str | None = None  # --env: one of the config's environments
    record_only: bool = False  # --record-only: record the plan as sent, call nothing
    why: str | None = None
    new_ledger: bool = False  # --new-ledger: start a new ledger despite an earlier one
    base: str | None = None  # --base REF: the base branch the config is compared with
    now: tuple[str, datetime] | None = None  # --now / MKTSYNC_NOW: as given, and parsed
    reviewed: Path | None = None  # --reviewed PLAN: send only what it also sends


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    base_url: str
    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # never show the secret
        return f"Endpoint(base_url={self.base_url!r}, client_id=..., client_secret=...)"


def run_apply(request: ApplyRequest, out: TextIO, err: TextIO) -> int:
    from mktsync.config import display_name
    from mktsync.plan.file import load_plan
    from mktsync.sources.contract import load_checked

    saved: Plan | None = None
    reviewed: Plan | None = None
    config_path = request.target
    if request.reviewed is not None:
        _reviewed_usage(request)
        reviewed = load_plan(request.reviewed)
    elif _is_plan(request.target):
        saved = load_plan(request.target)
        config_path = request.config or Path(saved.config_path)
    made = saved or reviewed
    if made is not None:
        # A saved plan carries its environment and instant: it applies where and as it was made.
        name = display_name(request.reviewed or request.target)
        request = _as_made(made, name, config_path, request)
    config = load_checked(config_path, policy=request.policy, environment=request.environment)
    for warning in config.warnings:
        err.write(f"{warning}\n")
    if config.environments and config.environment is None and not request.emulator:
        if made is not None:
            raise MktsyncError(
                f"{name} was made without --env, but {display_name(config.path)} declares "
                f"environments ({', '.join(config.environments)}): plan again with --env NAME "
                "(or MKTSYNC_ENV); apply never guesses which Marketo instance to send to"
            )
        raise MktsyncError(
            f"{display_name(config.path)} declares environments "
            f"({', '.join(config.environments)}): name one with --env NAME (or MKTSYNC_ENV); "
            "apply never guesses which Marketo instance to send to"
        )
    if request.campaign_ids:
        names = selected_campaigns(
            config.campaigns, list(request.campaigns or ()), list(request.campaign_ids)
        )
        request = dataclasses.replace(request, campaigns=tuple(names or ()))
    # Before consent and before anything is created: a ledger that moved is refused here.
    note = None if request.emulator or request.record_only else _new_ledger(config, request, err)
    consent = _consent(request, saved or reviewed)
    if consent == "refuse":
        raise MktsyncError(
            "apply needs consent, but stdin is not a terminal to ask on: pass --yes "
            "(or set CI=true in a pipeline) to apply without asking, or run "
            "'mktsync plan --out plan.json' and 'mktsync apply plan.json'"
        )
    if request.record_only:
        from mktsync.cli.record_only import run_record_only

        if consent == "ask":
            ledger_url = request.ledger_url or config.ledger.resolve()
            saved = _confirm(config, ledger_url, request, out, err)
            if saved is None:
                err.write("nothing recorded\n")
                return EXIT_ERROR
        return run_record_only(config, request, saved, out, err)
    with _endpoint(config, request, err) as (endpoint, ledger_url, emulator):
        if consent == "ask":
            saved = _confirm(config, ledger_url, request, out, err)
            if saved is None:
                err.write("nothing applied\n")
                return EXIT_ERROR
        report = _run(
            config, saved, endpoint, ledger_url, request, err, note=note, reviewed=reviewed
        )
        if emulator is not None and not request.output.quiet:  # the demo's account
            from mktsync.cli.demo import account

            for line in account(emulator):
                err.write(line + "\n")
            err.flush()
    _report(report, request, out)  # last, so that the verdict is the last line
    return report.exit_code


def _run(
    config: Config,
    saved: Plan | None,
    endpoint: Endpoint,
    ledger_url: str,
    request: ApplyRequest,
    err: TextIO,
    *,
    note: str | None = None,
    reviewed: Plan | None = None,
) -> ApplyReport:
    from mktsync import git_commit
    from mktsync.apply import ApplyOptions, apply_config
    from mktsync.apply.result import StopRequest
    from mktsync.cli.progress import Progress
    from mktsync.cli.record_only import bound
    from mktsync.cli.signals import orderly_stop
    from mktsync.config import display_name
    from mktsync.ledger import open_ledger
    from mktsync.marketo import MarketoClient
    from mktsync.plan.qualify import campaign_info_path

    quiet, verbose = request.output.quiet, request.output.verbose
    progress = Progress(
        err,
        tty=err.isatty() and not verbose,
        log_format=request.log_format,
        every=0 if verbose else 5,
    )
    stop = StopRequest()
    options = ApplyOptions(
        stop=stop,
        retry_unknown=request.retry_unknown,
        fail_fast=request.fail_fast,
        lock_timeout=request.lock_timeout,
        campaigns=request.campaigns,
        git_commit=git_commit(config.base_dir),
        on_event=None if quiet and request.log_format == "text" else progress,
        campaign_info=campaign_info_path(ledger_url, config.base_dir),
        note=note,
        now=request.now[1] if request.now else None,
        plan_name=display_name(request.reviewed or request.target),
    )
    with (
        open_ledger(ledger_url, config.base_dir) as ledger,
        bound(ledger, None if request.emulator else endpoint.base_url, config.environment),
        MarketoClient(
            endpoint.base_url,
            endpoint.client_id,
            endpoint.client_secret,
            limits=config.marketo.limits,
            stop=stop,  # a signal ends the client's waits: nothing waiting is sent
        ) as client,
        orderly_stop(stop, err),
    ):
        return apply_config(config, ledger, client, options, saved=saved, reviewed=reviewed)


def _new_ledger(config: Config, request: ApplyRequest, err: TextIO) -> str | None:
    """Refuse to start a new ledger where the config's earlier ledger holds sends (issue 25).

    Returns the note the run records when ``--new-ledger`` starts one anyway (who, why, and
    the evidence set aside); None otherwise.
    """
    from mktsync.config.model import EnvString
    from mktsync.config.security import as_written
    from mktsync.errors import EnvironmentVariableError
    from mktsync.ledger import open_ledger
    from mktsync.ledger.history import apply_refusal, new_ledger
    from mktsync.ledger.records import whoami

    try:
        url = request.ledger_url or config.ledger.resolve()
    except EnvironmentVariableError:
        return None  # reported where apply needs the value, with the credentials
    written = config.ledger if request.ledger_url is None else EnvString(raw=url)
    with as_written(written, url), open_ledger(url, config.base_dir, create=False) as ledger:
        found = new_ledger(
            config,
            ledger,
            url,
            written=written.raw,
            base=request.base,
            compare_config=request.ledger_url is None,
            environments=False,
        )
    if found is None:
        if request.new_ledger:
            err.write("note: --new-ledger has nothing to do: the ledger is in use already\n")
        return None
    if not request.new_ledger:
        refusal = apply_refusal(found)
        if refusal is not None:
            raise MktsyncError(refusal)
        return None
    who = os.environ.get("MKTSYNC_WHO", "").strip() or whoami()
    why = (request.why or "").strip() or "no reason given (--why)"
    evidence = "; ".join(e.describe() for e in found.evidence) or "no earlier ledger was found"
    return f"new ledger started with --new-ledger by {who}: {why} (set aside: {evidence})"


def _report(report: ApplyReport, request: ApplyRequest, out: TextIO) -> None:
    from mktsync.report.outcome import render_apply_json, render_apply_markdown, render_apply_text

    quiet = request.output.quiet
    if request.report_format == "json":
        out.write(render_apply_json(report))
    else:
        text = render_apply_text(report, limit=request.output.rows(10))
        lines = text.rstrip("\n").split("\n")
        if quiet:  # the verdict, and the warning about skipped missing leads
            lines = [line for line in lines[:-1] if line.startswith("warning:")] + lines[-1:]
        if request.output.use_color(out):
            lines[-1] = paint_verdict(lines[-1], ok=lines[-1].startswith(ALL_WELL))
        out.write("\n".join(lines) + "\n")
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as f:
            f.write(render_apply_markdown(report))


@contextmanager
def _endpoint(
    config: Config, request: ApplyRequest, err: TextIO
) -> Iterator[tuple[Endpoint, str, Emulator | None]]:
    from mktsync.config import display_name

    if request.emulator:
        from mktsync.cli.demo import EMULATOR_LEDGER, emulator_for

        with emulator_for(config) as emu:
            if not request.output.quiet:
                err.write(
                    f"Marketo emulator at {emu.base_url} "
                    f"(seeded from {display_name(config.path)})\n"
                )
            yield (
                Endpoint(
                    base_url=emu.base_url, client_id=emu.client_id, client_secret=emu.client_secret
                ),
                request.ledger_url or EMULATOR_LEDGER,
                emu,
            )
        return
    m = config.marketo
    missing = [
        name
        for name, v in (
            ("base_url", m.base_url),
            ("client_id", m.client_id),
            ("client_secret", m.client_secret),
        )
        if v is None
    ]
    if missing:
        raise MktsyncError(
            f"{display_name(config.path)}: marketo.{missing[0]} is not set; apply needs "
            "marketo.base_url, client_id and client_secret (or try 'mktsync apply --emulator')"
        )
    assert m.base_url and m.client_id and m.client_secret
    yield (
        Endpoint(
            base_url=_base_url(m.base_url),
            client_id=m.client_id.resolve(),
            client_secret=m.client_secret.resolve(),
        ),
        request.ledger_url or config.ledger.resolve(),
        None,
    )


def _base_url(value: EnvString) -> str:
    """The resolved base URL, or a plain error that shows the URL as written, never its value."""
    import httpx

    from mktsync.marketo.client import instance_root

    url = value.resolve()
    try:
        httpx.URL(instance_root(url))
    except (ValueError, httpx.InvalidURL):
        where = f"{value.position}: " if value.position else ""
        raise MktsyncError(
            f"{where}marketo.base_url: '{value.raw}' does not give a Marketo REST URL; "
            "it must look like https://123-ABC-456.mktorest.com"
        ) from None
    return url


def _reviewed_usage(request: ApplyRequest) -> None:
    """``--reviewed PLAN [FILE]``: FILE is the (merged) config, planned again."""
    if _is_plan(request.target):
        raise MktsyncError(
            f"apply --reviewed {request.reviewed} takes the config as FILE "
            f"(default campaigns.yaml), not a plan ({request.target})"
        )
    for given, option in ((request.record_only, "--record-only"), (request.config, "--config")):
        if given:
            raise MktsyncError(f"apply --reviewed cannot be used with {option}")


def _as_made(made: Plan, name: str, config_path: Path, request: ApplyRequest) -> ApplyRequest:
    """The request with the environment the plan was made for.  ``--env`` (or
    ``MKTSYNC_ENV``) and ``--now`` (or ``MKTSYNC_NOW``) may repeat the plan's, never
    override them: a disagreement is an error naming both sides."""
    from mktsync import instance_if_known
    from mktsync.apply.runner import place
    from mktsync.dates import instant
    from mktsync.errors import ForeignPlan
    from mktsync.sources.contract import load_checked

    bound = made.binding
    if bound is None or made.now is None:
        raise ForeignPlan(
            f"{name} does not say where and when it was made (environment, Marketo instance, "
            "ledger, instant): it was saved by an older mktsync, or edited; run 'mktsync "
            "plan --out' again"
        )
    if request.environment is not None and request.environment != bound.environment:
        # Described from the config, without opening that environment's ledger.
        other = load_checked(config_path, policy=request.policy, environment=request.environment)
        was = place(bound.environment, bound.instance, bound.ledger_id, bound.ledger)
        run = place(
            other.environment, instance_if_known(other), None, other.ledger.raw, opened=False
        )
        raise ForeignPlan(
            f"{name} was made for {was}; this run is for {run}: apply it where it was made, "
            "or plan again (--env and MKTSYNC_ENV cannot override a saved plan's environment)"
        )
    if request.now is not None and instant(request.now[1], made.timezone) != made.now:
        raise ForeignPlan(
            f"--now {request.now[0]} is not the instant {name} was made at "
            f"({made.now.isoformat()}): a saved plan replays its own; drop --now (and "
            "MKTSYNC_NOW), or plan again at that time"
        )
    return dataclasses.replace(request, environment=bound.environment)


def _is_plan(path: Path) -> bool:
    if path.suffix.lower() == ".json":
        return True
    try:
        with open(path, "rb") as f:
            return f.read(64).lstrip().startswith(b"{")
    except OSError:
        return False


def _consent(request: ApplyRequest, saved: Plan | None) -> str:
    """'given', 'ask' (a person at a terminal) or 'refuse' (nobody to ask: Terraform's rule).

    Consent is given by ``--yes``, by ``CI=true`` (a pipeline decided), or by a saved or
    reviewed plan (it was reviewed when it was made).  The emulator demo triggers nothing real, so it
    needs none: ``mktsync apply --emulator`` works the same in a terminal and in CI.
    """
    ci = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")
    if request.assume_yes or request.emulator or ci or saved is not None:
        return "given"
    return "ask" if sys.stdin is not None and sys.stdin.isatty() else "refuse"


def _confirm(
    config: Config, ledger_url: str, request: ApplyRequest, out: TextIO, err: TextIO
) -> Plan | None:
    """Show the plan and ask; the plan shown is the plan applied (refused if the ledger moves)."""
    from mktsync import binding_of
    from mktsync.ledger import open_ledger
    from mktsync.plan import make_plan
    from mktsync.report import render_text

    with open_ledger(ledger_url, config.base_dir, create=False) as ledger:
        plan = make_plan(
            config,
            ledger,
            campaigns=request.campaigns,
            retry_unknown=request.retry_unknown,
            config_path=config.path.name,
            now=request.now[1] if request.now else None,
            binding=binding_of(config, ledger, ledger_url),
        )
    out.write(render_text(plan, color=request.output.use_color(out)))
    if not plan.summary.changes:
        return plan
    question = "Trigger these campaigns? Type 'yes' to go on:"
    if request.record_only:
        question = "Record these as sent, without calling Marketo? Type 'yes' to go on:"
    if request.output.use_color(err):
        question = f"\x1b[1m{question}\x1b[0m"
    err.write(question + " ")
    err.flush()
    answer = sys.stdin.readline().strip().lower()
    return plan if answer in ("yes", "y") else None


ALL_WELL = ("Everything planned was sent", "Nothing to trigger")


def paint_verdict(line: str, *, ok: bool) -> str:
    """The last line in green when all is well, else in bold yellow: it must not be missed."""
    return f"\x1b[{'32' if ok else '33;1'}m{line}\x1b[0m"
