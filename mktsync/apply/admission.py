"""What must hold before an apply opens its ledger to send; each check refuses with
``MktsyncError`` (exit 1) and prints nothing.

>>> environment = as_made(saved, name="plan.json", config_path=path, environment=None,
...                       now=None)                                     # doctest: +SKIP
>>> start = ledger_start(config, ledger_url=None, new_ledger=False, why=None, base=None)
...                                                                     # doctest: +SKIP

- ``as_made``: a saved or reviewed plan applies in the environment and at the instant it
  was made; ``--env`` and ``--now`` may repeat them, never override them (issue 21);
- ``named_environment``: a config that declares environments is applied to one named,
  never a guessed one;
- ``ledger_start``: a new ledger is not started where the config's earlier ledger holds
  sends, unless ``--new-ledger`` says so, and then the run records who and why (issue 25);
- ``consent``: who may apply without being asked (``--yes``, a saved or reviewed plan;
  never ``CI=true`` alone), and no apply when nobody can be asked (Terraform's rule); the
  command line asks the person, when there is one.

Kept out of ``cli`` so that the rules are the library's, not the command line's; the
runner's own checks of a saved plan against the ledger it opened are ``check_binding``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from mktsync.apply.runner import place
from mktsync.config import display_name
from mktsync.config.model import Config, EnvString
from mktsync.config.policy import Policy
from mktsync.config.security import as_written
from mktsync.dates import instant
from mktsync.errors import EnvironmentVariableError, ForeignPlan, MktsyncError
from mktsync.ledger import history, open_ledger
from mktsync.ledger.records import whoami
from mktsync.marketo.client import instance_if_known
from mktsync.plan import Plan
from mktsync.sources.contract import load_checked

Consent = Literal["given", "ask"]


def as_made(
    made: Plan,
    *,
    name: str,
    config_path: Path,
    environment: str | None,
    now: tuple[str, datetime] | None,
    policy: Policy | None = None,
) -> str | None:
    """The environment a saved or reviewed plan (``name``) was made for, which the run
    takes.  ``environment`` (``--env``, ``MKTSYNC_ENV``) and ``now`` (``--now`` as given
    and parsed, ``MKTSYNC_NOW``) may repeat the plan's, never override them: a
    disagreement is an error naming both sides."""
    bound = made.binding
    if bound is None or made.now is None:
        raise ForeignPlan(
            f"{name} does not say where and when it was made (environment, Marketo instance, "
            "ledger, instant): it was saved by an older mktsync, or edited; run 'mktsync "
            "plan --out' again"
        )
    if environment is not None and environment != bound.environment:
        # Described from the config, without opening that environment's ledger.
        other = load_checked(config_path, policy=policy, environment=environment)
        was = place(bound.environment, bound.instance, bound.ledger_id, bound.ledger)
        run = place(
            other.environment, instance_if_known(other), None, other.ledger.raw, opened=False
        )
        raise ForeignPlan(
            f"{name} was made for {was}; this run is for {run}: apply it where it was made, "
            "or plan again (--env and MKTSYNC_ENV cannot override a saved plan's environment)"
        )
    if now is not None and instant(now[1], made.timezone) != made.now:
        raise ForeignPlan(
            f"--now {now[0]} is not the instant {name} was made at "
            f"({made.now.isoformat()}): a saved plan replays its own; drop --now (and "
            "MKTSYNC_NOW), or plan again at that time"
        )
    return bound.environment


def named_environment(config: Config, *, made: str | None = None) -> None:
    """Refuse a config that declares environments when none was named: apply never
    guesses which Marketo instance to send to.  ``made``: the saved plan's name, when
    the run applies one (then the plan was made without ``--env``)."""
    if not config.environments or config.environment is not None:
        return
    if made is not None:
        raise MktsyncError(
            f"{made} was made without --env, but {display_name(config.path)} declares "
            f"environments ({', '.join(config.environments)}): plan again with --env NAME "
            "(or MKTSYNC_ENV); apply never guesses which Marketo instance to send to"
        )
    raise MktsyncError(
        f"{display_name(config.path)} declares environments "
        f"({', '.join(config.environments)}): name one with --env NAME (or MKTSYNC_ENV); "
        "apply never guesses which Marketo instance to send to"
    )


@dataclass(frozen=True, kw_only=True)
class LedgerStart:
    """How a run starts on its ledger: ``note`` is what the run records when
    ``--new-ledger`` starts a new one anyway (who, why, and the evidence set aside);
    ``unneeded``: ``--new-ledger`` was given for a ledger in use already."""

    note: str | None = None
    unneeded: bool = False


def ledger_start(
    config: Config,
    *,
    ledger_url: str | None,
    new_ledger: bool,
    why: str | None,
    base: str | None,
    who: str | None = None,
) -> LedgerStart:
    """Refuse to start a new ledger where the config's earlier ledger holds sends (issue 25).

    ``ledger_url`` is ``--ledger`` (None: the config's), ``new_ledger`` and ``why`` are
    ``--new-ledger`` and ``--why``, ``base`` is ``--base REF``, ``who`` names the person
    (``MKTSYNC_WHO``; default: user@host).
    """
    try:
        url = ledger_url or config.ledger.resolve()
    except EnvironmentVariableError:
        return LedgerStart()  # reported where apply needs the value, with the credentials
    written = config.ledger if ledger_url is None else EnvString(raw=url)
    with as_written(written, url), open_ledger(url, config.base_dir, create=False) as ledger:
        found = history.new_ledger(
            config,
            ledger,
            url,
            written=written.raw,
            base=base,
            compare_config=ledger_url is None,
            environments=False,
        )
    if found is None:
        return LedgerStart(unneeded=new_ledger)
    if not new_ledger:
        refusal = history.apply_refusal(found)
        if refusal is not None:
            raise MktsyncError(refusal)
        return LedgerStart()
    who = who or whoami()
    why = (why or "").strip() or "no reason given (--why)"
    evidence = "; ".join(e.describe() for e in found.evidence) or "no earlier ledger was found"
    return LedgerStart(
        note=f"new ledger started with --new-ledger by {who}: {why} (set aside: {evidence})"
    )


def consent(
    *, assume_yes: bool, emulator: bool, saved: bool, interactive: bool, ci: bool = False
) -> Consent:
    """'given', or 'ask' the person at the terminal (``interactive``: stdin is one); with
    nobody to ask, ``MktsyncError`` (Terraform's rule: ``-auto-approve`` or a saved plan).

    Consent is given by ``--yes``, or by a saved or reviewed plan (it was reviewed when it
    was made).  ``CI=true`` is not consent: GitHub and GitLab set it on every step of every
    job, so it says where a command runs, never that anyone decided to send (issue 22);
    ``ci`` only words the refusal.  The emulator demo triggers nothing real, so it needs
    none: ``mktsync apply --emulator`` works the same in a terminal and in CI.
    """
    if assume_yes or emulator or saved:
        return "given"
    if interactive:
        return "ask"
    why = " (CI=true is set, but it is not consent: a pipeline says yes with --yes)" if ci else ""
    raise MktsyncError(
        f"apply needs consent, but stdin is not a terminal to ask on{why}: pass --yes to "
        "apply without asking, or run 'mktsync plan --out plan.json' and "
        "'mktsync apply plan.json'"
    )
