"""The data contract: the columns templates read are columns their source has.

>>> problems = check_contract(load_config("campaigns.yaml"))     # doctest: +SKIP
campaigns.yaml:42:18: campaigns.webinar-reminder.tokens.my.JoinLink: column 'join_code' is
not in source 'registrations' (data/registrations.csv); did you mean 'JoinCode'?

``config`` checks a file on its own; this module also looks at what the sources
say about themselves, without reading their rows (``Source.columns``: a CSV's header
line, declared ``columns:``, a SQLite query's cursor description, inline rows' keys),
so ``validate`` stays fast on a 1 GB file.  It sits above ``sources`` for that reason.

- every field a template reads (``row.x``, ``row['x']``, ``row.get('x')``) must be a
  column of the source, else a located error at the template's line, with the closest
  column as "did you mean" (case and ``_`` ignored: ``JoinCode`` for ``join_code``);
- declared ``columns:`` of a CSV must be in its header;
- a template comparing a text column (a CSV cell with no declared type) with a number
  literal is a warning: ``'3' == 3`` is false for every row.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
from collections.abc import Iterator
from pathlib import Path

from jinja2 import nodes

from mktsync.config import ValidationResult, display_name, load_config, validate
from mktsync.config.compiled import compiled
from mktsync.config.model import Campaign, Config, Position, SourceSpec, Template
from mktsync.config.policy import Policy
from mktsync.config.reads import Read, column_of, fields_read
from mktsync.errors import ConfigError, Problem, SourceError, capped
from mktsync.sources.columns import declared
from mktsync.sources.registry import SOURCES

FILE_KINDS = ("csv", "json", "jsonl")
_SHOWN_COLUMNS = 12


def load_checked(
    path: Path | str, *, policy: Policy | None = None, environment: str | None = None
) -> Config:
    """``load_config``, then the contract: ``ConfigError`` with every problem, or the config
    with the contract's warnings added.  ``policy``, ``environment``: see ``load_config``."""
    config = load_config(path, policy=policy, environment=environment)
    problems = check_contract(config)
    if any(p.severity == "error" for p in problems):
        raise ConfigError([*config.warnings, *problems])
    return dataclasses.replace(config, warnings=tuple(capped([*config.warnings, *problems])))


def validate_all(path: Path | str, *, policy: Policy | None = None) -> ValidationResult:
    """``mktsync validate``: the config's own checks, then the contract."""
    result = validate(path, policy=policy)
    if result.config is None:
        return result
    problems = check_contract(result.config)
    every = tuple(capped([*result.problems, *problems]))
    if any(p.severity == "error" for p in problems):
        return ValidationResult(ok=False, problems=every)
    return dataclasses.replace(result, problems=every)  # its warnings counted with them


def check_contract(config: Config) -> list[Problem]:
    """Every contract problem of a loaded config (errors and warnings)."""
    problems: list[Problem] = []
    known: dict[str, tuple[str, ...] | None] = {}
    for name, spec in config.sources.items():
        known[name] = _source_columns(spec, problems)
    for where, campaign, templates in _every_template(config):
        source = config.sources.get(campaign.source)
        if source is not None:
            columns = known.get(source.name)
            problems += _check_campaign(campaign, source, columns, templates, where)
    return problems


Templates = tuple[Template, ...]


def _every_template(config: Config) -> Iterator[tuple[str, Campaign, Templates]]:
    """(where they are written, campaign, templates): the templates written at the top level,
    then each environment's own values (``EnvironmentSpec.overridden``), each named where
    it is written, so that every environment is checked whether one was chosen or not."""
    chosen = config.environments.get(config.environment or "")
    theirs = {(n, f) for s, n, f in chosen.overridden if s == "campaigns"} if chosen else set()
    for campaign in config.campaigns.values():
        own = tuple(t for t in _templates(campaign) if (campaign.name, t.field) not in theirs)
        yield "", campaign, own
    for spec in config.environments.values():
        for section, name, field in spec.overridden:
            merged = spec.campaigns.get(name) if section == "campaigns" else None
            if merged is not None:
                found = tuple(t for t in _templates(merged) if t.field == field)
                yield f"environments.{spec.name}.", merged, found


def _source_columns(spec: SourceSpec, problems: list[Problem]) -> tuple[str, ...] | None:
    if spec.type in FILE_KINDS and "path" in spec.options and not spec.path().exists():
        return None  # `validate` warns that the file does not exist (yet)
    kind = SOURCES.get(spec.type)
    if kind is None:
        return None
    try:
        columns = kind.columns(spec)
    except SourceError as exc:
        # sql errors are located in the config (the url or the query); file errors in the file
        key = next((k for k, p in spec.positions.items() if str(p) == exc.location), None)
        if key is None:
            key = "path" if "path" in spec.positions else "url" if "url" in spec.positions else ""
        where = spec.positions.get(key, spec.position)
        shown = exc.location and exc.location != str(where)
        location = f"{exc.location}: " if shown else ""
        field = f"sources.{spec.name}" + (f".{key}" if key else "")
        problems.append(_problem(where, field, f"{location}{exc.message}"))
        return None
    types = declared(spec.options)
    if spec.type == "csv" and columns is not None and types:
        for column in types:
            if column not in columns:
                where = spec.positions.get(f"columns.{column}", spec.position)
                problems.append(
                    _problem(
                        where,
                        f"sources.{spec.name}.columns.{column}",
                        f"column '{column}' is not in the header of {spec.options['path']}"
                        f"{_did_you_mean(column, columns)}",
                    )
                )
    return columns


def _check_campaign(
    campaign: Campaign,
    spec: SourceSpec,
    columns: tuple[str, ...] | None,
    templates: Templates,
    where: str = "",
) -> Iterator[Problem]:
    types = declared(spec.options) or {}
    for template in templates:
        if compiled(template.text).tree is None:  # parsed once per text (config.compiled)
            continue  # `validate` reported it
        path = f"{where}campaigns.{campaign.name}.{template.field}"
        if columns is not None:
            for read in _fields_read(template.text):
                if read.column not in columns:
                    yield _problem(
                        _at(template, read.line),
                        path,
                        f"column '{read.column}' is not in source '{spec.name}' "
                        f"({_described(spec, columns)}){_did_you_mean(read.column, columns)}",
                    )
        if spec.type == "csv":
            for column, number, line in _comparisons(template.text):
                column_type = types[column].type if column in types else "string"
                if column_type == "string":
                    yield _problem(
                        _at(template, line),
                        path,
                        f"row.{column} is text (a CSV cell), so comparing it with the number "
                        f"{number} is false for every row; declare its type under the source's "
                        f"'columns:' (e.g. {column}: integer), or compare with '{number}'",
                        severity="warning",
                    )


def _templates(campaign: Campaign) -> Iterator[Template]:
    lead = campaign.lead
    for template in (campaign.when, campaign.key, lead.id, lead.email):
        if template is not None:
            yield template
    for _, template in (*lead.fields, *campaign.fields):
        yield template
    for token in campaign.tokens:
        yield token.template


# Once per distinct text: 60,000 campaigns aliasing one template read its tree once.
@functools.lru_cache(maxsize=65_536)
def _fields_read(text: str) -> tuple[Read, ...]:
    tree = compiled(text).tree
    return tuple(fields_read(tree)) if tree is not None else ()


@functools.lru_cache(maxsize=65_536)
def _comparisons(text: str) -> tuple[tuple[str, object, int], ...]:
    tree = compiled(text).tree
    return tuple(_number_comparisons(tree)) if tree is not None else ()


def _number_comparisons(tree: nodes.Template) -> Iterator[tuple[str, object, int]]:
    """(column, number, line) for each ``row.x <op> 3`` or ``3 <op> row.x``."""
    for compare in tree.find_all(nodes.Compare):
        operands = [compare.expr, *(op.expr for op in compare.ops)]
        columns = [c for c in map(column_of, operands) if c is not None]
        numbers = [
            o.value
            for o in operands
            if isinstance(o, nodes.Const)
            and isinstance(o.value, int | float)
            and not isinstance(o.value, bool)
        ]
        if columns and numbers:
            yield columns[0], numbers[0], compare.lineno


def _at(template: Template, line: int) -> Position:
    """Where line ``line`` (1-based) of a template stands in the config file."""
    pos = template.position
    actual = pos.line + template.line_offset + line - 1
    return Position(file=pos.file, line=actual, column=pos.column if actual == pos.line else 1)


def _problem(where: Position, path: str, message: str, severity: str = "error") -> Problem:
    return Problem(
        file=where.file,
        line=where.line,
        column=where.column,
        path=path,
        message=message,
        severity="warning" if severity == "warning" else "error",
    )


def _described(spec: SourceSpec, columns: tuple[str, ...]) -> str:
    shown = ", ".join(columns[:_SHOWN_COLUMNS])
    if len(columns) > _SHOWN_COLUMNS:
        shown += f", and {len(columns) - _SHOWN_COLUMNS} more"
    if not columns:
        return "it has no columns"
    origin = {
        "csv": f"header of {spec.options.get('path')}",
        "sql": "the query",
        "inline": "the rows",
    }.get(spec.type, "declared columns")
    return f"{origin}: {shown}"


def _squash(name: str) -> str:
    return re.sub(r"[\W_]+", "", name.casefold())


def _did_you_mean(name: str, columns: tuple[str, ...]) -> str:
    """``; did you mean 'JoinCode'?``, comparing without case, ``_``, ``-`` or spaces."""
    squashed = {_squash(c): c for c in columns}
    if _squash(name) in squashed:
        return f"; did you mean '{squashed[_squash(name)]}'?"
    lowered = {c.casefold(): c for c in columns}
    close = difflib.get_close_matches(name.casefold(), list(lowered), n=1, cutoff=0.7)
    return f"; did you mean '{lowered[close[0]]}'?" if close else ""


__all__ = ["check_contract", "display_name", "load_checked", "validate_all"]
