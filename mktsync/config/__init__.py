"""Loading and validating ``campaigns.yaml``: one call in, frozen records or one error out.

>>> config = load_config(Path("campaigns.yaml"))          # doctest: +SKIP
>>> config.campaigns["webinar-reminder"].campaign_id       # doctest: +SKIP
1234

``load_config`` raises ``ConfigError`` carrying *every* problem, each located as
``FILE:LINE:COL: path.to.field: message``; warnings (valid but suspicious) travel in
``Config.warnings``.  Nothing here reads the environment.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from mktsync.config.checker import normalise_token_name
from mktsync.config.environments import select_environment
from mktsync.config.model import (
    Campaign,
    Config,
    EnvString,
    Position,
    SourceSpec,
    Template,
)
from mktsync.config.policy import Policy
from mktsync.config.schema import schema_problems, schema_text
from mktsync.config.security import config_file_problem
from mktsync.config.validate import DocumentChecker, build_config
from mktsync.config.yamlfile import Document, parse_document
from mktsync.errors import ConfigError, Problem

__all__ = [
    "Campaign",
    "Config",
    "ConfigError",
    "EnvString",
    "Policy",
    "Position",
    "SourceSpec",
    "Template",
    "check_document",
    "load_config",
    "normalise_token_name",
    "schema_text",
    "validate",
]


def display_name(path: Path) -> str:
    """The path as users should read it in messages: relative to the working directory when inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    # Outside it, a climb of "../../.." names nothing the user wrote: the path as given.
    return (
        str(path) if relative == os.pardir or relative.startswith(os.pardir + os.sep) else relative
    )


def check_document(doc: Document, base_dir: Path, policy: Policy | None = None) -> list[Problem]:
    """Every problem of a parsed document: schema first, then semantics if the shape is right."""
    problems = schema_problems(doc)
    if not isinstance(doc.data, dict):
        return problems
    # Semantic checks run even when the schema found errors, so that one `validate`
    # shows every problem; they skip entries whose shape is wrong (already reported).
    checker = DocumentChecker(doc, policy)
    checker.run(base_dir)
    return problems + checker.problems


def load_config(
    path: Path | str, *, policy: Policy | None = None, environment: str | None = None
) -> Config:
    """Load, validate and freeze a config file. Raises ``ConfigError`` with every problem.

    ``policy`` (default: ``Policy()``) says which environment variables and folders the
    config may reach; the returned records carry it to every ``resolve()`` and file read.
    ``environment`` (``--env``) picks one of ``environments:``: its ``marketo``,
    ``ledger``, campaigns and schedules replace the top-level ones
    (``Config.for_environment``; ``config.environments`` holds every environment's).
    """
    path = Path(path).absolute()
    name = display_name(path)
    refused = config_file_problem(path, policy or Policy())
    if refused:
        raise ConfigError([Problem(file=name, line=0, column=0, path="", message=refused)])
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            [Problem(file=name, line=0, column=0, path="", message="file not found")]
        ) from None
    except OSError as exc:
        raise ConfigError(
            [Problem(file=name, line=0, column=0, path="", message=f"cannot read: {exc.strerror}")]
        ) from None
    doc = parse_document(raw, name)
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else f"{type(doc.data).__name__} value"
        raise ConfigError(
            [
                Problem(
                    file=name,
                    line=1,
                    column=1,
                    path="",
                    message=f"expected a mapping at the top level (starting with 'version: 1'), got {kind}",
                )
            ]
        )
    problems = check_document(doc, path.parent, policy)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ConfigError(problems)
    digest = hashlib.sha256(raw).hexdigest()
    warnings = [p for p in problems if p.severity == "warning"]
    return select_environment(build_config(doc, path, digest, warnings, policy), environment)


@dataclass(frozen=True, kw_only=True)
class ValidationResult:
    """What ``mktsync validate`` reports: every problem (errors and warnings) and, for a
    valid file, what it holds; the command line words it (``ok: campaigns.yaml: 2 sources,
    ...``), nothing reads it back from words.

    >>> result = validate("campaigns.yaml")                 # doctest: +SKIP
    >>> result.ok, result.campaigns, result.templates, result.warnings  # doctest: +SKIP
    (True, 2, 9, 0)
    """

    ok: bool
    problems: tuple[Problem, ...]
    config: Config | None = None  # None when the file has errors
    sources: int = 0
    campaigns: int = 0
    templates: int = 0  # compiled
    schedules: int = 0
    environments: int = 0

    @property
    def warnings(self) -> int:
        return sum(p.severity == "warning" for p in self.problems)


def validate(path: Path | str, *, policy: Policy | None = None) -> ValidationResult:
    """Validate a config file without raising for its problems (for ``mktsync validate``)."""
    try:
        config = load_config(path, policy=policy)
    except ConfigError as exc:
        return ValidationResult(ok=False, problems=tuple(exc.problems))
    templates = (
        sum(
            len(c.tokens)
            + 1
            + (c.when is not None)
            + (c.key is not None)
            + len(c.lead.fields)
            + len(c.fields)
            for c in config.campaigns.values()
        )
        + sum(
            1 + len(s.tokens) + sum(x is not None for x in (s.when, s.key, s.clone_to_program))
            for s in config.schedules.values()
        )
        + sum(  # the values environments write over them
            field != "campaign_id"
            for spec in config.environments.values()
            for _, _, field in spec.overridden
        )
    )
    return ValidationResult(
        ok=True,
        problems=config.warnings,
        config=config,
        sources=len(config.sources),
        campaigns=len(config.campaigns),
        templates=templates,
        schedules=len(config.schedules),
        environments=len(config.environments),
    )
