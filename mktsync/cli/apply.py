"""``mktsync apply``: build the config, ledger, client and reporter, run, and report.

Kept apart from ``mktsync.apply`` (the executor, which never prints): this is where
credentials are read from the environment, the emulator is started for ``--emulator``,
and a person at a terminal is asked to confirm.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mktsync import git_commit
from mktsync.apply import ApplyOptions, apply_config
from mktsync.cli.options import (
    DEFAULT_CONFIG,
    Subparsers,
    add_campaign,
    add_ledger,
    add_policy,
    add_retry_unknown,
    policy_from,
)
from mktsync.config import display_name
from mktsync.config.model import Config, EnvString, Policy
from mktsync.contract import load_checked
from mktsync.errors import EXIT_ERROR, MktsyncError
from mktsync.ledger import open_ledger
from mktsync.plan import Plan, make_plan
from mktsync.planfile import load_plan
from mktsync.progress import Progress
from mktsync.report import render_text
from mktsync.report.outcome import render_apply_json, render_apply_text

if TYPE_CHECKING:
    from mktsync.emulator import Emulator


def add_parser(sub: Subparsers) -> None:
    p = sub.add_parser("apply", help="trigger what the plan shows, within Marketo's limits")
    p.add_argument(
        "file",
        nargs="?",
        default=DEFAULT_CONFIG,
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
    add_ledger(p)
    add_campaign(p, verb="apply")
    add_retry_unknown(p)
    p.add_argument("--fail-fast", action="store_true", help="stop everything if preflight fails")
    p.add_argument("--lock-timeout", type=float, default=30.0, metavar="SECONDS")
    p.add_argument("--format", choices=("text", "json"), default="text", help="the final report")
    p.add_argument("--log-format", choices=("text", "json"), default="text", help="progress lines")
    add_policy(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
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
        policy=policy_from(args),
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
    retry_unknown: bool = False
    fail_fast: bool = False
    lock_timeout: float = 30.0
    report_format: str = "text"
    log_format: str = "text"
    policy: Policy | None = None  # --allow-env, --data-root: what ${VAR} and sources may reach


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    base_url: str
    client_id: str
    client_secret: str

    def __repr__(self) -> str:  # never show the secret
        return f"Endpoint(base_url={self.base_url!r}, client_id=..., client_secret=...)"


def run_apply(request: ApplyRequest, out: TextIO, err: TextIO) -> int:
    saved: Plan | None = None
    config_path = request.target
    if _is_plan(request.target):
        saved = load_plan(request.target)
        config_path = request.config or Path(saved.config_path)
    config = load_checked(config_path, policy=request.policy)
    for warning in config.warnings:
        err.write(f"{warning}\n")
    with _endpoint(config, request, err) as (endpoint, ledger_url, emulator):
        if saved is None and _interactive(request):
            saved = _confirm(config, ledger_url, request, out, err)
            if saved is None:
                err.write("nothing applied\n")
                return EXIT_ERROR
        code = _run(config, saved, endpoint, ledger_url, request, out, err)
        if emulator is not None:
            from mktsync.demo import account

            for line in account(emulator):
                err.write(line + "\n")
    return code


def _run(
    config: Config,
    saved: Plan | None,
    endpoint: Endpoint,
    ledger_url: str,
    request: ApplyRequest,
    out: TextIO,
    err: TextIO,
) -> int:
    from mktsync.marketo import MarketoClient
    from mktsync.qualify import campaign_info_path

    progress = Progress(err, tty=err.isatty(), log_format=request.log_format)
    options = ApplyOptions(
        retry_unknown=request.retry_unknown,
        fail_fast=request.fail_fast,
        lock_timeout=request.lock_timeout,
        campaigns=request.campaigns,
        git_commit=git_commit(config.base_dir),
        on_event=progress,
        campaign_info=campaign_info_path(ledger_url, config.base_dir),
    )
    with (
        open_ledger(ledger_url, config.base_dir) as ledger,
        MarketoClient(
            endpoint.base_url,
            endpoint.client_id,
            endpoint.client_secret,
            limits=config.marketo.limits,
        ) as client,
    ):
        report = apply_config(config, ledger, client, options, saved=saved)
    if request.report_format == "json":
        out.write(render_apply_json(report))
    else:
        out.write(render_apply_text(report))
    return report.exit_code


@contextmanager
def _endpoint(
    config: Config, request: ApplyRequest, err: TextIO
) -> Iterator[tuple[Endpoint, str, Emulator | None]]:
    if request.emulator:
        from mktsync.demo import EMULATOR_LEDGER, emulator_for

        with emulator_for(config) as emu:
            err.write(
                f"Marketo emulator at {emu.base_url} (seeded from {display_name(config.path)})\n"
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


def _is_plan(path: Path) -> bool:
    if path.suffix.lower() == ".json":
        return True
    try:
        with open(path, "rb") as f:
            return f.read(64).lstrip().startswith(b"{")
    except OSError:
        return False


def _interactive(request: ApplyRequest) -> bool:
    # The emulator demo triggers nothing real: no need to ask.
    if request.assume_yes or request.emulator or os.environ.get("CI"):
        return False
    return sys.stdin is not None and sys.stdin.isatty()


def _confirm(
    config: Config, ledger_url: str, request: ApplyRequest, out: TextIO, err: TextIO
) -> Plan | None:
    """Show the plan and ask; the plan shown is the plan applied (refused if the ledger moves)."""
    with open_ledger(ledger_url, config.base_dir, create=False) as ledger:
        plan = make_plan(
            config,
            ledger,
            campaigns=request.campaigns,
            retry_unknown=request.retry_unknown,
            config_path=config.path.name,
        )
    out.write(render_text(plan, color=out.isatty()))
    if not plan.summary.changes:
        return plan
    err.write("Trigger these campaigns? Type 'yes' to go on: ")
    err.flush()
    answer = sys.stdin.readline().strip().lower()
    return plan if answer in ("yes", "y") else None
