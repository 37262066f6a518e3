"""``environments:``: named Marketo instances, each with its own ledger, ids and values.

>>> sandbox = load_config("campaigns.yaml").for_environment("sandbox")    # doctest: +SKIP
>>> sandbox.ledger.raw, sandbox.campaigns["webinar-reminder"].campaign_id  # doctest: +SKIP
('${MKTSYNC_SANDBOX_LEDGER_URL:-sqlite:///.mktsync/sandbox-ledger.db}', 5678)

The merge rule, written here once and applied at load (``build_environments``):

- an environment's ``marketo:`` keys are written over the top-level ``marketo:`` (so shared
  ``limits`` are written once); its ``ledger:`` is its own, and so is its ``timezone:``
  when it has one;
- the campaign ``C`` in environment ``E`` is the top-level ``campaigns.C`` with
  ``environments.E.campaigns.C`` written over it: ``campaign_id`` replaced, ``tokens``
  and ``fields`` merged by name (an override's value replaces the campaign's template of
  that name, ``my.X`` and ``{{my.X}}`` being one token; the others stay).  A schedule
  likewise: ``campaign_id``, ``tokens``, ``clone_to_program``.  Only ids and values: who is
  sent and what counts as the same send are the campaign's own (``x-fixed`` in the schema
  refuses the rest; docs/configuration.md argues why).

``Config.for_environment`` swaps the merged records in, so nothing below ``config``
needs to know environments exist: render, plan, apply, the ledger and a saved plan see
one campaign with one id.  Validation (``check_environments``, ``check_overrides``):
every environment has what ``apply`` needs; an override names a campaign, schedule,
token or field the top level declares ("did you mean"); its templates compile; and each
environment's ids make sense in that environment as the top-level ones must (no two
campaigns writing the same ledger records, no batch campaign also triggered), for every
environment, with or without ``--env``.  A warning when two environments read the same
credential variable (a sandbox job would hold production's secret), and when campaigns
sharing an id at the top level are given different ids in one environment.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from mktsync.config.checker import Checker, key_text, normalise_token_name
from mktsync.config.model import (
    Campaign,
    Config,
    EnvironmentSpec,
    EnvString,
    MarketoSettings,
    Schedule,
    Template,
    TokenSpec,
    limits_of,
)
from mktsync.config.schema import did_you_mean
from mktsync.config.yamlfile import JsonPath, dotted

CREDENTIALS = ("base_url", "client_id", "client_secret")
ENV_VARIABLE = "MKTSYNC_ENV"

Report = Callable[..., None]


def merged_marketo(data: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]:
    top = data.get("marketo") if isinstance(data.get("marketo"), dict) else {}
    own = env.get("marketo") if isinstance(env.get("marketo"), dict) else {}
    return {**(top or {}), **(own or {})}


def check_environments(data: dict[str, Any], error: Report, warn: Report) -> None:
    """Every environment defines what ``apply`` needs; no two share a credential variable."""
    environments = data.get("environments")
    if not isinstance(environments, dict):
        return
    readers: dict[str, list[str]] = {}
    for name, env in environments.items():
        if not isinstance(env, dict):
            continue
        path: JsonPath = ("environments", name)
        marketo = merged_marketo(data, env)
        missing = [k for k in CREDENTIALS if not isinstance(marketo.get(k), str)]
        if missing:
            error(
                path,
                f"environment '{name}' has no marketo.{missing[0]} (neither its own nor the "
                "top-level one); apply needs base_url, client_id and client_secret",
                key=True,
            )
        for key in ("client_id", "client_secret"):
            value = marketo.get(key)
            if not isinstance(value, str):
                continue
            variables = EnvString(raw=value).variables
            if not variables and key == "client_secret":
                error(
                    path,
                    f"environment '{name}': the client secret is written in the file; "
                    "use a ${VAR} and keep it in the environment",
                    key=True,
                )
            for variable in variables:
                readers.setdefault(variable, []).append(name)
    for variable, names in readers.items():
        if len(names) > 1:
            warn(
                ("environments", names[1]),
                f"environments {', '.join(repr(n) for n in names)} read the same credential "
                f"variable ${{{variable}}}: give each instance its own (a sandbox job must "
                "never hold production's secret)",
                key=True,
            )


def check_overrides(checker: Checker, data: dict[str, Any]) -> None:
    """Each environment's ``campaigns:`` and ``schedules:`` name what the top level declares,
    their templates compile, and the ids they give make sense in that environment."""
    campaigns = _mapping(data.get("campaigns"))
    schedules = _mapping(data.get("schedules"))
    for env_name, env in _mapping(data.get("environments")).items():
        if not isinstance(env, dict):
            continue
        path: JsonPath = ("environments", env_name)
        for section, declared, kind in (
            ("campaigns", campaigns, "campaign"),
            ("schedules", schedules, "schedule"),
        ):
            for name, override in _mapping(env.get(section)).items():
                where: JsonPath = (*path, section, name)
                base = declared.get(name)
                if name not in declared:
                    hint = did_you_mean(str(name), list(declared))
                    checker.error(
                        where,
                        f"no {kind} named '{name}' under the top-level '{section}' for "
                        f"environment '{env_name}' to override{hint}",
                        key=True,
                    )
                if isinstance(base, dict) and isinstance(override, dict):
                    _check_values(checker, kind, name, base, override, where)
        _check_ids(
            checker,
            env_name,
            _mapping(env.get("campaigns")),
            campaigns,
            schedules,
            _mapping(env.get("schedules")),
        )


def _check_values(
    checker: Checker,
    kind: str,
    name: str,
    base: dict[str, Any],
    override: dict[str, Any],
    where: JsonPath,
) -> None:
    """Tokens and fields overridden are the campaign's own; every value compiles."""
    declared_tokens = {}
    for written in _mapping(base.get("tokens")):
        try:
            declared_tokens[normalise_token_name(written)] = written
        except ValueError:
            continue  # the schema reported it
    for written, value in _mapping(override.get("tokens")).items():
        try:
            normal = normalise_token_name(written)
        except ValueError:
            continue  # the schema reported it
        if normal not in declared_tokens:
            hint = did_you_mean(str(written), list(declared_tokens.values()))
            checker.error(
                (*where, "tokens", written),
                f"{kind} '{name}' declares no token {normal}: an environment gives values to "
                f"the {kind}'s own tokens, it adds none{_listed(declared_tokens.values())}{hint}",
                key=True,
            )
        elif _is_scalar(value):
            checker.check_template((*where, "tokens", written), _text(value))
    checker.check_tokens(override, where)
    declared_fields = list(_mapping(base.get("fields")))
    for field, value in _mapping(override.get("fields")).items():
        if field not in declared_fields:
            hint = did_you_mean(str(field), declared_fields)
            checker.error(
                (*where, "fields", field),
                f"{kind} '{name}' declares no lead field '{field}' under 'fields': an "
                f"environment gives values to the campaign's own fields, it adds none"
                f"{_listed(declared_fields)}{hint}",
                key=True,
            )
        elif isinstance(value, str):
            checker.check_template((*where, "fields", field), value)
    clone = override.get("clone_to_program")
    if isinstance(clone, str):
        if "clone_to_program" not in base:
            checker.error(
                (*where, "clone_to_program"),
                f"schedule '{name}' has no clone_to_program of its own: an environment may "
                "name the clone differently, not clone where the others do not",
                key=True,
            )
        else:
            checker.check_template((*where, "clone_to_program"), clone)


def _check_ids(
    checker: Checker,
    env_name: str,
    overrides: dict[str, Any],
    campaigns: dict[str, Any],
    schedules: dict[str, Any],
    schedule_overrides: dict[str, Any],
) -> None:
    """The top level's id rules, for this environment's ids; only what this environment's
    overrides cause is reported here (the top level's own clashes are reported there)."""
    path: JsonPath = ("environments", env_name)

    def given(section: dict[str, Any], name: str) -> Any:
        return _mapping(section.get(name)).get("campaign_id")

    ids: dict[str, int] = {}  # campaign name -> its id in this environment
    for name, campaign in campaigns.items():
        if not isinstance(campaign, dict):
            continue
        cid = given(overrides, name) or campaign.get("campaign_id")
        if isinstance(cid, int) and not isinstance(cid, bool):
            ids[name] = cid
    keys: dict[tuple[int, str], str] = {}
    for name, cid in ids.items():
        ident = (cid, key_text(campaigns[name]))
        other = keys.setdefault(ident, name)
        if other != name and (given(overrides, name) or given(overrides, other)):
            moved = name if given(overrides, name) else other
            checker.error(
                (*path, "campaigns", moved, "campaign_id"),
                f"in environment '{env_name}', campaigns '{other}' and '{name}' both send to "
                f"campaign {cid} with the same key; their ledger records would collide (give "
                "them different ids here, or one of them another 'key')",
            )
    shared: dict[int, list[str]] = {}
    for name, campaign in campaigns.items():
        cid = campaign.get("campaign_id") if isinstance(campaign, dict) else None
        if isinstance(cid, int) and name in ids:
            shared.setdefault(cid, []).append(name)
    for cid, names in shared.items():
        here = sorted({ids[n] for n in names})
        if len(here) > 1:
            moved = next(n for n in names if given(overrides, n))
            checker.warn(
                (*path, "campaigns", moved, "campaign_id"),
                f"campaigns {_and(repr(n) for n in names)} share campaign {cid} at the top "
                f"level, but not in environment '{env_name}' ({_and(str(i) for i in here)}): "
                "if they are one Marketo campaign, give each the same id here",
            )
    triggered = {cid: name for name, cid in ids.items()}
    for name, schedule in schedules.items():
        if not isinstance(schedule, dict):
            continue
        cid = given(schedule_overrides, name) or schedule.get("campaign_id")
        trigger = triggered.get(cid) if isinstance(cid, int) else None
        if trigger is None:
            continue
        if given(schedule_overrides, name):
            where: JsonPath = (*path, "schedules", name, "campaign_id")
        elif given(overrides, trigger):
            where = (*path, "campaigns", trigger, "campaign_id")
        else:
            continue  # the same ids as the top level: reported there
        checker.error(
            where,
            f"in environment '{env_name}', campaign {cid} is triggered by campaigns.{trigger} "
            f"and run by schedules.{name}; a batch campaign cannot also be a trigger campaign",
        )


def build_environments(
    data: dict[str, Any],
    env: Callable[[JsonPath, str], EnvString],
    pos: Callable[[JsonPath], Any],
    top: MarketoSettings,
    *,
    template: Callable[[JsonPath, Any], Template],
    campaigns: Mapping[str, Campaign],
    schedules: Mapping[str, Schedule],
    timezone: str,
) -> dict[str, EnvironmentSpec]:
    """Each environment as it sees the file: settings, ledger, time zone, and the top-level
    campaigns and schedules with its ids and values written over them (the merge rule)."""
    found = {}
    for name, raw in (data.get("environments") or {}).items():
        path: JsonPath = ("environments", name)
        own = raw.get("marketo") or {}
        values = {
            k: env((*path, "marketo", k), own[k]) if k in own else getattr(top, k)
            for k in CREDENTIALS
        }
        shared: JsonPath = (*path, "marketo", "limits", "shared")
        limits = (
            limits_of(own["limits"], functools.partial(env, shared))
            if "limits" in own
            else top.limits
        )
        merge = _Merge(path=path, template=template)
        found[name] = EnvironmentSpec(
            name=name,
            marketo=MarketoSettings(**values, limits=limits),
            ledger=env((*path, "ledger"), raw["ledger"]),
            position=pos(path),
            timezone=raw.get("timezone") or timezone,
            campaigns=merge.section("campaigns", campaigns, raw.get("campaigns")),
            schedules=merge.section("schedules", schedules, raw.get("schedules")),
            overridden=tuple(merge.overridden),
        )
    return found


Merged = TypeVar("Merged", Campaign, Schedule)


@dataclasses.dataclass
class _Merge:
    """One environment's overrides written over the top-level records (the merge rule),
    noting each path it overrides."""

    path: JsonPath
    template: Callable[[JsonPath, Any], Template]
    overridden: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)

    def section(
        self, section: str, records: Mapping[str, Merged], overrides: dict[str, Any] | None
    ) -> dict[str, Merged]:
        merged = dict(records)  # a record not overridden is the top-level one itself
        for name, over in (overrides or {}).items():
            merged[name] = self.record(records[name], over, (*self.path, section, name))
        return merged

    def record(self, base: Merged, over: dict[str, Any], path: JsonPath) -> Merged:
        """``base`` with ``over`` written over it: ``campaign_id`` and a schedule's
        ``clone_to_program`` replaced, ``tokens`` and a campaign's ``fields`` by name (the
        others kept, in the top level's order)."""
        changes: dict[str, Any] = {}
        if "campaign_id" in over:
            changes["campaign_id"] = over["campaign_id"]
            self.overridden.append((str(path[2]), str(path[3]), "campaign_id"))
        if over.get("tokens"):
            tokens = {t.name: t for t in base.tokens}
            for written, text in over["tokens"].items():
                normal = normalise_token_name(written)
                template = self.value((*path, "tokens", written), text)
                tokens[normal] = TokenSpec(name=normal, template=template)
            changes["tokens"] = tuple(sorted(tokens.values(), key=lambda t: t.name))
        if over.get("fields") and isinstance(base, Campaign):
            fields = dict(base.fields)
            for field, text in over["fields"].items():
                fields[field] = self.value((*path, "fields", field), text)
            changes["fields"] = tuple(sorted(fields.items(), key=lambda f: f[0]))
        if "clone_to_program" in over and isinstance(base, Schedule):
            clone = self.value((*path, "clone_to_program"), over["clone_to_program"])
            changes["clone_to_program"] = clone
        return dataclasses.replace(base, **changes) if changes else base

    def value(self, path: JsonPath, text: Any) -> Template:
        # Named as the top level names the field it replaces ("tokens.my.X"), so a
        # rendering problem reads the same in every environment; placed where written.
        field = dotted(path[4:])
        self.overridden.append((str(path[2]), str(path[3]), field))
        return dataclasses.replace(self.template(path, text), field=field)


def select_environment(config: Config, name: str | None) -> Config:
    """``config`` as the environment ``name`` sees it (None: as it is); see
    ``Config.for_environment``."""
    return config.for_environment(name) if name else config


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _and(words: Iterable[str]) -> str:
    listed = list(words)
    return ", ".join(listed[:-1]) + f" and {listed[-1]}" if len(listed) > 1 else "".join(listed)


def _listed(names: Any) -> str:
    shown = ", ".join(str(n) for n in names)
    return f" (it declares: {shown})" if shown else " (it declares none)"
