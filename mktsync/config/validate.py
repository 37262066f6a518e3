"""Checks beyond the schema, and the frozen ``Config`` built from a valid document.

The schema says what shape the file has; this module says whether it makes sense:
sources exist, templates compile in the sandbox and use only ``row``, ``now`` and
``today``, a ``when`` (an expression, or a template) is not the same for every row,
token names normalise without clashing (those two in ``checker``, which ``batch`` uses
too), no two campaigns write the same ledger keys, and each environment's overrides make
sense as that environment sees the file (``environments``).  What a file leaves out gets the
schema's default (``defaults``).
Whether the columns templates read exist is ``mktsync.sources.contract``'s question: it needs
the sources, which sit above ``config``.
Every problem is collected (never only the first) with its file, line and field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mktsync.config.batch import build_schedules, check_schedules
from mktsync.config.checker import Checker, key_text, normalise_token_name
from mktsync.config.dburl import UrlKind
from mktsync.config.defaults import ALLOWED_FIELD, CAMPAIGN, LIMITS, TOP, filled
from mktsync.config.environments import (
    build_environments,
    check_environments,
    check_overrides,
)
from mktsync.config.model import (
    AllowedField,
    Campaign,
    Config,
    EnvString,
    LeadSpec,
    MarketoSettings,
    Position,
    SourceSpec,
    Template,
    TokenSpec,
    limits_of,
)
from mktsync.config.policy import Policy
from mktsync.config.protected import check_protected
from mktsync.config.reads import as_condition
from mktsync.config.schema import did_you_mean
from mktsync.config.security import FILE_SOURCES, security_problems
from mktsync.config.yamlfile import Document, JsonPath, dotted
from mktsync.dates import zone_problem
from mktsync.errors import Problem

FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class DocumentChecker(Checker):
    """Every semantic problem of one document: its campaigns, schedules, environments,
    time zones and the reach of its sources and ledgers (``security``)."""

    def _check_timezones(self, data: dict[str, Any]) -> None:
        """``timezone:`` (top level and per environment) names a zone ``zoneinfo`` knows."""
        found: list[tuple[JsonPath, object]] = [(("timezone",), data.get("timezone"))]
        for name, env in _mapping(data.get("environments")).items():
            if isinstance(env, dict):
                found.append((("environments", name, "timezone"), env.get("timezone")))
        for path, value in found:
            problem = zone_problem(value) if isinstance(value, str) and value else None
            if problem:
                self.error(path, problem)

    def run(self, base_dir: Path) -> None:
        data = self.doc.data
        sources = _mapping(data.get("sources"))
        campaigns = _mapping(data.get("campaigns"))
        self._check_marketo(_mapping(data.get("marketo")))
        refused = security_problems(data, base_dir, self.policy, self.error)
        used: set[str] = set()
        keys: dict[tuple[int, str], str] = {}
        for name, campaign in campaigns.items():
            if not isinstance(campaign, dict):
                continue
            path: JsonPath = ("campaigns", name)
            source = campaign.get("source")
            if not isinstance(source, str):
                pass  # missing or not a string: the schema said so
            elif source in sources:
                used.add(source)
            else:
                hint = did_you_mean(str(source), list(sources))
                self.error((*path, "source"), f"no source named '{source}' under 'sources'{hint}")
            for field_path, text in _templates(campaign, path):
                self.check_template(field_path, text)
            self.check_tokens(campaign, path)
            self._check_lead(campaign, path)
            check_protected(campaign, path, self.error, self.warn)  # issue 25
            if campaign.get("retrigger") == "on_change" and not campaign.get("tokens"):
                self.warn(
                    (*path, "retrigger"),
                    "retrigger: on_change has no effect without tokens",
                )
            ident = (campaign.get("campaign_id"), key_text(campaign))
            if not isinstance(ident[0], int):
                pass  # a list or mapping as the id: the schema said so (and it is unhashable)
            elif ident in keys:
                self.error(
                    (*path, "campaign_id"),
                    f"campaign '{keys[ident]}' already sends to campaign {ident[0]} with the same key; "
                    "their ledger records would collide (give one of them another 'key')",
                )
            else:
                keys[ident] = name  # type: ignore[index]
        check_schedules(self, data, used)
        check_environments(data, self.error, self.warn)
        check_overrides(self, data)
        self._check_timezones(data)
        for name, source in sources.items():
            if not isinstance(source, dict):
                continue
            if name not in used:
                self.warn(
                    ("sources", name), f"source '{name}' is not used by any campaign", key=True
                )
            path_text = source.get("path")
            if (
                name not in refused
                and source.get("type") in FILE_SOURCES
                and isinstance(path_text, str)
                and not (base_dir / path_text).exists()
            ):
                self.warn(("sources", name, "path"), f"file '{path_text}' does not exist (yet)")

    def _check_marketo(self, marketo: dict[str, Any]) -> None:
        self._check_shared_window(marketo, ("marketo",))
        for name, env in _mapping(self.doc.data.get("environments")).items():
            if isinstance(env, dict):
                self._check_shared_window(
                    _mapping(env.get("marketo")), ("environments", name, "marketo")
                )
        secret = marketo.get("client_secret")
        if isinstance(secret, str) and not EnvString(raw=secret).variables:
            self.warn(
                ("marketo", "client_secret"),
                "the client secret is written in the file; use ${MARKETO_CLIENT_SECRET} "
                "and keep the secret in the environment",
            )

    def _check_shared_window(self, marketo: dict[str, Any], path: JsonPath) -> None:
        """Shared limits hold each call's slot for its *own* config's window: a window
        longer than Marketo's slows every other config on the instance (docs/ci.md)."""
        limits = _mapping(marketo.get("limits"))
        window = limits.get("window_seconds")
        marketo_window = LIMITS["window_seconds"]
        if (
            "shared" in limits
            and isinstance(window, int | float)
            and not isinstance(window, bool)
            and window != marketo_window
        ):
            self.warn(
                (*path, "limits", "window_seconds"),
                f"window_seconds: {window} with limits.shared: each call holds a slot of the "
                f"instance for this window, not Marketo's {marketo_window} s, so a longer "
                "one slows every other config sharing it (a shorter one risks 606); "
                "keep Marketo's window and leave room with safety_margin",
            )

    def _check_lead(self, campaign: dict[str, Any], path: JsonPath) -> None:
        lead = _mapping(campaign.get("lead"))
        if campaign.get("create_missing") is True and "email" not in lead:
            self.error(
                (*path, "create_missing"),
                "create_missing needs 'lead.email' (leads are created by email)",
            )
        if lead.get("fields") and not campaign.get("create_missing"):
            self.warn(
                (*path, "lead", "fields"), "lead.fields is used only with create_missing: true"
            )
        self._check_fields(campaign, path)

    def _check_fields(self, campaign: dict[str, Any], path: JsonPath) -> None:
        """Campaign ``fields:`` names are Marketo REST API names (letters, digits, ``_``)."""
        lead_fields = _mapping(_mapping(campaign.get("lead")).get("fields"))
        for name in _mapping(campaign.get("fields")):
            if not FIELD_NAME.fullmatch(str(name)):
                self.error(
                    (*path, "fields", name),
                    f"'{name}' is not a Marketo lead field API name (letters, digits and _,"
                    " starting with a letter, e.g. webinarJoinLink)",
                    key=True,
                )
            elif name in lead_fields:
                self.error(
                    (*path, "fields", name),
                    f"field '{name}' is also in lead.fields: declare it once, under fields",
                    key=True,
                )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _templates(campaign: dict[str, Any], path: JsonPath) -> Iterator[tuple[JsonPath, str]]:
    for field in ("when", "key"):
        if isinstance(campaign.get(field), str):
            yield (*path, field), campaign[field]
    lead = _mapping(campaign.get("lead"))
    for field in ("id", "email"):
        if isinstance(lead.get(field), str):
            yield (*path, "lead", field), lead[field]
    for name, text in _mapping(lead.get("fields")).items():
        if isinstance(text, str):
            yield (*path, "lead", "fields", name), text
    for name, text in _mapping(campaign.get("fields")).items():
        if isinstance(text, str):
            yield (*path, "fields", name), text
    for name, text in _mapping(campaign.get("tokens")).items():
        if isinstance(text, (str, int, float, bool)):
            yield (*path, "tokens", name), _scalar_text(text)


def _allowed_fields(
    raw: dict[str, Any], path: JsonPath, pos: Callable[[JsonPath], Position]
) -> tuple[AllowedField, ...]:
    """A campaign's ``allow_protected_fields`` entries (issue 25), as written."""
    return tuple(
        AllowedField(
            field=entry["field"],
            reason=entry["reason"].strip(),
            grant_consent=bool(filled(entry, ALLOWED_FIELD)["grant_consent"]),
            position=pos((*path, "allow_protected_fields", i)),
        )
        for i, entry in enumerate(raw.get("allow_protected_fields") or [])
    )


def _scalar_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def build_config(
    doc: Document, path: Path, digest: str, warnings: list[Problem], policy: Policy | None = None
) -> Config:
    """The frozen records of a document that passed every check, carrying ``policy``."""
    policy = policy or Policy()
    data = doc.data
    base_dir = path.parent

    def pos(p: JsonPath) -> Position:
        mark = doc.where(p)
        return Position(file=doc.file, line=mark.line, column=mark.column)

    def template(p: JsonPath, text: Any) -> Template:
        mark = doc.where(p)
        return Template(
            text=_scalar_text(text),
            field=dotted(p[2:]),
            position=pos(p),
            line_offset=1 if mark.block else 0,
        )

    def env(p: JsonPath, raw: str) -> EnvString:
        # The ledgers and a sql source's url obey the host rule when resolved (config.dburl).
        url: UrlKind | None = (
            "ledger"
            if p[-1] == "ledger"
            else "source"
            if p[-1] == "url"
            else "limits"
            if p[-2:] == ("limits", "shared")
            else None
        )
        return EnvString(
            raw=raw, field=dotted(p), position=pos(p), policy=policy, url=url, base_dir=base_dir
        )

    marketo = data.get("marketo") or {}
    marketo_settings = MarketoSettings(
        base_url=env(("marketo", "base_url"), marketo["base_url"])
        if "base_url" in marketo
        else None,
        client_id=env(("marketo", "client_id"), marketo["client_id"])
        if "client_id" in marketo
        else None,
        client_secret=env(("marketo", "client_secret"), marketo["client_secret"])
        if "client_secret" in marketo
        else None,
        limits=limits_of(
            marketo.get("limits") or {},
            lambda raw: env(("marketo", "limits", "shared"), raw),
        ),
    )
    sources = {}
    for name, raw in (data.get("sources") or {}).items():
        sp: JsonPath = ("sources", name)
        options = {k: v for k, v in raw.items() if k not in ("type", "description")}
        positions = {k: pos((*sp, k)) for k in options}
        if raw["type"] == "sql":
            options["url"] = env((*sp, "url"), raw["url"])
        if isinstance(raw.get("columns"), dict):
            positions.update({f"columns.{k}": pos((*sp, "columns", k)) for k in raw["columns"]})
        if raw["type"] == "inline":
            positions.update({f"rows[{i}]": pos((*sp, "rows", i)) for i in range(len(raw["rows"]))})
        sources[name] = SourceSpec(
            name=name,
            type=raw["type"],
            options=options,
            base_dir=base_dir,
            position=pos(sp),
            positions=positions,
            policy=policy,
        )
    campaigns = {}
    for name, raw in (data.get("campaigns") or {}).items():
        cp: JsonPath = ("campaigns", name)
        lead = raw["lead"]
        given = filled(raw, CAMPAIGN)  # what the file leaves out: the schema's default
        campaigns[name] = Campaign(
            name=name,
            campaign_id=raw["campaign_id"],
            source=raw["source"],
            lead=LeadSpec(
                id=template((*cp, "lead", "id"), lead["id"]) if "id" in lead else None,
                email=template((*cp, "lead", "email"), lead["email"]) if "email" in lead else None,
                fields=tuple(
                    (k, template((*cp, "lead", "fields", k), v))
                    for k, v in (lead.get("fields") or {}).items()
                ),
            ),
            when=template((*cp, "when"), as_condition(str(raw["when"]))) if "when" in raw else None,
            key=template((*cp, "key"), raw["key"]) if "key" in raw else None,
            retrigger=given["retrigger"],
            tokens=tuple(
                sorted(
                    (
                        TokenSpec(
                            name=normalise_token_name(k), template=template((*cp, "tokens", k), v)
                        )
                        for k, v in (raw.get("tokens") or {}).items()
                    ),
                    key=lambda t: t.name,
                )
            ),
            max_invalid=given["max_invalid"],
            max_calls=raw.get("max_calls"),
            create_missing=bool(given["create_missing"]),
            expect_skips=bool(given["expect_skips"]),
            missing_leads=given["missing_leads"],
            fields=tuple(
                sorted(
                    (k, template((*cp, "fields", k), v))
                    for k, v in (raw.get("fields") or {}).items()
                )
            ),
            allow_protected_fields=_allowed_fields(raw, cp, pos),
            position=pos(cp),
        )
    top = filled(data, TOP)
    schedules = build_schedules(data, template, pos)
    return Config(
        path=path,
        base_dir=base_dir,
        version=data["version"],
        marketo=marketo_settings,
        ledger=env(("ledger",), top["ledger"]),
        sources=sources,
        campaigns=campaigns,
        max_calls=data.get("max_calls"),
        max_value_bytes=top["max_value_bytes"],
        timezone=top["timezone"],
        policy=policy,
        schedules=schedules,
        environments=build_environments(
            data,
            env,
            pos,
            marketo_settings,
            template=template,
            campaigns=campaigns,
            schedules=schedules,
            timezone=top["timezone"],
        ),
        digest=digest,
        warnings=tuple(warnings),
    )
