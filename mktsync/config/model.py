"""Frozen records describing a loaded ``campaigns.yaml``.

``load_config`` (in ``mktsync.config``) builds these; every other module reads them.
Nothing here resolves ``${VAR}`` on its own: ``EnvString.resolve`` is called only
where a value is really needed (``apply``, a ``sql`` source's URL), so ``validate``
and ``plan`` run without secrets.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import field as _field
from pathlib import Path
from typing import Any, Literal

from mktsync.config.dburl import UrlKind, resolve_url
from mktsync.config.defaults import ALLOWED_FIELD, CAMPAIGN, LIMITS, SCHEDULE, TOP
from mktsync.config.policy import (
    EMBEDDED_MESSAGE,
    REFERENCE,
    Policy,
    embeds_variables,
    not_allowed_message,
)
from mktsync.config.schema import did_you_mean
from mktsync.errors import ConfigError, EnvironmentVariableError, Problem


@dataclass(frozen=True, kw_only=True)
class Position:
    """Where a value stands in the config file (1-based line and column)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


# Every value a ``${VAR}`` of the config resolved to in this process, whatever it was
# for: the crash log hides them (``resolved_values``; docs/exit-codes.md says it holds
# no secrets, whatever the bug).
_RESOLVED: set[str] = set()


def resolved_values() -> frozenset[str]:
    """The values ``${VAR}`` references have resolved to so far in this process."""
    return frozenset(_RESOLVED)


@dataclass(frozen=True, kw_only=True)
class EnvString:
    """A config string that may hold ``${VAR}`` or ``${VAR:-default}`` references.

    >>> EnvString(raw="${MKTSYNC_DB_HOST:-localhost}:5432", field="ledger").resolve({})
    'localhost:5432'

    The ``repr`` shows only the raw text (which names variables, never their values).
    Only the variables ``policy`` allows are read: ``MARKETO_*``, ``MKTSYNC_*`` and the
    names given with ``--allow-env``; any other is an error naming it, never its value.
    A database URL (``url`` set: the ledger, a ``sql`` source) also obeys the host rule
    of ``mktsync.config.dburl`` here, so every command that opens one checks it.
    """

    raw: str
    field: str = ""
    position: Position | None = None
    policy: Policy = _field(default_factory=Policy, repr=False)
    # A database URL (a ledger or a ``sql`` source's ``url``) obeys the host rule of
    # ``mktsync.config.dburl`` in ``resolve``, with sqlite:/// paths relative to base_dir.
    url: UrlKind | None = None
    base_dir: Path | None = _field(default=None, repr=False)

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(m.group(1) for m in REFERENCE.finditer(self.raw))

    def resolve(self, environ: Mapping[str, str] | None = None) -> str:
        env = os.environ if environ is None else environ

        where = f"{self.position}: " if self.position else ""
        refused = [name for name in self.variables if not self.policy.env_allowed(name)]
        if refused:
            raise EnvironmentVariableError(
                f"{where}{self.field}: {not_allowed_message(refused[0])}"
            )
        if embeds_variables(self.raw):
            raise EnvironmentVariableError(f"{where}{self.field}: {EMBEDDED_MESSAGE}")
        if self.url is not None:
            return resolve_url(self, env, self._substitute)
        return self._substitute(env)

    def _substitute(self, env: Mapping[str, str]) -> str:
        where = f"{self.position}: " if self.position else ""

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            value = env.get(name)
            if value:
                _RESOLVED.add(value)
                return value
            if default is not None:
                return default
            raise EnvironmentVariableError(
                f"{where}{self.field}: environment variable {name} is not set"
            )

        return REFERENCE.sub(substitute, self.raw)


@dataclass(frozen=True, kw_only=True)
class Template:
    """A Jinja template from the config, with where it was written.

    ``position`` points at the YAML scalar; for a block scalar (``|``) the template's
    own line 1 is the line after the indicator, which ``line_offset`` accounts for.
    """

    text: str
    field: str
    position: Position
    line_offset: int = 0


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Marketo's limits as this run must respect them (defaults: Marketo's documented ones,
    as the schema writes them)."""

    calls: int = LIMITS["calls"]
    window_seconds: float = float(LIMITS["window_seconds"])
    concurrency: int = LIMITS["concurrency"]
    daily_quota: int = LIMITS["daily_quota"]
    safety_margin: float = float(LIMITS["safety_margin"])  # share of `calls` left to others
    # Share of `daily_quota` apply leaves to other API users (issue 24; plan.quota).
    quota_reserve: float = float(LIMITS["quota_reserve"])
    # The PostgreSQL database whose tables hold the instance's limits, shared by every
    # process that names it (marketo.shared_limits); None: the ledger's, if PostgreSQL.
    shared: EnvString | None = None

    @property
    def capacity(self) -> int:
        """Calls this run may make per window: ``calls`` less the safety margin (at least 1)."""
        return max(1, math.floor(self.calls * (1.0 - self.safety_margin)))

    def seconds_for(
        self, calls: int, *, latency: float = 0.0, frees: Sequence[float] = ()
    ) -> float:
        """How long ``calls`` API calls take under these limits: the one time model of the
        plan's estimate and of apply's ETA.

        The rate window: ``capacity`` calls per ``window_seconds``, a slot held until a
        window after its call finished (``marketo.limits.Limiter``).  ``frees`` are the
        slots taken now, as seconds until each frees, soonest first (none for a plan).
        Calls queue for slots: the call in place ``p`` (after the slots taken) waits for the
        slot of place ``p - capacity``, so the last call waits ``p // capacity`` times -- the
        first time for a slot taken now, each further time a whole window plus a call's
        ``latency``.  The concurrency: at most ``concurrency`` calls in flight, each
        ``latency`` long.  Whichever is longer wins.

        >>> Limits(calls=100, window_seconds=20).seconds_for(250)     # 3 windows, 2 waits
        40.0
        >>> Limits(calls=100, window_seconds=20).seconds_for(30, latency=0.5)  # 3 turns of 10
        1.5
        >>> Limits(calls=10, window_seconds=20).seconds_for(5, frees=[7.0] * 10)
        7.0
        """
        if calls <= 0:
            return 0.0
        cycle = self.window_seconds + latency
        last = len(frees) + calls - 1  # the last call's place in the queue for slots
        waits, place = divmod(last, self.capacity)
        if not waits:
            start = 0.0
        elif place < len(frees):
            start = max(0.0, frees[place]) + (waits - 1) * cycle
        else:
            start = waits * cycle
        turns = math.ceil(calls / max(1, self.concurrency)) * latency
        return float(max(start + latency, turns))


def limits_of(written: Mapping[str, Any], shared: Callable[[str], EnvString]) -> Limits:
    """``Limits`` from a ``limits:`` block as written; ``shared`` makes the ``EnvString``
    of its ``shared`` URL (where it was written, under the host rule)."""
    values = dict(written)
    if "shared" in values:
        values["shared"] = shared(values["shared"])
    return Limits(**values)


@dataclass(frozen=True, kw_only=True)
class MarketoSettings:
    base_url: EnvString | None = None
    client_id: EnvString | None = None
    client_secret: EnvString | None = None
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True, kw_only=True)
class SourceSpec:
    """One entry of ``sources:``.

    ``options`` holds the kind's own keys (``path``, ``delimiter``, ``rows``, ``query``...)
    exactly as written, with ``url`` of a ``sql`` source as an ``EnvString``.
    Relative paths are resolved against ``base_dir`` (the config file's folder).
    ``positions`` maps option names to where they were written, for located errors.
    """

    name: str
    type: str
    options: Mapping[str, Any]
    base_dir: Path
    position: Position
    positions: Mapping[str, Position] = field(default_factory=dict)
    policy: Policy = field(default_factory=Policy, repr=False)

    def path(self, key: str = "path") -> Path:
        return self.base_dir / str(self.options[key])


@dataclass(frozen=True, kw_only=True)
class TokenSpec:
    name: str  # normalised: "{{my.Name}}"
    template: Template


@dataclass(frozen=True, kw_only=True)
class LeadSpec:
    id: Template | None = None
    email: Template | None = None
    fields: tuple[tuple[str, Template], ...] = ()  # for create_missing


@dataclass(frozen=True, kw_only=True)
class AllowedField:
    """One entry of a campaign's ``allow_protected_fields`` (issue 25): a protected lead field
    the campaign may write, why, and whether its values may grant consent."""

    field: str
    reason: str
    grant_consent: bool = ALLOWED_FIELD["grant_consent"]
    position: Position


Retrigger = Literal["never", "on_change"]
MissingLeads = Literal["fail", "skip"]


@dataclass(frozen=True, kw_only=True)
class Campaign:
    """One entry of ``campaigns:``; ``name`` is its YAML key (renaming it changes nothing).

    Defaults are the schema's (``config.defaults``), as for every record here.
    """

    name: str
    campaign_id: int
    source: str
    lead: LeadSpec
    when: Template | None = None
    key: Template | None = None  # default: the lead reference
    retrigger: Retrigger = CAMPAIGN["retrigger"]
    tokens: tuple[TokenSpec, ...] = ()
    max_invalid: int | str | None = CAMPAIGN["max_invalid"]  # a count, or "2%"; None: no limit
    max_calls: int | None = None
    create_missing: bool = CAMPAIGN["create_missing"]
    expect_skips: bool = CAMPAIGN["expect_skips"]  # Marketo may skip re-triggered leads
    missing_leads: MissingLeads = CAMPAIGN["missing_leads"]
    # Marketo lead field API name -> template: written to each lead before the trigger
    # (issue 15: a per-person value as a lead field, not a My Token).
    fields: tuple[tuple[str, Template], ...] = ()
    # Protected lead fields this campaign may write, each with its reason (issue 25).
    allow_protected_fields: tuple[AllowedField, ...] = ()
    position: Position


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """One entry of ``schedules:``: a batch campaign run at ``run_at`` with My Tokens.

    Without ``source`` it is one run (its templates see no ``row``); with one, each row
    of the source gives a run, told apart by ``key``.  Ledgered like a trigger: keyed by
    (campaign id, key), with the tokens, ``run_at`` and ``clone_to_program`` sent.
    """

    name: str
    campaign_id: int
    run_at: Template
    source: str | None = None
    when: Template | None = None
    key: Template | None = None  # default: the schedule's name (one run)
    retrigger: Retrigger = SCHEDULE["retrigger"]
    tokens: tuple[TokenSpec, ...] = ()
    clone_to_program: Template | None = None
    position: Position


@dataclass(frozen=True, kw_only=True)
class EnvironmentSpec:
    """One entry of ``environments:``: a Marketo instance with its own ledger, ids and values.

    Every field is what this environment sees, merged once at load
    (``config.environments``): ``marketo`` is the top-level ``marketo:`` with this
    environment's keys written over it, ``timezone`` its own or the top-level one, and
    ``campaigns`` and ``schedules`` the top-level ones with this environment's ids and
    values written over them (a record not overridden is the top-level record itself).
    """

    name: str
    marketo: MarketoSettings
    ledger: EnvString
    position: Position
    timezone: str
    campaigns: Mapping[str, Campaign]
    schedules: Mapping[str, Schedule]
    # What this environment writes over: (section, name, field) as written under it, e.g.
    # ("campaigns", "webinar-reminder", "campaign_id"), (..., "tokens.my.JoinLink"); a
    # value's field is its template's ``Template.field``.
    overridden: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Config:
    path: Path
    base_dir: Path
    version: int
    marketo: MarketoSettings
    ledger: EnvString
    sources: Mapping[str, SourceSpec]
    campaigns: Mapping[str, Campaign]
    max_calls: int | None = None
    max_value_bytes: int = TOP["max_value_bytes"]  # see docs/security.md
    policy: Policy = field(default_factory=Policy)
    schedules: Mapping[str, Schedule] = field(default_factory=dict)
    environments: Mapping[str, EnvironmentSpec] = field(default_factory=dict)
    environment: str | None = None  # the one chosen (--env), whose marketo and ledger are above
    # The IANA zone that decides ``today`` (``mktsync.dates``); checked by validate.
    timezone: str = TOP["timezone"]
    digest: str  # sha256 of the file's bytes: a saved plan records it
    warnings: tuple[Problem, ...] = ()

    def for_environment(self, name: str) -> Config:
        """This file as the environment ``name`` sees it: its Marketo settings, ledger, time
        zone, and its campaigns and schedules, ids and values merged
        (``EnvironmentSpec``).  Nothing downstream needs to know an environment overrode
        anything.  Works from any config of the file, whether one was chosen or not, so a
        run over several environments can call it for each name of ``environments``.

        >>> config.for_environment("sandbox").campaigns["webinar-reminder"].campaign_id  # doctest: +SKIP
        5678

        Raises ``ConfigError`` when the file declares no environment of that name.
        """
        chosen = self.environments.get(name)
        if chosen is None:
            if not self.environments:
                message = f"--env {name}: the file declares no environments"
            else:
                hint = did_you_mean(name, list(self.environments))
                choices = ", ".join(self.environments)
                message = f"--env {name}: no environment named '{name}' (declared: {choices}){hint}"
            where = _display(self.path)
            raise ConfigError([Problem(file=where, line=0, column=0, path="", message=message)])
        return dataclasses.replace(
            self,
            marketo=chosen.marketo,
            ledger=chosen.ledger,
            environment=name,
            timezone=chosen.timezone,
            campaigns=chosen.campaigns,
            schedules=chosen.schedules,
        )


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
