"""``mktsync apply``: build the config, ledger, client and reporter, run, and report.

Kept apart from ``mktsync.apply`` (the executor, which never prints): this is where
credentials are read from the environment, the emulator is started for ``--emulator``,
and a person at a terminal is asked to confirm.  The rules that may refuse a run before
it sends (a saved plan's place and instant, a new ledger, consent) are the library's
(``apply.admission``); how the run ended is its report's verdict (``ApplyReport.verdict``),
which this module prints and colours, never judges.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, closing, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from mktsync.cli.options import (
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
from mktsync.cli.request import ApplyRequest, Endpoint
from mktsync.errors import EXIT_ERROR, MktsyncError

MAX_AGE_LIMIT = 3650  # days: --max-age beyond ten years is no limit, and a date out of range

if TYPE_CHECKING:
    # Types only: the machinery is imported when apply runs, so building the command
    # line (``mktsync --help``, ``mktsync plan``) does not load it (issue 16).
    from mktsync.apply import ApplyReport
    from mktsync.apply.result import StopRequest
    from mktsync.config.model import Config, EnvString
    from mktsync.emulator import Emulator
    from mktsync.marketo.shared_limits import SharedLimiter
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
    p.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="apply without asking: the consent a pipeline gives (CI=true is not consent)",
    )
    add_ledger(p)
    add_environment(p, repeatable=True)
    p.add_argument(
        "--all-envs",
        action="store_true",
        help="apply to every environment of 'environments:' at once, each with its own "
        "Marketo, limits and ledger; one report each, the worst exit code wins",
    )
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
    p.add_argument(
        "--max-age",
        type=float,
        metavar="DAYS",
        help="with --reviewed: refuse a reviewed plan made more than DAYS days ago "
        "(default: 7; docs/ci.md)",
    )
    p.add_argument("--fail-fast", action="store_true", help="stop everything if preflight fails")
    p.add_argument("--lock-timeout", type=float, default=30.0, metavar="SECONDS")
    p.add_argument("--format", choices=("text", "json"), default="text", help="the final report")
    p.add_argument("--log-format", choices=("text", "json"), default="text", help="progress lines")
    add_policy(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    output = output_of(args)
    envs: list[str] = list(dict.fromkeys(args.env or ()))  # --env A --env B (in that order)
    if args.all_envs and envs:
        raise MktsyncError("apply: give --all-envs or --env, not both")
    many = args.all_envs or len(envs) > 1
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
        environment=envs[0] if len(envs) == 1 else None if many else environment_of(args),
        record_only=args.record_only,
        why=args.why,
        new_ledger=args.new_ledger,
        base=args.base,
        now=now_of(args),
        reviewed=args.reviewed if args.reviewed is None else find_config(args.reviewed, args),
        max_age=args.max_age,
    )
    if many:
        return run_many(request, envs or None, out, err)
    return run_apply(request, out, err)


def run_apply(request: ApplyRequest, out: TextIO, err: TextIO) -> int:
    from mktsync.apply.admission import as_made, consent, ledger_start, named_environment
    from mktsync.config import display_name
    from mktsync.plan.file import load_plan
    from mktsync.sources.contract import load_checked

    saved: Plan | None = None
    reviewed: Plan | None = None
    config_path = request.target
    if request.reviewed is not None:
        _reviewed_usage(request)
        reviewed = load_plan(request.reviewed)
    elif request.max_age is not None:
        raise MktsyncError(
            "--max-age says how old a plan given with --reviewed may be; no --reviewed"
        )
    elif _is_plan(request.target):
        saved = load_plan(request.target)
        config_path = request.config or Path(saved.config_path)
    made = saved or reviewed
    name = None
    if made is not None:
        # A saved plan carries its environment and instant: it applies where and as it was made.
        name = display_name(request.reviewed or request.target)
        environment = as_made(
            made,
            name=name,
            config_path=config_path,
            environment=request.environment,
            now=request.now,
            policy=request.policy,
        )
        request = dataclasses.replace(request, environment=environment)
    config = load_checked(config_path, policy=request.policy, environment=request.environment)
    for warning in config.warnings:
        err.write(f"{warning}\n")
    if not request.emulator:
        named_environment(config, made=name)
    if request.campaign_ids:
        names = selected_campaigns(
            config.campaigns, list(request.campaigns or ()), list(request.campaign_ids)
        )
        request = dataclasses.replace(request, campaigns=tuple(names or ()))
    # Before consent and before anything is created: a ledger that moved is refused here.
    note = None
    if not (request.emulator or request.record_only):
        start = ledger_start(
            config,
            ledger_url=request.ledger_url,
            new_ledger=request.new_ledger,
            why=request.why,
            base=request.base,
            who=os.environ.get("MKTSYNC_WHO", "").strip() or None,
        )
        if start.unneeded:
            err.write("note: --new-ledger has nothing to do: the ledger is in use already\n")
        note = start.note
    given = consent(
        assume_yes=request.assume_yes,
        emulator=request.emulator,
        ci=os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"),
        saved=made is not None,
        interactive=sys.stdin is not None and sys.stdin.isatty(),
    )
    if request.record_only:
        from mktsync.cli.record_only import run_record_only

        if given == "ask":
            ledger_url = request.ledger_url or config.ledger.resolve()
            saved = _confirm(config, ledger_url, request, out, err)
            if saved is None:
                err.write("nothing recorded\n")
                return EXIT_ERROR
        return run_record_only(config, request, saved, out, err)
    with _endpoint(config, request, err) as (endpoint, ledger_url, emulator):
        if given == "ask":
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
    stop: StopRequest | None = None,
    label: str | None = None,
) -> ApplyReport:
    from mktsync import git_commit
    from mktsync.apply import ApplyOptions, apply_config
    from mktsync.apply.instance import bound
    from mktsync.apply.result import StopRequest as Stop
    from mktsync.cli.progress import Progress
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
    stop = stop or Stop()  # one for all environments: a signal stops them all
    on_event: Callable[[Mapping[str, Any]], None] = progress
    if label is not None and request.log_format == "json":
        on_event = lambda event: progress({**event, "environment": label})  # noqa: E731
    options = ApplyOptions(
        stop=stop,
        retry_unknown=request.retry_unknown,
        fail_fast=request.fail_fast,
        lock_timeout=request.lock_timeout,
        campaigns=request.campaigns,
        git_commit=git_commit(config.base_dir),
        on_event=None if quiet and request.log_format == "text" else on_event,
        campaign_info=campaign_info_path(ledger_url, config.base_dir),
        note=note,
        now=request.now[1] if request.now else None,
        plan_name=display_name(request.reviewed or request.target),
        **(
            {} if request.max_age is None else {"reviewed_max_age": timedelta(days=request.max_age)}
        ),
    )
    with (
        open_ledger(ledger_url, config.base_dir) as ledger,
        bound(ledger, None if request.emulator else endpoint.base_url, config.environment),
        _limiter(config, endpoint, ledger_url, emulator=request.emulator) as limiter,
        MarketoClient(
            endpoint.base_url,
            endpoint.client_id,
            endpoint.client_secret,
            limits=config.marketo.limits,
            limiter=limiter,
            stop=stop,  # a signal ends the client's waits: nothing waiting is sent
        ) as client,
        orderly_stop(stop, err),
        closing(progress),  # its tick thread draws nothing once the run is over
    ):
        return apply_config(config, ledger, client, options, saved=saved, reviewed=reviewed)


@contextmanager
def _limiter(
    config: Config, endpoint: Endpoint, ledger_url: str, *, emulator: bool
) -> Iterator[SharedLimiter | None]:
    """The instance's limits, shared with every other process on it (issue 24): through
    ``limits.shared`` or a PostgreSQL ledger, else this machine's file.  ``--emulator``
    keeps its own (its emulator serves this run alone).  ``LimiterUnavailable`` here
    stops the run before anything is sent."""
    if emulator:
        yield None
        return
    from mktsync.marketo.shared_limits import open_limiter

    written = config.marketo.limits.shared
    limiter = open_limiter(
        config.marketo.limits,
        base_url=endpoint.base_url,
        ledger_url=ledger_url,
        shared_url=written.resolve() if written is not None else None,
    )
    with limiter:
        yield limiter


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
            lines[-1] = paint_verdict(lines[-1], ok=report.verdict.ok)  # never read from the words
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
        from mktsync.cli.demo import emulator_for, emulator_ledger

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
                request.ledger_url or emulator_ledger(config.environment),
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
    if request.max_age is not None and not 0 < request.max_age <= MAX_AGE_LIMIT:
        raise MktsyncError(
            f"--max-age {request.max_age:g}: give the days a reviewed plan may be old, "
            f"more than 0 and at most {MAX_AGE_LIMIT:,}"
        )


def _is_plan(path: Path) -> bool:
    if path.suffix.lower() == ".json":
        return True
    try:
        with open(path, "rb") as f:
            return f.read(64).lstrip().startswith(b"{")
    except OSError:
        return False


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
    out.write(
        render_text(
            plan,
            color=request.output.use_color(out),
            limit=request.output.rows(),
            leads=request.output.verbose,
        )
    )
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


def paint_verdict(line: str, *, ok: bool) -> str:
    """The last line in green when all is well, else in bold yellow: it must not be missed."""
    return f"\x1b[{'32' if ok else '33;1'}m{line}\x1b[0m"


# -- several environments at once (issue 24) -------------------------------------------


class _Labelled:
    """A text stream whose every line starts ``[NAME] ``: environments run side by side."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self._stream, self._prefix, self._fresh = stream, f"[{label}] ", True
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            for part in text.replace("\r", "\n").splitlines(keepends=True):
                self._stream.write((self._prefix if self._fresh else "") + part)
                self._fresh = part.endswith("\n")
            return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return False  # no progress bar drawn over another environment's lines


def run_many(request: ApplyRequest, names: list[str] | None, out: TextIO, err: TextIO) -> int:
    """``apply --env A --env B`` or ``--all-envs`` (``names`` None): each environment as
    ``apply --env NAME`` would apply it, side by side, each with its own Marketo, limits,
    ledger and credentials; one report each; the worst exit code (``verdict.worst``).

    Everything that may refuse a run (the config of every environment, its credentials,
    a moved ledger, consent) is checked for all of them before any sends: one refusal and
    nothing is sent anywhere.  Once they run, an error in one (a locked ledger, bad
    credentials) ends that one only; a signal stops them all.
    """
    from mktsync.apply.admission import consent, ledger_start, named_environment
    from mktsync.apply.result import StopRequest
    from mktsync.apply.verdict import worst
    from mktsync.cli.signals import orderly_stop
    from mktsync.sources.contract import load_checked

    _many_usage(request)
    if names is None:
        top = load_checked(request.target, policy=request.policy)
        names = list(top.environments)
        if not names:
            raise MktsyncError(
                f"apply --all-envs: {request.target} declares no 'environments:' to apply to"
            )
    given = consent(
        assume_yes=request.assume_yes,
        emulator=request.emulator,
        ci=os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"),
        saved=False,
        interactive=sys.stdin is not None and sys.stdin.isatty(),
    )
    prepared: list[tuple[str, Config, ApplyRequest, str | None]] = []
    for name in names:
        config = load_checked(request.target, policy=request.policy, environment=name)
        for warning in config.warnings:
            err.write(f"[{name}] {warning}\n")
        env_request = dataclasses.replace(request, environment=name)
        if request.campaign_ids:
            chosen = selected_campaigns(
                config.campaigns, list(request.campaigns or ()), list(request.campaign_ids)
            )
            env_request = dataclasses.replace(env_request, campaigns=tuple(chosen or ()))
        note = None
        if not request.emulator:
            named_environment(config, made=None)
            note = ledger_start(
                config,
                ledger_url=None,
                new_ledger=False,
                why=None,
                base=request.base,
                who=os.environ.get("MKTSYNC_WHO", "").strip() or None,
            ).note
        prepared.append((name, config, env_request, note))
    stop = StopRequest()
    results: dict[str, ApplyReport | MktsyncError] = {}
    crashes: list[BaseException] = []
    with ExitStack() as stack:
        runs = []
        for name, config, env_request, note in prepared:
            endpoint, ledger_url, _emu = stack.enter_context(_endpoint(config, env_request, err))
            saved = None
            if given == "ask":
                err.write(f"environment {name}:\n")
                saved = _confirm(config, ledger_url, env_request, out, err)
                if saved is None:
                    err.write("nothing applied in any environment\n")
                    return EXIT_ERROR
            runs.append((name, config, saved, endpoint, ledger_url, env_request, note))

        def one(name: str, config: Config, saved: Plan | None, endpoint: Endpoint,
                ledger_url: str, env_request: ApplyRequest, note: str | None) -> None:  # fmt: skip
            labelled = cast(TextIO, _Labelled(err, name))  # write, flush, isatty suffice
            try:
                results[name] = _run(config, saved, endpoint, ledger_url, env_request,
                                     labelled, note=note, stop=stop, label=name)  # fmt: skip
            except MktsyncError as exc:
                results[name] = exc
            except BaseException as exc:  # a bug: the command's crash handler reports it
                crashes.append(exc)

        threads = [threading.Thread(target=one, args=r, name=f"apply-{r[0]}") for r in runs]
        with orderly_stop(stop, err):
            for thread in threads:
                thread.start()
            for thread in threads:
                while thread.is_alive():  # short waits: the signal handler runs between them
                    thread.join(0.2)
    if crashes:
        raise crashes[0]
    codes = [_code(results[name]) for name in names]
    _report_many(names, results, request, out)
    return worst(codes)


def _code(result: ApplyReport | MktsyncError) -> int:
    return result.exit_code


def _many_usage(request: ApplyRequest) -> None:
    """What only makes sense for one environment is refused with several."""
    if _is_plan(request.target):
        raise MktsyncError(
            f"a saved plan ({request.target}) is for the one environment it was made for: "
            "apply it without --env/--all-envs, or give the config to apply to several"
        )
    one = (
        (request.reviewed, "--reviewed (a reviewed plan is for one environment)"),
        (request.record_only, "--record-only"),
        (request.new_ledger, "--new-ledger"),
        (request.ledger_url, "--ledger (each environment has its own ledger)"),
        (request.config, "--config"),
        (request.max_age is not None, "--max-age"),
    )
    for given, option in one:
        if given:
            raise MktsyncError(f"apply to several environments cannot be used with {option}")


def _report_many(
    names: list[str],
    results: Mapping[str, ApplyReport | MktsyncError],
    request: ApplyRequest,
    out: TextIO,
) -> None:
    """One report per environment, in the order given: text sections, or a JSON list; then,
    in text, the last line: every environment's exit code and the job's."""
    from mktsync.apply.verdict import worst
    from mktsync.errors import one_line
    from mktsync.report.outcome import apply_to_json, render_apply_markdown, render_apply_text

    if request.report_format == "json":
        reports = [
            {
                "environment": name,
                "exit_code": r.exit_code,
                "errors": [one_line(x) for x in r.lines()],
            }
            if isinstance(r, MktsyncError)
            else apply_to_json(r)
            for name, r in ((n, results[n]) for n in names)
        ]
        out.write(json.dumps(reports, indent=2, ensure_ascii=False) + "\n")
    else:
        for name in names:
            result = results[name]
            out.write(f"== environment {name} ==\n")
            if isinstance(result, MktsyncError):
                # Each line carries its own "error:" (or "warning:"), as ``main`` prints it.
                out.writelines(f"{one_line(line)}\n" for line in result.lines())
                continue
            text = render_apply_text(result, limit=request.output.rows(10))
            lines = text.rstrip("\n").split("\n")
            if request.output.quiet:
                lines = [line for line in lines[:-1] if line.startswith("warning:")] + lines[-1:]
            out.write("\n".join(lines) + "\n\n")
        codes = {name: _code(results[name]) for name in names}
        job = worst(codes.values())
        each = ", ".join(f"{name} exit {code}" for name, code in codes.items())
        line = (
            f"{plural_envs(len(names))}: {each}; the job exits {job}, the worst "
            "(docs/exit-codes.md)."
        )
        if request.output.use_color(out):
            line = paint_verdict(line, ok=all(c == 0 for c in codes.values()))
        out.write(line + "\n")
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as f:
            for name in names:
                result = results[name]
                if not isinstance(result, MktsyncError):
                    f.write(render_apply_markdown(result))


def plural_envs(n: int) -> str:
    return f"{n} environment{'s' if n != 1 else ''}"
