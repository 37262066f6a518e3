"""``mktsync apply --record-only``: a baseline of what was sent before mktsync, no Marketo call.

The ledger is bound to the config's Marketo instance first (``apply.instance.bound``), as
every apply does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from mktsync import git_commit
from mktsync.apply.instance import bound
from mktsync.cli.request import ApplyRequest
from mktsync.config import display_name
from mktsync.config.model import Config
from mktsync.errors import EXIT_OK, MktsyncError
from mktsync.ledger import open_ledger

if TYPE_CHECKING:
    from mktsync.plan import Plan


def run_record_only(
    config: Config, request: ApplyRequest, saved: Plan | None, out: TextIO, err: TextIO
) -> int:
    from mktsync.apply.baseline import record_only

    if request.emulator:
        raise MktsyncError("--record-only calls no Marketo, so --emulator has no meaning with it")
    if not (request.why or "").strip():
        raise MktsyncError(
            "--record-only needs --why TEXT: say what the baseline is, e.g. "
            '--why "sent by the old script until 2026-11-30"'
        )
    url = request.ledger_url or config.ledger.resolve()
    base_url = _base_url_if_set(config)
    with open_ledger(url, config.base_dir) as ledger, bound(ledger, base_url, config.environment):
        if saved is not None:  # where it was made (issue 21); its ledger state: record_only
            from mktsync.apply import check_binding

            check_binding(saved, config, ledger, name=display_name(request.target))
        result = record_only(
            config,
            ledger,
            why=request.why or "",
            campaigns=request.campaigns,
            retry_unknown=request.retry_unknown,
            saved=saved,
            git_commit=git_commit(config.base_dir),
            lock_timeout=request.lock_timeout,
            now=request.now[1] if request.now else None,
        )
    env = f" ({config.environment})" if config.environment else ""
    out.write(
        f"Recorded {result.written} item(s) as sent in {display_name(config.path)}'s ledger{env}"
        f" without calling Marketo (run {result.run_id}; {result.offered - result.written} "
        "already recorded)\n"
    )
    return EXIT_OK


def _base_url_if_set(config: Config) -> str | None:
    """The base URL when it can be read (it is not a secret); None: the ledger is bound later."""
    from mktsync.errors import EnvironmentVariableError

    value = config.marketo.base_url
    if value is None:
        return None
    try:
        return value.resolve()
    except EnvironmentVariableError:
        return None
