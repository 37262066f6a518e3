"""``environments:``: named Marketo instances, each with its own ledger (DESIGN.md).

>>> config = select_environment(load_config("campaigns.yaml"), "sandbox")  # doctest: +SKIP
>>> config.environment, config.ledger.raw                                   # doctest: +SKIP
('sandbox', '${MKTSYNC_SANDBOX_LEDGER}')

An environment's ``marketo:`` keys are written over the top-level ``marketo:`` (so shared
``limits`` are written once); its ``ledger:`` is its own, and so is its ``timezone:`` when
it has one.  Choosing one gives the same ``Config`` with that ``marketo``, ``ledger`` and
``timezone``, so nothing below ``config`` needs to know environments exist.  Validation: every environment has what ``apply`` needs, and a
warning when two environments read the same credential variable (a sandbox job would
hold production's secret).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mktsync.config.model import (
    Config,
    EnvironmentSpec,
    EnvString,
    MarketoSettings,
    limits_of,
)
from mktsync.config.schema import did_you_mean
from mktsync.config.yamlfile import JsonPath
from mktsync.errors import ConfigError, Problem

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


def build_environments(
    data: dict[str, Any],
    env: Callable[[JsonPath, str], EnvString],
    pos: Callable[[JsonPath], Any],
    top: MarketoSettings,
) -> dict[str, EnvironmentSpec]:
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
        found[name] = EnvironmentSpec(
            name=name,
            marketo=MarketoSettings(**values, limits=limits),
            ledger=env((*path, "ledger"), raw["ledger"]),
            position=pos(path),
            timezone=raw.get("timezone"),
        )
    return found


def select_environment(config: Config, name: str | None) -> Config:
    """``config`` as the environment ``name`` sees it (None: the top-level blocks)."""
    if not name:
        return config
    chosen = config.environments.get(name)
    if chosen is None:
        where = _display(config.path)
        if not config.environments:
            message = f"--env {name}: the file declares no environments"
        else:
            hint = did_you_mean(name, list(config.environments))
            choices = ", ".join(config.environments)
            message = f"--env {name}: no environment named '{name}' (declared: {choices}){hint}"
        raise ConfigError([Problem(file=where, line=0, column=0, path="", message=message)])
    return dataclasses.replace(
        config,
        marketo=chosen.marketo,
        ledger=chosen.ledger,
        environment=name,
        timezone=chosen.timezone or config.timezone,
    )


def _display(path: Path) -> str:
    import os

    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
