"""mktsync: trigger Marketo Engage smart campaigns from data, declared in git."""

from __future__ import annotations

# The one place the version is written: pyproject.toml reads it from here, CHANGELOG.md
# names it, and the docs pin `@v` + it (tests/release keeps them in step).
__version__ = "0.2.0"

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from mktsync.config.model import Config
    from mktsync.config.policy import Policy
    from mktsync.ledger.reader import LedgerReader
    from mktsync.marketo import DailyUsage
    from mktsync.plan import Binding, Plan


def plan_config(
    path: Path | str,
    *,
    ledger_url: str | None = None,
    campaigns: list[str] | None = None,
    retry_unknown: bool = False,
    policy: Policy | None = None,
    environment: str | None = None,
    base: str | None = None,
    now: datetime | None = None,
    usage: bool = False,
) -> tuple[Config, Plan]:
    """Load a config and plan it against its ledger, read-only: creates no file, needs no secret.

    ``policy`` (``--allow-env``, ``--data-root``, ``--untrusted``) bounds what the config
    may reach; the config carries it, so the ledger URL and every source obey it.  With
    ``--untrusted`` and the ledger's ``${VAR}`` unset, the plan is made against an empty
    ledger and the returned config carries a warning saying so (the CLI prints it).
    A ledger that does not exist yet is said so in ``plan.new_ledger``, with any evidence
    that the campaigns were sent before (``base``: the base branch to compare the config
    with, ``--base REF``; see ``mktsync.ledger.history``).
    ``now``: the instant to plan at (``--now``; default the wall clock).  The plan records
    it and its binding: environment, instance (when the base URL's variable is set; it is
    not a secret) and the ledger's id (``plan.records.Binding``).
    ``usage`` (``plan --usage``): also read today's API usage of the instance with the
    config's credentials (``stats/usage.json``, one read-only call), for the plan's budget
    line; the only call ``plan`` ever makes to Marketo, and only when asked.

    >>> config, plan = plan_config("campaigns.yaml")      # doctest: +SKIP
    >>> plan.summary.trigger_calls                         # doctest: +SKIP
    """
    import dataclasses

    from mktsync.config import EnvString, display_name
    from mktsync.config.security import as_written
    from mktsync.ledger import open_ledger
    from mktsync.ledger.history import new_ledger
    from mktsync.plan import make_plan
    from mktsync.plan.qualify import preflight_estimates
    from mktsync.sources.contract import load_checked

    config = load_checked(path, policy=policy, environment=environment)
    # Only variables the policy allows, and never a host the file wrote (config.dburl);
    # with --untrusted, an unset ledger variable is an empty ledger, and plan says so.
    url = ledger_url or config.ledger.resolve()
    if ledger_url is None:
        config = _with_empty_ledger_note(config)
    # A message about the ledger names it as written, never the value of its ${VAR}.
    written = config.ledger if ledger_url is None else EnvString(raw=url)
    with as_written(written, url), open_ledger(url, config.base_dir, create=False) as ledger:
        # As strict as apply: a damaged ledger is refused, never planned from (issue 21).
        ledger.check_integrity()
        plan = make_plan(
            config,
            ledger,
            campaigns=campaigns,
            retry_unknown=retry_unknown,
            config_path=display_name(config.path),
            preflight_calls=preflight_estimates(config, url),
            now=now,
            binding=binding_of(config, ledger, written.raw if ledger_url is None else url),
        )
        found = new_ledger(
            config, ledger, url, written=written.raw, base=base, compare_config=ledger_url is None
        )
    if found is not None:
        plan = dataclasses.replace(plan, new_ledger=found)
    if usage:
        plan = dataclasses.replace(plan, usage=read_usage(config, ledger_url=url))
    return config, plan


def read_usage(config: Config, *, ledger_url: str) -> DailyUsage:
    """Today's API usage of the config's Marketo instance, read with its credentials
    (``plan --usage``).  Raises ``MktsyncError`` when a credential is not written or its
    variable is not set, as ``apply`` would.

    The read takes a slot of the instance's shared limits as ``apply``'s calls do
    (``limits.shared``, a PostgreSQL ``ledger_url``, else this machine's file): a ``plan
    --usage`` just before ``apply`` in one job must not push apply's first window over
    Marketo's rate limit (606)."""
    from mktsync.config import display_name
    from mktsync.errors import MktsyncError
    from mktsync.marketo import MarketoClient
    from mktsync.marketo.client import instance_root
    from mktsync.marketo.shared_limits import open_limiter

    if config.policy.untrusted:
        # A pull request's config would choose the host the credentials go to.
        raise MktsyncError(
            "plan --usage cannot be used with --untrusted: an unreviewed config must not "
            "choose where Marketo's credentials are sent"
        )
    m = config.marketo
    credentials = (("base_url", m.base_url), ("client_id", m.client_id),
                   ("client_secret", m.client_secret))  # fmt: skip
    for name, value in credentials:
        if value is None:
            raise MktsyncError(
                f"{display_name(config.path)}: marketo.{name} is not set; plan --usage reads "
                "today's usage with the credentials apply uses"
            )
    assert m.base_url and m.client_id and m.client_secret
    base_url = m.base_url.resolve()
    try:
        instance_root(base_url)
    except ValueError:
        raise MktsyncError(
            f"marketo.base_url: '{m.base_url.raw}' does not give a Marketo REST URL; it must "
            "look like https://123-ABC-456.mktorest.com"
        ) from None
    with (
        open_limiter(
            m.limits,
            base_url=base_url,
            ledger_url=ledger_url,
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
        return client.daily_usage()


def binding_of(config: Config, ledger: LedgerReader, ledger_text: str) -> Binding:
    """Where a plan is made: the environment, the instance and the ledger's identity."""
    from mktsync.config.dburl import redact
    from mktsync.plan import Binding

    return Binding(
        environment=config.environment,
        instance=instance_if_known(config),
        ledger_id=ledger.identity(),
        ledger=redact(ledger_text),
    )


def instance_if_known(config: Config) -> str | None:
    """The host of the config's Marketo base URL, when its variable is set here (it is
    not a secret) and it is an http(s) URL; None otherwise (a pull request's plan)."""
    from mktsync.marketo.client import instance_if_known as known

    return known(config)


def _with_empty_ledger_note(config: Config) -> Config:
    """``config`` with a warning at its ledger when ``--untrusted`` planned without one."""
    import dataclasses

    from mktsync.config.dburl import empty_ledger_note
    from mktsync.errors import Problem

    note = empty_ledger_note(config.ledger)
    where = config.ledger.position
    if note is None or where is None:
        return config
    warning = Problem(
        file=where.file,
        line=where.line,
        column=where.column,
        path=config.ledger.field,
        message=note,
        severity="warning",
    )
    return dataclasses.replace(config, warnings=(*config.warnings, warning))


def git_commit(directory: Path) -> str | None:
    """The commit checked out in ``directory``, when it is a git work tree (for the runs table)."""
    import subprocess

    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None
