"""mktsync: trigger Marketo Engage smart campaigns from data, declared in git."""

from __future__ import annotations

__version__ = "0.1.0"

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mktsync.config.model import Config, Policy
    from mktsync.plan import Plan


def plan_config(
    path: Path | str,
    *,
    ledger_url: str | None = None,
    campaigns: list[str] | None = None,
    retry_unknown: bool = False,
    policy: Policy | None = None,
    environment: str | None = None,
) -> tuple[Config, Plan]:
    """Load a config and plan it against its ledger, read-only: creates no file, needs no secret.

    ``policy`` (``--allow-env``, ``--data-root``, ``--untrusted``) bounds what the config
    may reach; the config carries it, so the ledger URL and every source obey it.

    >>> config, plan = plan_config("campaigns.yaml")      # doctest: +SKIP
    >>> plan.summary.trigger_calls                         # doctest: +SKIP
    """
    from mktsync.config import EnvString, display_name
    from mktsync.config.security import as_written
    from mktsync.contract import load_checked
    from mktsync.ledger import open_ledger
    from mktsync.plan import make_plan
    from mktsync.qualify import preflight_estimates

    config = load_checked(path, policy=policy, environment=environment)
    url = ledger_url or config.ledger.resolve()  # only variables the policy allows
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
        )
    return config, plan


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
